#include "session/live_session.h"

#include <limits>

#include <fmt/format.h>

#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <unordered_set>

#include "capture/live_loop.h"
#include "capture/nflog_select.h"
#include "capture/sandbox_net.h"
#include "capture/pcap_file_source.h"
#include "capture/pcapng_writer.h"
#include "core/escape.h"
#include "rules/eval/records.h"
#include "session/live_findings.h"
#include "session/app_filter.h"

namespace flowaudit::session {

namespace {

// How long a flow has to show its handshake or request before it is told about.
constexpr core::TimestampNs kSettleNs = 500'000'000;
constexpr std::uint64_t kMaxTold = 1000;

}  // namespace

LiveSession::LiveSession(AuditSession& audit, LiveSettings settings, LiveSink& sink)
    : audit_(audit), settings_(std::move(settings)), sink_(sink) {}

LiveSession::~LiveSession() {
  std::string ignored;
  if (selection_table_) capture::delete_nat_table(::getpid(), ignored);
}

bool LiveSession::open() {
  if (!audit_.auditor_options(options_)) return false;
  // The device first, as root; then root is dropped before a single packet is parsed.
  auto& c = settings_;
  if (c.selected()) {
    // --uid/--cgroup: the kernel picks the packets (capture/nflog_select.h); libpcap reads them
    // from the NFLOG group, and root is dropped keeping what removes the table at the end.
    capture::NflogSelection selection;
    std::string error;
    if (!c.select_uid.empty()) {
      uid_t uid = 0;
      if (!capture::resolve_uid(c.select_uid, uid, selection_, error)) {
        sink_.error(error);
        return false;
      }
      selection.uid = uid;
    } else {
      selection.cgroup = c.select_cgroup;
    }
    stale_ = capture::remove_stale_sandboxes();
    capture::NflogRules rules;
    if (!capture::add_nflog_selection(::getpid(), selection, rules, error)) {
      sink_.error(error);
      return false;
    }
    selection_table_ = true;
    if (selection_.empty()) selection_ = rules.description;
    c.interface = fmt::format("nflog:{}", rules.group);
    c.keep_net_admin = true;
  }
  capture::LiveOptions live;
  live.interface = c.interface;
  live.filter = c.filter;
  live.snaplen = c.snaplen;
  live.buffer_size = c.buffer_mib << 20;
  live.promiscuous = c.promiscuous;
  std::string error;
  source_ = capture::LiveSource::open(live, error);
  if (!source_) {
    sink_.error(error);
    return false;
  }
  dropped_ = capture::drop_root(c.user, c.per_app(), c.keep_net_admin);
  if (!dropped_.error.empty()) {
    sink_.error(dropped_.error);
    return false;
  }
  // Per-user data (the geolocation databases) comes from the user the capture now runs as.
  if (dropped_.dropped && !dropped_.home.empty()) ::setenv("HOME", dropped_.home.c_str(), 1);
  return audit_.prepare();
}

bool LiveSession::run(const LiveHooks& hooks) {
  const auto& c = settings_;
  const bool per_app = c.per_app();
  std::string error;
  capture::PcapngWriter writer;
  if (!c.write.empty() &&
      !writer.open(c.write, source_->link_type(), static_cast<std::uint32_t>(source_->snaplen()), c.interface, error)) {
    sink_.error(error);
    return false;
  }
  options_.group_by_flow_bytes = audit_.group_by_flow_bytes();
  options_.only_attributed = per_app;
  analysis::Auditor auditor(options_);
  auditor.track_new_destinations(true);

  std::optional<AppFilter> filter;
  if (per_app) {
    filter.emplace(c.pids, c.processes);
    if (!filter->start(sink_)) return false;
    filter->attach(auditor, sink_);
  }
  sink_.started(c.interface, capture::link_type_name(source_->link_type()),
                dropped_, c.write);
  if (hooks.on_started && !hooks.on_started()) return false;

  const rules::Policy* policy = audit_.policy();
  auto& enricher = audit_.enricher();
  const rules::eval::EvalOptions eval_options = audit_.eval_options();

  // New destinations as they appear, with where they are and whose they are, and the destination
  // rules they break.
  std::uint64_t told = 0;
  const auto tell_new = [&](core::TimestampNs settle) {
    for (const auto& d : auditor.take_new_destinations(core::wall_clock_ns(), settle, per_app)) {
      if (++told > kMaxTold) continue;
      const auto e = enricher.describe(d.ip, d.hostname);
      sink_.new_destination(d, e);
      if (!policy) continue;
      for (const rules::Rule* rule : new_destination_findings(*policy, d, e, eval_options)) {
        sink_.destination_finding(*rule);
      }
    }
  };
  // Flow rules (TLS version and ciphers, plaintext requests, QUIC that cannot be read, ...) on
  // each flow once it has had time to show its handshake or request: told once per rule and
  // destination. The final report has them all, with evidence.
  std::unordered_set<std::string> flow_findings_told;
  const auto tell_flow_findings = [&](core::TimestampNs settle) {
    analysis::AuditResult settled = auditor.take_settled_flows(core::wall_clock_ns(), settle, per_app);
    if (policy == nullptr) return;
    for (const auto& f : settled_flow_findings(*policy, settled, enricher, eval_options)) {
      const auto& d = *f.destination;
      const std::string_view name = f.name;
      // Once per rule and destination as the user sees it (the name escaped, as it is shown).
      const std::string key = fmt::format("{} {} {}:{}/{}", f.rule->id,
                                          name.empty() ? "(unnamed)" : core::escape_terminal(name),
                                          d.ip.to_string(), d.port, rules::eval::transport_name(d.protocol));
      if (flow_findings_told.size() >= kMaxTold || !flow_findings_told.insert(key).second) continue;
      sink_.flow_finding(name, d, *f.rule);
    }
  };
  if (hooks.on_ended) auditor.stream_ended(true);
  const auto tell_ended = [&](std::size_t max) {
    if (!hooks.on_ended) return;
    auditor.idle(core::wall_clock_ns());
    analysis::AuditResult ended = auditor.take_ended(max, per_app);
    if (ended.flows.empty() && ended.dns.empty()) return;
    for (auto& d : ended.destinations) d.enrichment = enricher.enrich(d);
    hooks.on_ended(ended);
  };
  bool write_failed = false;
  capture::LoopCallbacks callbacks;
  callbacks.on_packet = [&](const capture::RawPacket& raw) {
    if (filter) filter->next_packet();
    // With --write, where the packet's data will be in that file: reports point there (a packet
    // of another app in a per-app capture is not written, and its flow is not reported).
    capture::RawPacket at = raw;
    if (writer.is_open()) at.data_offset = writer.next_data_offset();
    auditor.process(at, 0);
    // With --pid/--process only the app's packets are kept, the first of each flow naming its process.
    if (filter && !filter->keeps(auditor.last_flow_id())) return;
    static const std::string kNoComment;
    const std::string& comment = filter ? filter->comment() : kNoComment;
    if (writer.is_open() && !writer.write(raw.ts_ns, raw.orig_len, raw.data, comment) && !write_failed) {
      write_failed = true;
      sink_.error(writer.error() + "; packets are no longer kept, the audit goes on");
    }
  };
  callbacks.on_tick = [&] {
    tell_new(kSettleNs);
    tell_flow_findings(kSettleNs);
    tell_ended(20000);
  };
  callbacks.on_stats = [&] {
    const auto st = source_->stats();
    sink_.stats(source_->info().packets, source_->info().bytes, st.dropped, st.interface_dropped);
  };
  callbacks.on_signal = hooks.on_signal;
  callbacks.on_duration = hooks.on_duration;
  if (hooks.before_read) callbacks.before_read = [&] { hooks.before_read(writer.is_open() ? &writer : nullptr); };
  capture::LoopOptions loop;
  loop.stop_fd = hooks.stop_fd;
  loop.duration_seconds = c.duration;
  loop.stats_interval_seconds = c.stats_interval;
  loop.tick_seconds = 0.5;
  const auto stopped = capture::run_live_loop(*source_, loop, callbacks);
  tell_new(0);
  tell_flow_findings(0);
  tell_ended(std::numeric_limits<std::size_t>::max());
  if (stopped.reason == capture::StopReason::kCaptureError) sink_.error(stopped.error + "; reporting what was seen");

  analysis::LiveCaptureInfo info;
  info.interface = c.interface;
  info.selection = selection_;
  const auto st = source_->stats();
  info.stats_available = st.available;
  info.received = st.received;
  info.dropped = st.dropped;
  info.interface_dropped = st.interface_dropped;
  info.stopped_by = stopped.reason == capture::StopReason::kSignal     ? "signal"
                    : stopped.reason == capture::StopReason::kDuration ? "duration"
                    : stopped.reason == capture::StopReason::kStopFd   ? "command"
                                                                       : "error";
  info.user = dropped_.user;
  info.written = c.write;
  info.written_packets = writer.packets();
  info.written_bytes = writer.bytes();
  writer.close();
  auto source_info = source_->info();
  std::vector<std::string> warnings;
  if (write_failed || !writer.error().empty()) warnings.push_back(writer.error());
  if (st.available && (st.dropped != 0 || st.interface_dropped != 0)) {
    warnings.push_back(fmt::format("{}: {} packets dropped by the kernel and {} by the interface: the audit misses "
                                   "them (a larger --buffer-size helps)",
                                   c.interface, st.dropped, st.interface_dropped));
  }
  if (filter) warnings.push_back(filter->summary());
  if (selection_table_) {
    std::string removal;
    if (capture::delete_nat_table(::getpid(), removal)) {
      selection_table_ = false;
    } else {
      warnings.push_back("the nftables table of this capture could not be removed: " + removal);
    }
    warnings.push_back(fmt::format(
        "capture of {} only, through NFLOG: packets are counted as the kernel hands them over (GSO/GRO "
        "super-packets), so packet counts and sizes differ from the wire; traffic of other network namespaces is "
        "not seen",
        selection_));
  }
  for (const auto& s : stale_) warnings.push_back("removed a stale " + s + " of a flowaudit run that is gone");
  audit_.complete(auditor, {source_info}, warnings, per_app);
  audit_.result().live = info;
  tell_ended(std::numeric_limits<std::size_t>::max());
  if (auditor.stream_overflow() > 0) {
    audit_.result().warnings.push_back(fmt::format(
        "{} flows ended faster than their events could be handed over: they have no Network Activity event",
        auditor.stream_overflow()));
  }
  return true;
}

}  // namespace flowaudit::session
