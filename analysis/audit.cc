#include "analysis/audit.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <tuple>
#include <utility>
#include <new>

#include "analysis/app/naming.h"
#include "capture/pcap_file_source.h"

namespace flowaudit::analysis {

Auditor::Auditor(AuditOptions options)
    : options_(std::move(options)),
      decoder_(options_.reassembly),
      clock_(std::max(options_.flows.tcp_idle_ns, options_.flows.udp_idle_ns)),
      table_(options_.flows),
      apps_(options_.app),
      dropped_destinations_(options_.max_destinations) {
  table_.set_retire_listener([this](flow::Flow& f) { apps_.on_retire(f); });
  apps_.pool().set_max_bytes(options_.max_string_bytes);
  if (options_.max_flow_records == 0) options_.max_flow_records = 1;
  caps_.max_flow_records = options_.max_flow_records;
  caps_.max_destinations = options_.max_destinations;
  shard_ = options_.app.shard.get();
}

flow::FlowLabel label_of(const app::FlowName& name, const app::FlowDetails* d) {
  flow::FlowLabel label;
  label.hostname = name.hostname;
  label.hostname_source = name.source;
  if (d != nullptr) label.app_protocol = app::to_string(d->app);
  label.encrypted = app::encrypted(d);
  return label;
}

std::vector<DestinationRow> destinations_of(const std::vector<FlowRow>& flows, std::vector<flow::Destination> folded,
                                            const Relabel& relabel) {
  std::vector<const flow::Flow*> pointers;
  std::vector<flow::FlowLabel> labels;
  pointers.reserve(flows.size());
  labels.reserve(flows.size());
  for (const FlowRow& f : flows) {
    pointers.push_back(&f);
    labels.push_back(label_of(f.name, f.app_details()));
    if (relabel) relabel(f, labels.back());
  }
  std::vector<flow::Destination> aggregated = flow::aggregate_destinations(pointers, labels, std::move(folded));
  return {std::make_move_iterator(aggregated.begin()), std::make_move_iterator(aggregated.end())};
}

std::vector<std::size_t> flow_destinations(const AuditResult& r) {
  // Keyed as the destinations were aggregated: a proxied flow belongs to the destination it asked
  // the proxy for, not to the proxy's (which also counts it, as a carrier).
  // Hashed, not ordered: the events of a million flows look up a million keys.
  struct KeyHash {
    std::size_t operator()(const flow::DestinationKey& k) const noexcept {
      std::uint64_t h = k.ip.hash() ^ (std::uint64_t{k.port} << 8 | k.protocol) * 0x9E3779B97F4A7C15ULL;
      if (!k.host.empty()) h ^= std::hash<std::string>{}(k.host) + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
      if (k.via_port != 0) h ^= k.via_ip.hash() * 31 + k.via_port;
      return static_cast<std::size_t>(h);
    }
  };
  std::unordered_map<flow::DestinationKey, std::size_t, KeyHash> index;
  index.reserve(r.destinations.size());
  for (std::size_t i = 0; i < r.destinations.size(); ++i) index.emplace(flow::destination_key(r.destinations[i]), i);
  std::vector<std::size_t> out(r.flows.size(), kNoDestination);
  for (std::size_t i = 0; i < r.flows.size(); ++i) {
    const FlowRow& f = r.flows[i];
    flow::FlowLabel label;
    const auto target = app::proxy_target(f, f.app_details());
    if (target) app::label_target(*target, target->type, target->host, label);
    const auto it = index.find(flow::destination_key(f, &label));
    if (it != index.end()) out[i] = it->second;
  }
  return out;
}

void Auditor::process(const capture::RawPacket& raw, std::uint32_t input) noexcept {
  if (packets_ == 0 || raw.ts_ns < first_ns_) first_ns_ = raw.ts_ns;
  last_ns_ = std::max(last_ns_, raw.ts_ns);
  ++packets_;
  bytes_ += raw.data.size();
  if (shard_ != nullptr) shard_->at(options_.app.shard_index, packets_);
  const core::TimestampNs now = clock_.tick(raw.ts_ns, input, raw.interface_id);
  packet::DecodedPacket p;
  last_flow_id_ = 0;
  if (decoder_.decode(raw, p) != packet::DecodeStatus::kTransport) return;
  try {
    std::uint8_t sender = 0;
    if (shard_ != nullptr &&
        shard_of(flow::FlowTable::key_of(p, sender).hash(), shard_->workers()) != options_.app.shard_index) {
      table_.advance(now);  // another worker's flow
      return;
    }
    apps_.set_packet(packets_);
    // With --threads a flow's id is the number of its opening packet until the merge renumbers.
    flow::Flow& f = table_.update(p, input, sender, now, shard_ != nullptr ? packets_ : 0);
    if (f.id > newest_flow_id_) {
      // Ids only grow: this packet opened the flow (or, for a reassembled IP datagram, completed
      // the datagram that opened it).
      newest_flow_id_ = f.id;
      f.first_packet_offset = raw.data_offset;
      f.first_packet_length = static_cast<std::uint32_t>(raw.data.size());
      if (shard_ != nullptr) opened_.push_back(f.id);
    }
    if (p.tunnel.type != packet::TunnelType::kNone || p.tunnel.depth_exceeded) note_tunnel(f.id, p.tunnel);
    apps_.on_packet(f, sender, p);
    last_flow_id_ = f.id;
    if (!raw.comment.empty()) {
      if (auto process = parse_process_comment(raw.comment)) processes_.try_emplace(f.id, std::move(*process));
    }
    if ((track_new_ || on_new_flow_) && f.id > max_flow_id_) {
      max_flow_id_ = f.id;
      if (track_new_) note_new_flow(f);
      if (on_new_flow_) on_new_flow_(f);
    }
    drop_records_in_batches();
  } catch (const std::bad_alloc&) {
    // Growth failed: keep counting packets, say so in the report.
    out_of_memory_ = true;
  }
}

void Auditor::note_tunnel(std::uint64_t flow_id, const packet::Tunnel& t) {
  // Bounded like the flow records: one entry per kept flow, erased when its record is dropped.
  const auto [it, inserted] = tunnels_.try_emplace(flow_id, t);
  if (!inserted && t.depth_exceeded) it->second.depth_exceeded = true;
}

app::FlowName Auditor::name_of(const flow::Flow& f, const app::FlowDetails* d) {
  app::FlowName name = app::name_flow(f, d, apps_.names(), apps_.pool());
  if (name.hostname.empty()) {
    // What flowaudit did not open outranks what it found at the level it stopped at (the outer
    // UDP of the tunnel it could not open looks like an unknown protocol).
    if (const auto it = tunnels_.find(f.id); it != tunnels_.end() && it->second.depth_exceeded) {
      name.unnamed = app::UnnamedReason::kTunnelDepth;
    }
  }
  return name;
}

std::string process_comment(const FlowProcess& p) {
  return fmt::format("flowaudit.process pid={} name={}", p.pid, p.name);
}

std::optional<FlowProcess> parse_process_comment(std::string_view comment) {
  constexpr std::string_view kPrefix = "flowaudit.process pid=";
  if (comment.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  comment.remove_prefix(kPrefix.size());
  FlowProcess out;
  std::size_t i = 0;
  while (i < comment.size() && i < 10 && comment[i] >= '0' && comment[i] <= '9') {
    out.pid = out.pid * 10 + (comment[i] - '0');
    ++i;
  }
  constexpr std::string_view kName = " name=";
  if (i == 0 || comment.substr(i, kName.size()) != kName) return std::nullopt;
  const std::string_view name = comment.substr(i + kName.size(), 64);
  // Untrusted (from a file): printable ASCII only.
  for (const char c : name) {
    if (c < 0x20 || c > 0x7E) return std::nullopt;
  }
  out.name = std::string(name);
  return out;
}

void Auditor::set_process(std::uint64_t flow_id, FlowProcess process) {
  processes_.insert_or_assign(flow_id, std::move(process));
}

void Auditor::note_new_flow(const flow::Flow& f) {
  // One entry per server endpoint, bounded: a scan of a /16 must not grow this without limit.
  constexpr std::size_t kMaxServers = 65536;
  constexpr std::size_t kMaxPending = 4096;
  if (pending_flows_.size() < kMaxPending) pending_flows_.push_back(f);
  if (seen_servers_.size() >= kMaxServers || pending_new_.size() >= kMaxPending) return;
  std::string key = server_key(f);
  // A proxy's later flows may go elsewhere: each is told by what it asked for once it settles. Until
  // a server's first flow has settled nobody knows whether it is a proxy, so its flows wait too.
  if (seen_servers_.insert(key).second) {
    unsettled_servers_.insert(std::move(key));
    pending_new_.push_back(f);
  } else if (proxy_servers_.count(key) != 0 || unsettled_servers_.count(key) != 0) {
    pending_new_.push_back(f);
  }
}

std::string Auditor::server_key(const flow::Flow& f) {
  const auto& ip = f.key.addr[f.server()];
  std::string key(reinterpret_cast<const char*>(ip.bytes().data()), ip.bytes().size());
  key.push_back(static_cast<char>(f.key.protocol));
  key.push_back(static_cast<char>(f.key.port[f.server()] >> 8));
  key.push_back(static_cast<char>(f.key.port[f.server()] & 0xFF));
  key.push_back(ip.is_v4() ? '4' : '6');
  return key;
}

std::vector<NewDestination> Auditor::take_new_destinations(core::TimestampNs now_ns, core::TimestampNs settle_ns,
                                                           bool only_attributed) {
  std::vector<NewDestination> out;
  std::vector<flow::Flow> keep;
  for (const flow::Flow& f : pending_new_) {
    if (now_ns < f.first_seen() + settle_ns) {
      keep.push_back(f);
      continue;
    }
    // Attribution happens at a flow's first packet: by now it is known.
    if (only_attributed && processes_.find(f.id) == processes_.end()) continue;
    NewDestination d;
    d.ip = f.key.addr[f.server()];
    d.port = f.key.port[f.server()];
    d.protocol = f.key.protocol;
    d.first_ns = f.first_seen();
    const auto it = apps_.details().find(f.id);
    const app::FlowDetails* details = it == apps_.details().end() ? nullptr : &it->second;
    const app::FlowName name = name_of(f, details);
    d.hostname = std::string(name.hostname);
    d.hostname_source = std::string(name.source);
    std::string key = server_key(f);
    unsettled_servers_.erase(key);
    constexpr std::size_t kMaxTold = 65536;
    if (const auto target = app::proxy_target(f, details)) {
      // Told by the destination the client meant, once per target and proxy, as the report keys it.
      if (proxy_servers_.size() < kMaxTold) proxy_servers_.insert(key);
      key += fmt::format("|{}|{}", target->host, target->port);
      if (told_.size() >= kMaxTold || !told_.insert(std::move(key)).second) continue;
      d.via_type = std::string(target->type);
      d.via_ip = target->proxy_ip;
      d.via_port = target->proxy_port;
      d.ip = target->ip.value_or(core::IpAddress{});
      if (!target->ip) d.requested_host = target->host;
      d.port = target->port;
    } else if (told_.size() >= kMaxTold || !told_.insert(std::move(key)).second) {
      continue;  // each server (a proxy's own flows, where no request was read, included) told once
    }
    out.push_back(std::move(d));
  }
  pending_new_ = std::move(keep);
  return out;
}

Relabel Auditor::proxy_relabel() {
  return [this](const FlowRow& f, flow::FlowLabel& label) {
    app::label_proxy(f, f.app_details(), apps_.names(), apps_.pool(), label);
  };
}

void Auditor::idle(core::TimestampNs wall_now_ns) noexcept {
  if (packets_ == 0 || wall_now_ns <= last_ns_) return;
  try {
    // Each call sweeps a part of the table; the ticks of a quiet capture go round all of it.
    table_.sweep_idle(clock_.now() + (wall_now_ns - last_ns_), 65536);
    drop_records_in_batches();
  } catch (const std::bad_alloc&) {
    out_of_memory_ = true;
  }
}

AuditResult Auditor::take_settled_flows(core::TimestampNs now_ns, core::TimestampNs settle_ns, bool only_attributed) {
  AuditResult r;
  r.strings = apps_.strings();
  std::vector<flow::Flow> keep;
  for (const flow::Flow& first : pending_flows_) {
    if (now_ns < first.first_seen() + settle_ns) {
      keep.push_back(first);
      continue;
    }
    if (only_attributed && processes_.find(first.id) == processes_.end()) continue;
    // The flow as it is now; as at its first packet if it was retired meanwhile.
    const flow::Flow* now = table_.lookup(first.key);
    r.flows.push_back(ended_row(now != nullptr && now->id == first.id ? *now : first));
  }
  pending_flows_ = std::move(keep);
  r.destinations = destinations_of(r.flows, {}, proxy_relabel());
  return r;
}

capture::SourceInfo Auditor::run(capture::PacketSource& source, std::uint32_t input, const Progress& progress) {
  capture::RawPacket raw;
  std::uint64_t packets = 0;
  while (source.next(raw) == capture::ReadStatus::kPacket) {
    process(raw, input);
    if ((++packets & 0xFFFF) == 0 && progress) progress(packets, source.position());
  }
  return source.info();
}

namespace {

// Names are places data leaves in too (issue 17): every distinct DNS query name and TLS/QUIC server
// name, once each.
void inspect_names(AuditResult& r, inspect::Inspector& inspector) {
  std::vector<std::pair<std::string_view, std::string_view>> names;  // (place, name)
  for (const app::DnsRecord& q : r.dns) {
    if (!q.query.empty() && q.query != ".") names.emplace_back("dns", q.query);
  }
  for (const FlowRow& f : r.flows) {
    if (f.name.source == "tls-sni" || f.name.source == "quic-sni") names.emplace_back("sni", f.name.hostname);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::vector<inspect::Finding> found;
  for (const auto& [place, name] : names) {
    found.clear();
    if (!inspector.inspect_name(place, name, found)) break;  // the run's budget: counted by the inspector
    if (found.empty()) continue;
    if (r.name_findings.size() >= AuditResult::kMaxNameFindings) {
      ++r.name_findings_dropped;
      continue;
    }
    r.name_findings.push_back(NameFindings{std::string(place), std::string(name), found});
  }
}

}  // namespace

const NameFindings* AuditResult::find_name_findings(std::string_view place, std::string_view name) const noexcept {
  const auto it = std::lower_bound(name_findings.begin(), name_findings.end(), std::pair(place, name),
                                   [](const NameFindings& n, const std::pair<std::string_view, std::string_view>& k) {
                                     return std::pair<std::string_view, std::string_view>(n.place, n.name) < k;
                                   });
  if (it == name_findings.end() || it->place != place || it->name != name) return nullptr;
  return &*it;
}

std::vector<std::uint64_t> Auditor::end_flows(bool only_attributed) {
  table_.retire_all();
  apps_.finish();
  options_.only_attributed = options_.only_attributed || only_attributed;
  // The flows still open at the end count against the cap like the others: the lowest ids are
  // folded as the table hands the flows over, as drop_records() does during the capture.
  ended_ = table_.take_finished([this](std::size_t left) { return over_record_cap(left); },
                                [this](flow::Flow& f) { fold(f); });
  if (options_.only_attributed) {
    std::erase_if(ended_, [&](const flow::Flow& f) { return processes_.find(f.id) == processes_.end(); });
  }
  // The records kept as they are (in id order already) and the records standing for groups, in id
  // order as if nothing had been dropped.
  std::vector<std::size_t> groups(groups_.size());
  for (std::size_t g = 0; g < groups.size(); ++g) groups[g] = g;
  std::sort(groups.begin(), groups.end(), [&](std::size_t a, std::size_t b) { return groups_[a].flow.id < groups_[b].flow.id; });
  row_sources_.clear();
  row_sources_.reserve(ended_.size() + groups.size());
  std::vector<std::uint64_t> ids;
  ids.reserve(ended_.size() + groups.size());
  std::size_t e = 0;
  std::size_t g = 0;
  while (e < ended_.size() || g < groups.size()) {
    if (g >= groups.size() || (e < ended_.size() && ended_[e].id < groups_[groups[g]].flow.id)) {
      ids.push_back(ended_[e].id);
      row_sources_.push_back(e++);
    } else {
      ids.push_back(groups_[groups[g]].flow.id);
      row_sources_.push_back(kGroup + groups[g++]);
    }
  }
  return ids;
}

AuditPart Auditor::finish_part(std::span<FlowRow> rows, std::span<const std::size_t> at) {
  AuditPart part;
  AuditResult& r = part.result;
  r.strings = apps_.strings();
  r.processes = std::move(processes_);
  auto& details = apps_.details();
  // Each row takes its flow's details; nothing else reads them after the audit. Rows of records
  // kept as they are get their names now; the records standing for groups keep the name their
  // group was made with.
  for (std::size_t i = 0; i < row_sources_.size(); ++i) {
    const std::size_t source = row_sources_[i];
    FlowRow& row = rows[at[i]];
    if (source < kGroup) {
      row = FlowRow(std::move(ended_[source]));
    } else {
      GroupRecord& g = groups_[source - kGroup];
      row = FlowRow(std::move(g.flow), g.name);
      if (g.folded.flows != 0) r.folded.emplace(row.id, std::move(g.folded));
    }
    if (auto node = details.extract(row.id)) row.details = std::move(node.mapped());
    if (const auto it = tunnels_.find(row.id); it != tunnels_.end()) row.tunnel = it->second;
    if (source < kGroup) {
      if (row.details) app::classify_blind_spot(row, *row.details);
      row.name = name_of(row, row.app_details());
    }
  }
  // Each is a row now: given back before the rest of the report is built (swapped with an empty
  // one: assigning {} would keep the memory).
  std::vector<flow::Flow>().swap(ended_);
  std::vector<std::size_t>().swap(row_sources_);
  std::vector<GroupRecord>().swap(groups_);
  decltype(group_index_)().swap(group_index_);
  decltype(streamed_ids_)().swap(streamed_ids_);
  r.dns = std::move(apps_.dns_records());
  if (options_.only_attributed) {
    std::erase_if(r.dns, [&](const app::DnsRecord& q) { return r.processes.find(q.flow_id) == r.processes.end(); });
  }
  r.app_stats = apps_.stats();

  // Blind spots and coverage, now that every DNS answer is in.
  r.coverage = dropped_coverage_;
  for (std::size_t i = 0; i < at.size(); ++i) {
    const FlowRow& f = rows[at[i]];
    r.coverage.add(f.out().bytes, f.name, f.details ? &*f.details : nullptr);
  }
  part.dropped = dropped_destinations_.take();
  r.caps = caps_;
  r.caps.strings_dropped = apps_.pool().dropped();
  r.caps.dns_records_dropped = r.app_stats.dns_records_dropped;
  decoder_.finish();
  r.decode = decoder_.counters();
  r.anomalies = decoder_.anomalies();
  r.flow_stats = table_.stats();
  r.clock = clock_.stats();
  r.packets = packets_;
  r.bytes = bytes_;
  r.first_ns = first_ns_;
  r.last_ns = last_ns_;
  part.opened = std::move(opened_);
  part.out_of_memory = out_of_memory_;
  return part;
}

AuditResult Auditor::finish(std::vector<capture::SourceInfo> inputs, bool only_attributed) {
  const std::size_t n = end_flows(only_attributed).size();
  std::vector<FlowRow> rows(n);
  std::vector<std::size_t> at(n);
  for (std::size_t i = 0; i < n; ++i) at[i] = i;
  AuditPart part = finish_part(rows, at);
  AuditResult& r = part.result;
  r.flows = std::move(rows);
  r.inputs = std::move(inputs);
  complete_result(r, std::move(part.dropped), proxy_relabel(), options_.app.inspector.get(), options_.max_string_bytes,
                  part.out_of_memory);
  return std::move(r);
}

void complete_result(AuditResult& r, std::vector<flow::Destination> dropped, const Relabel& relabel,
                     inspect::Inspector* inspector, std::size_t max_string_bytes, bool out_of_memory) {
  if (inspector != nullptr) inspect_names(r, *inspector);
  r.destinations = destinations_of(r.flows, std::move(dropped), relabel);
  for (const auto& in : r.inputs) {
    if (!in.error.empty()) r.warnings.push_back(in.error);
    for (const std::uint32_t lt : in.link_types) {
      if (!capture::is_supported_link_type(lt)) {
        r.warnings.push_back(fmt::format("{}: {}; its packets were counted, not analysed", in.path,
                                         capture::unsupported_link_type_message(lt)));
      }
    }
  }
  {
    std::vector<std::string> paths;
    for (const auto& in : r.inputs) paths.push_back(in.path);
    for (auto& w : flow::clock_warnings(r.clock, paths)) r.warnings.push_back(std::move(w));
  }
  if (r.app_stats.request_bodies_cut > 0) {
    r.warnings.push_back(fmt::format(
        "{} request bodies were kept only in part for inspection ({} KiB per request, {} KiB per connection, {} MiB "
        "per run); their sizes are counted whole", r.app_stats.request_bodies_cut, http::Exchange::kMaxKeptBody / 1024,
        http::KeepBudget::kPerFlow / 1024, http::KeepBudget::kPerRun >> 20));
  }
  if (r.flow_stats.evicted > 0) {
    r.warnings.push_back(fmt::format("flow table full: {} flows evicted early (raise --max-flows)",
                                     r.flow_stats.evicted));
  }
  if (r.app_stats.inspections_skipped > 0) {
    r.warnings.push_back(fmt::format("{} flows were not inspected: too many flows open at once",
                                     r.app_stats.inspections_skipped));
  }
  if (r.app_stats.dns_malformed > 0) {
    r.warnings.push_back(fmt::format("{} DNS messages could not be read whole (a name or record broken or cut): their "
                                     "questions are recorded up to the problem (dns[].name_error)",
                                     r.app_stats.dns_malformed));
  }
  if (r.app_stats.dns_records_dropped > 0) {
    r.warnings.push_back(fmt::format("{} DNS messages were not recorded: the DNS log is full (raise --max-dns-records)",
                                     r.app_stats.dns_records_dropped));
  }
  const CapStats& c = r.caps;
  if (c.flow_records_dropped > 0) {
    r.warnings.push_back(fmt::format(
        "{} of {} flow records were dropped to stay within --max-flow-records {}; their flows are counted in "
        "their destinations and, through {} records standing for flow groups, by the flow rules",
        c.flow_records_dropped, r.total_flows(), c.max_flow_records, c.flow_groups));
  }
  if (c.flows_over_destination_cap > 0) {
    r.warnings.push_back(fmt::format("{} flows went to destinations past --max-destinations {}: they are in no "
                                     "destination and no rule saw them (raise --max-destinations)",
                                     c.flows_over_destination_cap, c.max_destinations));
  }
  if (c.flows_over_group_cap > 0) {
    r.warnings.push_back(fmt::format("{} flows were not evaluated by the flow rules: too many distinct flows to keep "
                                     "one record per group within --max-flow-records {} (raise it)",
                                     c.flows_over_group_cap, c.max_flow_records));
  }
  if (c.strings_dropped > 0) {
    r.warnings.push_back(fmt::format("{} names or fingerprints were not kept: the string pool is full ({} bytes); "
                                     "they read as \"{}\"",
                                     c.strings_dropped, max_string_bytes, core::StringPool::kOverflow));
  }
  if (r.decode.tunnel_too_deep > 0) {
    r.warnings.push_back(fmt::format("{} packets had tunnels nested deeper than {}: their inner packets were not "
                                     "read (flows carrying them have tunnel.depth_exceeded)",
                                     r.decode.tunnel_too_deep, packet::kMaxTunnelDepth));
  }
  if (r.decode.wlan_protected > 0) {
    r.warnings.push_back(fmt::format("{} 802.11 data frames were protected (encrypted on the air): their packets "
                                     "are not in the audit (capture on the network side, or decrypt first)",
                                     r.decode.wlan_protected));
  }
  if (r.decode.nflog_no_payload > 0) {
    r.warnings.push_back(fmt::format("{} NFLOG records carried no packet (log without payload copy): not audited",
                                     r.decode.nflog_no_payload));
  }
  if (out_of_memory) r.warnings.push_back("out of memory while tracking flows: some packets were not tracked");
  const auto& a = r.anomalies.all();
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto kind = static_cast<packet::Anomaly>(i);
    if (a[i] == 0 || kind == packet::Anomaly::kUnsupportedLinkType || kind == packet::Anomaly::kTunnelTooDeep) continue;
    r.warnings.push_back(fmt::format("{} packets with anomaly {}", a[i], packet::kAnomalyNames[i]));
  }
}

}  // namespace flowaudit::analysis
