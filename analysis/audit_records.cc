// Bounding the records of ended flows (--max-flow-records). A record is dropped only once nothing
// the report or the policy needs is lost with it: its flow is added to its destination (as it
// would be at the end), counted in the coverage, and folded into a flow group, the flows to one
// destination whose values visible to flow rules (analysis/flow_values.h; bytes only when a rule
// reads them) are all equal. One record per group is kept, the one with the lowest
// id, so the rules evaluate it once at the end, against the final destination and capture, and
// count the folded flows with it: findings, messages and evidence are what they would be with
// every record (the rule fields a flow shares with its destination are the destination's, which
// is complete by then; evaluating at drop time could not know them).
#include <fmt/format.h>

#include <algorithm>

#include "analysis/app/naming.h"
#include "analysis/audit.h"
#include "analysis/flow_values.h"

namespace flowaudit::analysis {
namespace {

// Two independent 64-bit lanes: a collision would merge groups whose rules might differ, and at
// 128 bits that is out of reach of any flood.
class KeyHasher {
 public:
  void bytes(const void* p, std::size_t n) noexcept {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) {
      a_ = (a_ ^ b[i]) * 0x100000001B3ULL;
      b_ = (b_ ^ b[i]) * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
    }
  }
  void number(std::uint64_t v) noexcept { bytes(&v, sizeof v); }
  void text(std::string_view s) noexcept {
    number(s.size());
    bytes(s.data(), s.size());
  }
  [[nodiscard]] std::uint64_t a() const noexcept { return a_; }
  [[nodiscard]] std::uint64_t b() const noexcept { return b_; }

 private:
  std::uint64_t a_ = 0xCBF29CE484222325ULL;
  std::uint64_t b_ = 0x84222325CBF29CE4ULL;
};

}  // namespace

void FoldedFlows::add(const flow::Flow& f) {
  ++flows;
  bytes_out += f.out().bytes;
  bytes_in += f.in().bytes;
  const core::TimestampNs first = f.first_seen();
  if (first_ns == 0 || (first != 0 && first < first_ns)) first_ns = first;
  last_ns = std::max(last_ns, f.last_seen);
  if (ids.size() >= kMaxIds && f.id >= ids.back()) return;
  if (ids.capacity() < kMaxIds) ids.reserve(kMaxIds);  // one allocation, no growth slack
  const auto at = std::lower_bound(ids.begin(), ids.end(), f.id);
  ids.insert(at, f.id);
  if (ids.size() > kMaxIds) ids.pop_back();
}

Auditor::GroupKey Auditor::group_key(const flow::Flow& f, const app::FlowName& name,
                                     const app::FlowDetails* d) const {
  KeyHasher h;
  const std::uint8_t s = f.server();
  h.bytes(f.key.addr[s].bytes().data(), f.key.addr[s].bytes().size());
  h.number(std::uint64_t{f.key.port[s]} << 8 | f.key.protocol);
  for (std::size_t i = 0; i < kFlowValueCount; ++i) {
    const auto v = static_cast<FlowValue>(i);
    // Bytes differ between nearly all flows: they split groups only when a flow rule reads them.
    if ((v == FlowValue::kBytesOut || v == FlowValue::kBytesIn) && !options_.group_by_flow_bytes) continue;
    const auto value = flow_value(v, f, name, d);
    if (!value) {
      h.number(0);
    } else if (const auto* text = std::get_if<std::string_view>(&*value)) {
      h.number(1);
      h.text(*text);
    } else if (const auto* n = std::get_if<std::int64_t>(&*value)) {
      h.number(2);
      h.number(static_cast<std::uint64_t>(*n));
    } else {
      h.number(std::get<bool>(*value) ? 3 : 4);
    }
  }
  return GroupKey{h.a(), h.b()};
}

std::string unnamed_summary(const Coverage& c) {
  std::string out;
  for (std::size_t i = 1; i < c.unnamed.size(); ++i) {
    if (c.unnamed[i] == 0) continue;
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", c.unnamed[i],
                       app::to_string(static_cast<app::UnnamedReason>(i)));
  }
  return out;
}

