#include "analysis/parallel_audit.h"

#include <fmt/format.h>

#include <time.h>

#include <algorithm>
#include <deque>
#include <exception>
#include <thread>
#include <utility>

#include "analysis/app/naming.h"

namespace flowaudit::analysis {
namespace {

// Sums of the workers' counters. Each struct is all 64-bit counters: the asserts catch a field
// added without a line here.
void add_stats(app::AppStats& a, const app::AppStats& b) {
  static_assert(sizeof(app::AppStats) == 11 * sizeof(std::uint64_t), "a new AppStats field: sum it here");
  a.inspections_skipped += b.inspections_skipped;
  a.dns_records_dropped += b.dns_records_dropped;
  a.dns_malformed += b.dns_malformed;
  a.tls_malformed += b.tls_malformed;
  a.http_malformed += b.http_malformed;
  a.proxy_malformed += b.proxy_malformed;
  a.starttls_malformed += b.starttls_malformed;
  a.tcp_gaps += b.tcp_gaps;
  a.inspection_limits += b.inspection_limits;
  a.tls_decrypted += b.tls_decrypted;
  a.request_bodies_cut += b.request_bodies_cut;
}

void add_caps(CapStats& a, const CapStats& b) {
  a.flow_records_dropped += b.flow_records_dropped;
  a.flow_groups += b.flow_groups;
  a.flows_over_destination_cap += b.flows_over_destination_cap;
  a.flows_over_group_cap += b.flows_over_group_cap;
  a.strings_dropped += b.strings_dropped;
  a.dns_records_dropped += b.dns_records_dropped;
}

void add_coverage(Coverage& a, const Coverage& b) {
  a.flows += b.flows;
  a.named_flows += b.named_flows;
  a.bytes_out += b.bytes_out;
  a.named_bytes_out += b.named_bytes_out;
  for (std::size_t i = 0; i < a.blind_spots.size(); ++i) a.blind_spots[i] += b.blind_spots[i];
  for (std::size_t i = 0; i < a.unnamed.size(); ++i) a.unnamed[i] += b.unnamed[i];
  a.encrypted_flows += b.encrypted_flows;
  a.decrypted_flows += b.decrypted_flows;
  a.encrypted_bytes_out += b.encrypted_bytes_out;
  a.decrypted_bytes_out += b.decrypted_bytes_out;
}

void add_flow_stats(flow::FlowTableStats& a, const flow::FlowTableStats& b) {
  a.created += b.created;
  a.evicted += b.evicted;
  a.idle_expired += b.idle_expired;
  a.peak_live += b.peak_live;  // an upper bound of the peak of the sum (see parallel_audit.h)
}

// This thread's processor time so far, in seconds.
double thread_seconds() noexcept {
  timespec t{};
  if (::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) != 0) return 0;
  return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
}

// Merges sorted runs (each ascending by `key`) into `out`, moving the elements, and empties them.
template <typename Run, typename Out, typename Key>
void merge_runs(std::vector<Run>& runs, Out& out, Key key) {
  std::size_t total = 0;
  for (const auto& run : runs) total += run.size();
  if constexpr (requires { out.reserve(total); }) out.reserve(out.size() + total);
  std::vector<std::size_t> at(runs.size(), 0);
  for (std::size_t n = 0; n < total; ++n) {
    std::size_t best = runs.size();
    for (std::size_t k = 0; k < runs.size(); ++k) {
      if (at[k] < runs[k].size() && (best == runs.size() || key(runs[k][at[k]]) < key(runs[best][at[best]]))) best = k;
    }
    out.push_back(std::move(runs[best][at[best]++]));
  }
  for (auto& run : runs) Run().swap(run);
}

}  // namespace

ParallelAuditor::ParallelAuditor(const AuditOptions& options, std::size_t workers,
                                 const std::function<void(std::size_t, AuditOptions&)>& per_worker)
    : options_(options) {
  workers = std::max<std::size_t>(workers, 1);
  sync_ = std::make_shared<app::ShardSync>(workers, options.app.max_dns_records);
  // The caps on flows are shared out: flows spread evenly over the workers by their hash. The DNS
  // log and the string pools draw on one budget each (ShardSync), as the inspector and the request
  // bodies do already.
  const auto share = [workers](std::size_t cap) { return std::max<std::size_t>(1, cap / workers); };
  for (std::size_t k = 0; k < workers; ++k) {
    AuditOptions o = options;
    o.flows.max_flows = share(options.flows.max_flows);
    o.max_flow_records = share(options.max_flow_records);
    o.app.max_inspections = share(options.app.max_inspections);
    o.app.shard = sync_;
    o.app.shard_index = k;
    if (per_worker) per_worker(k, o);
    auditors_.push_back(std::make_unique<Auditor>(std::move(o)));
  }
}

ParallelAuditor::~ParallelAuditor() = default;

std::vector<capture::SourceInfo> ParallelAuditor::run(const std::vector<Input>& inputs,
                                                      const Auditor::Progress& progress) {
  const std::size_t n = auditors_.size();
  std::vector<std::vector<capture::SourceInfo>> infos(n, std::vector<capture::SourceInfo>(inputs.size()));
  std::vector<std::exception_ptr> failures(n);
  cpu_seconds_.assign(n, 0.0);
  const auto work = [&](std::size_t k) {
    // Whatever happens, the others stop waiting for this one, and its processor time is kept.
    struct Done {
      app::ShardSync& sync;
      std::size_t k;
      double& seconds;
      const double start = thread_seconds();
      ~Done() {
        sync.done(k);
        seconds = thread_seconds() - start;
      }
    } done{*sync_, k, cpu_seconds_[k]};
    try {
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        std::string error;
        std::unique_ptr<capture::PacketSource> source = inputs[i].open(k, error);
        if (!source) {
          infos[k][i].error = error.empty() ? "could not be opened" : error;
          continue;
        }
        if (k == 0 && inputs[i].before) inputs[i].before();
        infos[k][i] = auditors_[k]->run(*source, inputs[i].index, k == 0 ? progress : Auditor::Progress{});
        if (k == 0 && inputs[i].after) inputs[i].after();
      }
    } catch (...) {
      failures[k] = std::current_exception();
    }
  };
  {
    std::vector<std::jthread> threads;
    for (std::size_t k = 1; k < n; ++k) threads.emplace_back(work, k);
    work(0);
  }
  for (const auto& f : failures) {
    if (f) std::rethrow_exception(f);
  }
  // Every worker read the same bytes: a difference means one of them saw less than the others.
  std::vector<capture::SourceInfo> out = std::move(infos[0]);
  for (std::size_t i = 0; i < out.size(); ++i) {
    for (std::size_t k = 1; k < n; ++k) {
      const capture::SourceInfo& other = infos[k][i];
      if (other.error == out[i].error && other.packets == out[i].packets) continue;
      const std::string why = fmt::format("{}: --threads worker {} read it differently ({} packets{}{}): its flows "
                                          "may be missing", out[i].path.empty() ? other.path : out[i].path, k,
                                          other.packets, other.error.empty() ? "" : ", ", other.error);
      out[i].error = out[i].error.empty() ? why : out[i].error + "; " + why;
      break;
    }
  }
  return out;
}

AuditResult ParallelAuditor::finish(std::vector<capture::SourceInfo> inputs, bool only_attributed) {
  const std::size_t n = auditors_.size();
  sync_->drain_all();
  // Runs f(k) for every worker, each in its own thread (the first on this one).
  const auto each = [&](const auto& f) {
    std::vector<std::jthread> threads;
    for (std::size_t k = 1; k < n; ++k) threads.emplace_back([&f, k] { f(k); });
    f(0);
  };
  std::vector<std::vector<std::uint64_t>> ids(n);
  each([&](std::size_t k) { ids[k] = auditors_[k]->end_flows(only_attributed); });
  // Where each worker's rows go among all: in id order (the number of the opening packet, the
  // order of the renumbered ids).
  std::size_t total = 0;
  for (const auto& v : ids) total += v.size();
  std::vector<std::vector<std::size_t>> at(n);
  {
    std::vector<std::size_t> next(n, 0);
    for (std::size_t k = 0; k < n; ++k) at[k].resize(ids[k].size());
    for (std::size_t pos = 0; pos < total; ++pos) {
      std::size_t best = n;
      for (std::size_t k = 0; k < n; ++k) {
        if (next[k] < ids[k].size() && (best == n || ids[k][next[k]] < ids[best][next[best]])) best = k;
      }
      at[best][next[best]++] = pos;
    }
  }
  // Each worker names its own flows from the shared cache, complete and still now, and writes them
  // in their places: the rows are written once, by the threads.
  std::vector<FlowRow> rows(total);
  std::vector<AuditPart> parts(n);
  each([&](std::size_t k) { parts[k] = auditors_[k]->finish_part(rows, at[k]); });
  return merge_parts(std::move(parts), std::move(rows), options_, sync_->cache(), std::move(inputs));
}