void Coverage::add(std::uint64_t flow_bytes_out, const app::FlowName& name, const app::FlowDetails* d) {
  if (d != nullptr) ++blind_spots[static_cast<std::size_t>(d->blind_spot)];
  ++flows;
  bytes_out += flow_bytes_out;
  if (!name.hostname.empty()) {
    ++named_flows;
    named_bytes_out += flow_bytes_out;
  } else {
    ++unnamed[static_cast<std::size_t>(name.unnamed)];
  }
  if (app::encrypted(d) != 1) return;
  ++encrypted_flows;
  encrypted_bytes_out += flow_bytes_out;
  const decrypt::DecryptFacts* x = d->decryption.get();
  if (x == nullptr || x->records_opened[0] + x->records_opened[1] == 0) return;
  ++decrypted_flows;
  const std::uint64_t prot = x->protected_bytes[0];
  const std::uint64_t open = std::min(x->opened_bytes[0], prot);
  // In double: a flow's byte counts are far below 2^53.
  if (prot != 0) decrypted_bytes_out += static_cast<std::uint64_t>(double(flow_bytes_out) * double(open) / double(prot));
}

void Auditor::count_coverage(const flow::Flow& f, const app::FlowName& name, const app::FlowDetails* d) {
  dropped_coverage_.add(f.out().bytes, name, d);
}

void Auditor::forget(const flow::Flow& f) {
  apps_.details().erase(f.id);
  tunnels_.erase(f.id);
  // A per-app audit keeps the DNS records of attributed flows, found by their flow's process at
  // the end: DNS flows keep it, as many as there can be DNS records.
  if (options_.only_attributed && f.key.port[f.server()] == 53 && kept_dns_processes_ < options_.app.max_dns_records) {
    ++kept_dns_processes_;
    return;
  }
  processes_.erase(f.id);
}

void Auditor::fold(flow::Flow& f) {
  if (options_.only_attributed && !attributed(f.id)) {
    apps_.details().erase(f.id);  // left out of the audit, as finish() would
    streamed_ids_.erase(f.id);
    return;
  }
  stream_at_fold(f);
  app::FlowDetails* d = nullptr;
  if (const auto it = apps_.details().find(f.id); it != apps_.details().end()) {
    d = &it->second;
    app::classify_blind_spot(f, *d);
  }
  app::FlowName name = name_of(f, d);
  ++caps_.flow_records_dropped;
  flow::FlowLabel label = label_of(name, d);
  app::label_proxy(f, d, apps_.names(), apps_.pool(), label);
  if (!dropped_destinations_.accepts(f, label)) {
    // Past --max-destinations: the flow is counted (coverage, caps) but in no destination.
    ++caps_.flows_over_destination_cap;
    count_coverage(f, name, d);
    forget(f);
    return;
  }
  // A dropped flow goes into its destination now; a record kept for its group goes in at the end
  // with the other records.
  const auto drop = [&](const flow::Flow& gone, const app::FlowName& gone_name) {
    const auto it = apps_.details().find(gone.id);
    const app::FlowDetails* gone_details = it == apps_.details().end() ? nullptr : &it->second;
    flow::FlowLabel gone_label = label_of(gone_name, gone_details);
    app::label_proxy(gone, gone_details, apps_.names(), apps_.pool(), gone_label);
    dropped_destinations_.add(gone, gone_label);
    count_coverage(gone, gone_name, gone_details);
    forget(gone);
  };
  const GroupKey key = group_key(f, name, d);
  if (const auto it = group_index_.find(key); it != group_index_.end()) {
    GroupRecord& g = groups_[it->second];
    if (f.id < g.flow.id) {
      // The lowest id stands for the group, as the first such flow would in a full evaluation
      // (its message and bytes are the ones a finding shows).
      std::swap(g.flow, f);
      std::swap(g.name, name);
    }
    g.folded.add(f);
    drop(f, name);
    return;
  }
  // Records standing for groups may take every slot: the most recent flows get what is left.
  if (groups_.size() < options_.max_flow_records) {
    // Kept after all, to stand for its group.
    --caps_.flow_records_dropped;
    group_index_.emplace(key, groups_.size());
    groups_.push_back(GroupRecord{f, name, {}});
    ++caps_.flow_groups;
    return;
  }
  // Past the group cap: in its destination, but no flow rule will see it.
  ++caps_.flows_over_group_cap;
  drop(f, name);
}

void Auditor::drop_records() {
  std::vector<flow::Flow>& records = table_.finished();
  std::size_t i = 0;
  // With --threads the names of folded flows come from the shared cache while the other workers
  // still fill it: wait until they have read up to here (every answer before this packet is in),
  // and hold the cache still while reading it.
  std::unique_lock<std::mutex> names;
  if (shard_ != nullptr) names = shard_->read_names(options_.app.shard_index, packets_);
  while (i < records.size() && over_record_cap(records.size() - i)) fold(records[i++]);
  records.erase(records.begin(), records.begin() + static_cast<std::ptrdiff_t>(i));
  streamed_records_ = streamed_records_ > i ? streamed_records_ - i : 0;
}

// A flow's row as the report will show it, its details copied (the audit keeps its own).
FlowRow Auditor::ended_row(const flow::Flow& f) {
  FlowRow row(f);
  if (const auto it = apps_.details().find(f.id); it != apps_.details().end()) {
    const app::FlowDetails& d = it->second;
    app::FlowDetails& copy = row.details.emplace();
    copy.app = d.app;
    copy.blind_spot = d.blind_spot;
    copy.limit = d.limit;
    if (d.tls) copy.tls = std::make_unique<app::TlsDetails>(*d.tls);
    if (d.http) copy.http = std::make_unique<app::HttpDetails>(*d.http);
    if (d.quic) copy.quic = std::make_unique<app::QuicDetails>(*d.quic);
    if (d.proxy) copy.proxy = std::make_unique<app::ProxyDetails>(*d.proxy);
    if (d.decryption) copy.decryption = std::make_unique<decrypt::DecryptFacts>(*d.decryption);
    if (d.requests) copy.requests = std::make_unique<app::HttpExchanges>(*d.requests);
    app::classify_blind_spot(row, copy);
  }
  if (const auto it = tunnels_.find(f.id); it != tunnels_.end()) row.tunnel = it->second;
  row.name = name_of(row, row.app_details());
  return row;
}

void Auditor::stream_at_fold(const flow::Flow& f) {
  if (!stream_ended_ || streamed_ids_.erase(f.id) != 0) return;
  if (stream_rows_.size() >= 65536) {
    ++stream_overflow_;
    return;
  }
  stream_rows_.push_back(ended_row(f));
}

AuditResult Auditor::take_ended(std::size_t max, bool only_attributed) {
  AuditResult r;
  r.strings = apps_.strings();
  r.flows = std::move(stream_rows_);
  stream_rows_.clear();
  const std::vector<flow::Flow>& records = table_.finished();
  for (; streamed_records_ < records.size() && r.flows.size() < max; ++streamed_records_) {
    const flow::Flow& f = records[streamed_records_];
    streamed_ids_.insert(f.id);
    if (only_attributed && !attributed(f.id)) continue;
    r.flows.push_back(ended_row(f));
  }
  for (const FlowRow& row : r.flows) {
    if (const auto it = processes_.find(row.id); it != processes_.end()) r.processes.emplace(row.id, it->second);
  }
  const auto& dns = apps_.dns_records();
  for (; streamed_dns_ < dns.size(); ++streamed_dns_) {
    const app::DnsRecord& q = dns[streamed_dns_];
    if (only_attributed && !attributed(q.flow_id)) continue;
    r.dns.push_back(q);
  }
  r.destinations = destinations_of(r.flows, {}, proxy_relabel());
  return r;
}

}  // namespace flowaudit::analysis