AuditResult merge_parts(std::vector<AuditPart> parts, std::vector<FlowRow> rows, const AuditOptions& options,
                        const dns::NameCache& names, std::vector<capture::SourceInfo> inputs) {
  // Ids: each flow's is the number of the packet that opened it; one table would have numbered the
  // flows 1, 2, 3... in that order.
  std::vector<std::vector<std::uint64_t>> opened_runs;
  for (AuditPart& p : parts) opened_runs.push_back(std::move(p.opened));
  std::vector<std::uint64_t> opened;
  merge_runs(opened_runs, opened, [](std::uint64_t v) { return v; });
  const auto renumber = [&](std::uint64_t id) -> std::uint64_t {
    const auto it = std::lower_bound(opened.begin(), opened.end(), id);
    return static_cast<std::uint64_t>(it - opened.begin()) + 1;
  };

  AuditResult r;
  r.inputs = std::move(inputs);
  AuditResult& first = parts.front().result;
  // What every worker counted alike (it read every packet): the first worker's.
  r.decode = first.decode;
  r.anomalies = first.anomalies;
  r.clock = first.clock;
  r.packets = first.packets;
  r.bytes = first.bytes;
  r.first_ns = first.first_ns;
  r.last_ns = first.last_ns;
  r.caps.max_flow_records = options.max_flow_records;
  r.caps.max_destinations = options.max_destinations;
  auto pool = std::make_shared<core::StringPool>();
  pool->set_max_bytes(options.max_string_bytes);

  std::vector<std::deque<app::DnsRecord>> dns;
  std::vector<flow::Destination> dropped;
  bool out_of_memory = false;
  for (AuditPart& p : parts) {
    AuditResult& w = p.result;
    for (auto& [id, folded] : w.folded) {
      for (std::uint64_t& i : folded.ids) i = renumber(i);
      r.folded.emplace(renumber(id), std::move(folded));
    }
    for (auto& [id, process] : w.processes) r.processes.emplace(renumber(id), std::move(process));
    for (app::DnsRecord& q : w.dns) q.flow_id = renumber(q.flow_id);
    dns.push_back(std::move(w.dns));
    for (flow::Destination& d : p.dropped) {
      for (flow::NameSeen& s : d.names) s.first_flow = renumber(s.first_flow);
      dropped.push_back(std::move(d));
    }
    add_coverage(r.coverage, w.coverage);
    add_caps(r.caps, w.caps);
    add_stats(r.app_stats, w.app_stats);
    add_flow_stats(r.flow_stats, w.flow_stats);
    pool->keep_alive(w.strings);
    out_of_memory = out_of_memory || p.out_of_memory;
  }
  for (FlowRow& f : rows) f.id = renumber(f.id);
  r.flows = std::move(rows);

  merge_runs(dns, r.dns, [](const app::DnsRecord& q) { return q.packet; });
  parts.clear();
  const Relabel relabel = [&names, &pool](const FlowRow& f, flow::FlowLabel& label) {
    app::label_proxy(f, f.app_details(), names, *pool, label);
  };
  complete_result(r, std::move(dropped), relabel, options.app.inspector.get(), options.max_string_bytes,
                  out_of_memory);
  r.strings = std::move(pool);
  return r;
}

}  // namespace flowaudit::analysis
