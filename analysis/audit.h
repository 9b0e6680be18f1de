// One audit: packets from any number of sources through decoding and flow tracking, into a result
// that the report writers turn into text or JSON. Live capture and replay both feed process().
#pragma once

#include <array>
#include <deque>
#include <memory>
#include <functional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <optional>
#include <unordered_set>
#include <string>
#include <vector>

#include "analysis/app/app_analyzer.h"
#include "analysis/app/flow_details.h"
#include "analysis/enrich/enrichment.h"
#include "analysis/flow/audit_clock.h"
#include "analysis/flow/destinations.h"
#include "analysis/flow/flow_table.h"
#include "analysis/inspect/finding.h"
#include "analysis/packet/decoder.h"
#include "capture/packet_source.h"

namespace flowaudit::analysis {

struct AuditOptions {
  flow::FlowTableConfig flows;
  packet::ReassemblyConfig reassembly;
  app::AppConfig app;
  // Records of ended flows kept for the report (--max-flow-records). Past it the oldest are folded
  // into their destination and into a flow group (flows whose rule-visible values are all equal,
  // see audit_records.cc) and dropped: destinations and findings stay what they would be. A record
  // costs ~500 bytes at the peak (the flow, its name and label, the evaluator's share, vector
  // slack), so 100k records are ~50 MiB: with the live flow table and the destinations, within
  // 128 MiB with --max-flows 10000 and ~256-420 MiB at the defaults on a 5 M-flow flood
  // (bench/flood). The JSON report lists them (~750 bytes each: ~75 MB at most).
  std::size_t max_flow_records = 100'000;
  // Destinations aggregated from dropped records (--max-destinations). Past it a flow to a new
  // destination is lost: counted, and the capture fails the default policy (capture.capped). An AI
  // chat app talks to tens of destinations, a device's day of browsing to a few thousand, an office
  // NAT to tens of thousands; 100k is past any of them (a scan or a flood) and costs ~50 MiB.
  std::size_t max_destinations = 100'000;
  // Bytes of distinct strings (names, fingerprints, headers) interned for the whole audit.
  std::size_t max_string_bytes = std::size_t{64} << 20;
  // A flow rule reads the flow's own bytes_out or bytes_in: flow groups must then also agree on
  // them (set by the CLI from the policy).
  bool group_by_flow_bytes = false;
  // Per-app audit: flows without a known process are left out as they are dropped.
  bool only_attributed = false;
};

// Flows whose records were dropped, folded into the record that stands for their group: the flow
// rules see the record once and count these with it (AuditResult::folded).
struct FoldedFlows {
  static constexpr std::size_t kMaxIds = 20;  // the lowest ids, for evidence
  std::uint64_t flows = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t bytes_in = 0;
  core::TimestampNs first_ns = 0;
  core::TimestampNs last_ns = 0;
  std::vector<std::uint64_t> ids;  // ascending
  void add(const flow::Flow& f);
};

// What the memory caps did; everything but flow_records_dropped means something is missing.
struct CapStats {
  std::uint64_t flow_records_dropped = 0;  // records dropped, their flows folded (all the ones below too)
  std::uint64_t flow_groups = 0;           // records kept to stand for dropped ones
  std::uint64_t flows_over_destination_cap = 0;  // in no destination, no flow rule ran on them
  std::uint64_t flows_over_group_cap = 0;        // in their destination, no flow rule ran on them
  std::uint64_t strings_dropped = 0;             // values not interned: the string pool was full
  std::uint64_t dns_records_dropped = 0;         // DNS messages not recorded: the DNS log was full
  std::size_t max_flow_records = 0;
  std::size_t max_destinations = 0;
  // True when a cap left something out of the audit (a blind spot: capture.capped).
  [[nodiscard]] bool capped() const noexcept {
    return flows_over_destination_cap + flows_over_group_cap + strings_dropped + dns_records_dropped > 0;
  }
};

struct Coverage {
  std::uint64_t flows = 0;
  std::uint64_t named_flows = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t named_bytes_out = 0;
  std::array<std::uint64_t, app::kBlindSpotKinds> blind_spots{};  // flows per BlindSpot value
  std::array<std::uint64_t, app::kUnnamedReasonKinds> unnamed{};  // unnamed flows per UnnamedReason value
  [[nodiscard]] double flow_share() const noexcept { return flows == 0 ? 1.0 : double(named_flows) / double(flows); }
  [[nodiscard]] double bytes_out_share() const noexcept {
    return bytes_out == 0 ? 1.0 : double(named_bytes_out) / double(bytes_out);
  }
  // Encrypted flows (TLS, QUIC, STARTTLS after the upgrade) and the part of what they sent that was
  // decrypted: each flow's bytes out in the proportion of its client's protected record bytes that
  // were opened (a flow without keys, or QUIC, counts 0).
  std::uint64_t encrypted_flows = 0;
  std::uint64_t decrypted_flows = 0;  // at least one record opened
  std::uint64_t encrypted_bytes_out = 0;
  std::uint64_t decrypted_bytes_out = 0;
  [[nodiscard]] double decrypted_share() const noexcept {
    return encrypted_bytes_out == 0 ? 0.0 : double(decrypted_bytes_out) / double(encrypted_bytes_out);
  }
  // One flow, whether its record is kept or folded.
  void add(std::uint64_t flow_bytes_out, const app::FlowName& name, const app::FlowDetails* d);
};

// "3 no-payload, 1 encrypted-sni": the unnamed flows per reason, for the text reports ("" if none).
[[nodiscard]] std::string unnamed_summary(const Coverage& c);

// What libpcap said about a live capture (pcap_stats) and how it ended.
struct LiveCaptureInfo {
  std::string interface;
  std::string selection;  // --uid/--cgroup: whose traffic, e.g. uid 1000 (alice)
  std::uint64_t received = 0;           // packets the filter accepted
  std::uint64_t dropped = 0;            // dropped because the kernel buffer was full
  std::uint64_t interface_dropped = 0;  // dropped by the interface or its driver
  bool stats_available = false;
  std::string stopped_by;               // "signal", "duration", "error"
  std::string user;                     // the user the analysis ran as after dropping root
  std::string written;                  // --write file, if any
  std::uint64_t written_packets = 0;
  std::uint64_t written_bytes = 0;      // of whole blocks: a flow's first packet beyond it is not in the file
};

// `flowaudit run`: the command, how it ended and how its namespace reached the network.
struct RunInfo {
  std::vector<std::string> command;  // argv; the report shows the program and, unless --no-redact, not its arguments
  std::string user;                  // the command ran as
  int pid = 0;
  bool started = false;
  std::optional<int> exit_code;      // set when it exited
  std::string signal;                // set when a signal ended it ("SIGKILL")
  double duration_s = 0;
  std::string network;               // "netns" (root: veth pair and nftables NAT)
  std::string interface;             // captured on
  bool ipv6 = false;                 // false: switched off inside
  std::string dns;                   // where the namespace's DNS went ("10.253.0.1 -> 127.0.0.53")
  bool keylog = false;               // SSLKEYLOGFILE given to the command
  std::uint64_t keys = 0;            // key log lines kept (in the pcapng's Decryption Secrets Blocks with --write)
  std::uint64_t keys_malformed = 0;
  std::uint32_t leftovers_terminated = 0;
  std::uint32_t leftovers_killed = 0;
  [[nodiscard]] bool failed() const noexcept { return !started || !signal.empty() || exit_code.value_or(0) != 0; }
};

// The process a flow belonged to (live capture with --pid/--process, or recorded in a pcapng).
struct FlowProcess {
  int pid = 0;
  std::string name;
};

// "flowaudit.process pid=1234 name=curl": how a live capture records a flow's process in the
// pcapng comment of the flow's first packet, so that a replay still knows it.
[[nodiscard]] std::string process_comment(const FlowProcess& p);
[[nodiscard]] std::optional<FlowProcess> parse_process_comment(std::string_view comment);

// A flow of the audit with what was learned about it: its name and, where inspection found
// something, its details. A row is a flow (every reader of a flow's fields reads a row the same
// way) and owns the rest: nothing ties it to a position in another vector.
struct FlowRow : flow::Flow {
  FlowRow() = default;
  FlowRow(flow::Flow f, app::FlowName n = {}) : flow::Flow(std::move(f)), name(n) {}  // implicit: a row is a flow
  app::FlowName name;
  std::optional<app::FlowDetails> details;  // empty where inspection found nothing
  // For a flow seen inside a tunnel, the outermost one (from the flow's first tunnelled packet); also
  // set, with depth_exceeded, for a flow carrying tunnels nested too deep to open.
  std::optional<packet::Tunnel> tunnel;
  [[nodiscard]] const app::FlowDetails* app_details() const noexcept { return details ? &*details : nullptr; }
};

// A destination with where and whose it is. The enrichment is empty until the session enriches
// the result (or when no enricher ran, as in some tests and the live flow batches).
struct DestinationRow : flow::Destination {
  DestinationRow() = default;
  DestinationRow(flow::Destination d) : flow::Destination(std::move(d)) {}  // implicit, as above
  std::optional<enrich::DestinationEnrichment> enrichment;
};

// What left in a name (issue 17): a DNS query name or a TLS/QUIC server name, inspected label by
// label for canaries and identifiers (data is exfiltrated in subdomains). Only names with findings.
struct NameFindings {
  std::string place;  // "dns" (a query name) or "sni" (a TLS or QUIC server name)
  std::string name;
  std::vector<inspect::Finding> findings;
};

struct AuditResult {
  std::vector<capture::SourceInfo> inputs;
  std::unordered_map<std::uint64_t, FlowProcess> processes;  // by flow id, where known
  std::optional<LiveCaptureInfo> live;  // set by `flowaudit capture` and `flowaudit run`
  std::optional<RunInfo> run;           // set by `flowaudit run`
  std::vector<FlowRow> flows;  // records kept (see CapStats); total_flows() counts every flow
  std::unordered_map<std::uint64_t, FoldedFlows> folded;  // by id of the record that stands for them
  CapStats caps;
  std::vector<DestinationRow> destinations;
  std::shared_ptr<const core::StringPool> strings;  // what names and details point into
  std::deque<app::DnsRecord> dns;  // as logged (a deque: see AppContext::dns)
  // At most kMaxNameFindings names, sorted by place then name; past it, name_findings_dropped.
  static constexpr std::size_t kMaxNameFindings = 4096;
  std::vector<NameFindings> name_findings;
  std::uint64_t name_findings_dropped = 0;
  [[nodiscard]] const NameFindings* find_name_findings(std::string_view place, std::string_view name) const noexcept;
  app::AppStats app_stats;
  Coverage coverage;
  std::vector<enrich::GeoDatabaseInfo> geo_databases;
  std::vector<std::string> warnings;
  packet::DecodeCounters decode;
  packet::AnomalyCounters anomalies;
  flow::FlowTableStats flow_stats;
  flow::ClockStats clock;  // capture clocks that went back (discontinuities) or paused
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;  // captured bytes
  core::TimestampNs first_ns = 0;
  core::TimestampNs last_ns = 0;
  std::uint64_t skipped_unsupported_link = 0;
  [[nodiscard]] std::uint64_t total_flows() const noexcept { return flows.size() + caps.flow_records_dropped; }
};

// What one worker of a --threads audit hands over (Auditor::finish_part): everything about its
// flows but the rows themselves (written in place into the merged rows), and without what needs
// every worker's flows: destinations, names inspected, warnings.
struct AuditPart {
  AuditResult result;
  std::vector<flow::Destination> dropped;  // the destinations of its dropped records
  std::vector<std::uint64_t> opened;       // the id of every flow it opened (ascending), for renumbering
  bool out_of_memory = false;
};


// What a destination learns from one flow beyond its counters: the flow's name, its protocol and
// whether it was encrypted.
[[nodiscard]] flow::FlowLabel label_of(const app::FlowName& name, const app::FlowDetails* d);

// The destinations of `flows` (labelled by their names and details), merged with `folded` (the
// destinations of dropped records): what finish() gives, for tests that build results by hand too.
// `relabel`, if set, adds to each flow's label (the Auditor adds where a proxied flow was meant to go).
using Relabel = std::function<void(const FlowRow&, flow::FlowLabel&)>;
[[nodiscard]] std::vector<DestinationRow> destinations_of(const std::vector<FlowRow>& flows,
                                                          std::vector<flow::Destination> folded = {},
                                                          const Relabel& relabel = {});

// The second half of an audit's end, on its merged rows: destinations (rows and `dropped`, the
// destinations of dropped records), names inspected, and the warnings every number of the result
// calls for. Auditor::finish and the merge of --threads (parallel_audit.cc) both end here.
void complete_result(AuditResult& r, std::vector<flow::Destination> dropped, const Relabel& relabel,
                     inspect::Inspector* inspector, std::size_t max_string_bytes, bool out_of_memory);

// For each flow of `r`, the index of its destination in r.destinations, kNoDestination for none
// (a flow past --max-destinations).
inline constexpr std::size_t kNoDestination = static_cast<std::size_t>(-1);
[[nodiscard]] std::vector<std::size_t> flow_destinations(const AuditResult& r);

// Seconds between two timestamps, computed in double so that no pair of timestamps can overflow.
inline double duration_seconds(core::TimestampNs first, core::TimestampNs last) noexcept {
  return last > first ? (static_cast<double>(last) - static_cast<double>(first)) / 1e9 : 0.0;
}

// A destination seen for the first time during a live capture, named as well as the packets so
// far allow (the SNI of its first flow, the Host header, or the DNS answer that gave its address).
struct NewDestination {
  core::IpAddress ip;
  std::uint16_t port = 0;
  std::uint8_t protocol = 0;
  std::string hostname;
  std::string hostname_source;
  core::TimestampNs first_ns = 0;
  // Through a proxy: the destination is the requested host and port (ip is the requested address,
  // or of family none when the client asked by name: only the proxy's address is on the wire).
  std::string via_type;
  core::IpAddress via_ip;
  std::uint16_t via_port = 0;
  std::string requested_host;  // with via, when asked by name
  [[nodiscard]] bool address_known() const noexcept { return via_type.empty() || ip.family() != core::IpAddress::Family::kNone; }
};

class Auditor {
 public:
  explicit Auditor(AuditOptions options);

  // The packet path: no exceptions escape, no allocation beyond amortised table growth.
  void process(const capture::RawPacket& raw, std::uint32_t input) noexcept;

  // Reads a whole source; returns its final info (error set if it stopped early). The one replay
  // loop: the command line (session/replay_session), the tests and the fuzzers all read through
  // it. `progress`, if set, is called every 65536 packets with the count and the read position.
  using Progress = std::function<void(std::uint64_t packets, std::uint64_t position)>;
  capture::SourceInfo run(capture::PacketSource& source, std::uint32_t input, const Progress& progress = {});

  // Ends the audit; inputs that could not be opened at all are passed in with their errors. With
  // `only_attributed`, flows without a known process (and their DNS records) are left out: the
  // audit of one app.
  AuditResult finish(std::vector<capture::SourceInfo> inputs, bool only_attributed = false);
  // finish() in steps, for the workers of a --threads audit, so that every row is written once, in
  // its place among all workers' rows. end_flows() ends every flow (folding past the record cap)
  // and returns the ids of the rows it will write, ascending; finish_part() writes the i-th of them
  // at rows[at[i]] (named, with details) and returns the rest of the worker's result.
  std::vector<std::uint64_t> end_flows(bool only_attributed = false);
  AuditPart finish_part(std::span<FlowRow> rows, std::span<const std::size_t> at);

  // Per-app attribution: called once for every new flow (with its first packet); the listener may
  // call set_process().
  void set_new_flow_listener(std::function<void(const flow::Flow&)> listener) { on_new_flow_ = std::move(listener); }
  void set_process(std::uint64_t flow_id, FlowProcess process);
  // The flow of the last packet given to process(), 0 when it had none (not TCP/UDP).
  [[nodiscard]] std::uint64_t last_flow_id() const noexcept { return last_flow_id_; }

  // Live capture: remember each new server endpoint (address, port, transport) so that
  // take_new_destinations() can report it. Off for replays (it costs a set of endpoints).
  void track_new_destinations(bool on) noexcept { track_new_ = on; }
  // Destinations first seen since the last call whose flow started at least `settle_ns` before
  // `now_ns` (time for the ClientHello or the request to arrive and name it). `only_attributed`
  // (per-app capture): only flows with a process, so that nothing is told about a flow the report
  // then leaves out.
  std::vector<NewDestination> take_new_destinations(core::TimestampNs now_ns, core::TimestampNs settle_ns,
                                                    bool only_attributed = false);
  // Live capture (with track_new_destinations): the flows that began at least `settle_ns` before
  // `now_ns` and were not handed out yet, as a small result (flows as they are now, their names,
  // details and destinations; no DNS, no coverage) for the flow rules to run on while the capture
  // goes on. Bounded: at most 4096 flows wait; beyond that new flows are not offered (the final
  // report has them all). `only_attributed`: only flows with a process (per-app capture).
  AuditResult take_settled_flows(core::TimestampNs now_ns, core::TimestampNs settle_ns, bool only_attributed);

  // Live capture with --events (issue 19): each flow's record once it ended, for a long-running
  // sensor that cannot wait for the end to tell. stream_ended(true) before the first packet; then
  // take_ended() hands over the records of flows ended since the last call (at most `max`), as the
  // report will show them (named, details copied, tunnel, process), their destinations, and the
  // DNS messages logged since. A record that must be folded (--max-flow-records) before it was
  // taken is taken at the fold, so every flow is handed over once: during the capture, or after
  // finish() (the flows folded as the capture ended). At most 65,536 wait; beyond that a flow is
  // counted in stream_overflow() instead.
  void stream_ended(bool on) noexcept { stream_ended_ = on; }
  // Live capture: the wall clock moved to `wall_now_ns` without a packet since the last one (its
  // time is the capture's, taken from the kernel's clock): flows idle or closed long enough end now.
  void idle(core::TimestampNs wall_now_ns) noexcept;
  AuditResult take_ended(std::size_t max, bool only_attributed);
  [[nodiscard]] std::uint64_t stream_overflow() const noexcept { return stream_overflow_; }

 private:
  void note_new_flow(const flow::Flow& f);
  [[nodiscard]] static std::string server_key(const flow::Flow& f);
  // Where a proxied flow was meant to go, added to its label (app::label_proxy).
  [[nodiscard]] Relabel proxy_relabel();
  void note_tunnel(std::uint64_t flow_id, const packet::Tunnel& t);
  // app::name_flow, and the reason a flow inside tunnels too deep to open has no name: every path
  // that names a flow (records, folded groups, live batches) goes through here.
  [[nodiscard]] app::FlowName name_of(const flow::Flow& f, const app::FlowDetails* d);
  // Folds the oldest ended flows until at most max_flow_records records are kept.
  void drop_records();
  // drop_records() once the records pass the cap by a quarter: in batches, so that removing from
  // the front of the records costs O(1) per flow (after a packet, and on a quiet capture's tick).
  void drop_records_in_batches() {
    if (table_.finished().size() + groups_.size() > options_.max_flow_records + options_.max_flow_records / 4) {
      drop_records();
    }
  }
  // Whether records must still be folded, with `left` records of ended flows not folded yet.
  [[nodiscard]] bool over_record_cap(std::size_t left) const noexcept {
    return left + groups_.size() > options_.max_flow_records;
  }
  void fold(flow::Flow& f);
  void count_coverage(const flow::Flow& f, const app::FlowName& name, const app::FlowDetails* d);
  [[nodiscard]] bool attributed(std::uint64_t id) const { return processes_.find(id) != processes_.end(); }
  void forget(const flow::Flow& f);

  // A record kept to stand for a group of dropped flows, with the name it had when its group
  // began (the names of dropped flows are fixed as they are dropped).
  struct GroupRecord {
    flow::Flow flow;
    app::FlowName name;
    FoldedFlows folded;
  };
  struct GroupKey {
    std::uint64_t a = 0, b = 0;
    friend bool operator==(const GroupKey&, const GroupKey&) = default;
  };
  struct GroupKeyHash {
    std::size_t operator()(const GroupKey& k) const noexcept { return static_cast<std::size_t>(k.a); }
  };
  [[nodiscard]] GroupKey group_key(const flow::Flow& f, const app::FlowName& name, const app::FlowDetails* d) const;


  AuditOptions options_;
  packet::Decoder decoder_;
  flow::AuditClock clock_;
  flow::FlowTable table_;
  app::AppAnalyzer apps_;
  std::uint64_t packets_ = 0;
  std::uint64_t bytes_ = 0;
  core::TimestampNs first_ns_ = 0;
  core::TimestampNs last_ns_ = 0;
  bool out_of_memory_ = false;
  // Live capture's new destinations.
  bool track_new_ = false;
  std::uint64_t max_flow_id_ = 0;
  std::unordered_set<std::string> seen_servers_;
  // Live: servers found to be proxies (each new flow to them is told by what it asked for), servers
  // whose first flow has not settled yet, and the destinations told (servers, proxied targets).
  std::unordered_set<std::string> proxy_servers_;
  std::unordered_set<std::string> unsettled_servers_;
  std::unordered_set<std::string> told_;
  std::vector<flow::Flow> pending_new_;
  std::vector<flow::Flow> pending_flows_;  // for take_settled_flows: each flow as at its first packet
  std::function<void(const flow::Flow&)> on_new_flow_;
  std::unordered_map<std::uint64_t, FlowProcess> processes_;
  std::unordered_map<std::uint64_t, packet::Tunnel> tunnels_;
  std::uint64_t last_flow_id_ = 0;
  std::uint64_t newest_flow_id_ = 0;  // to tell a flow's first packet (ids only grow)
  // Records dropped past --max-flow-records (audit_records.cc).
  flow::DestinationAggregator dropped_destinations_;
  std::vector<GroupRecord> groups_;
  std::unordered_map<GroupKey, std::size_t, GroupKeyHash> group_index_;
  Coverage dropped_coverage_;  // of the flows whose records were dropped
  CapStats caps_;
  std::size_t kept_dns_processes_ = 0;
  // stream_ended(): finished()[0, streamed_records_) were handed over (their ids in streamed_ids_
  // until folded); rows taken at a fold wait in stream_rows_.
  [[nodiscard]] FlowRow ended_row(const flow::Flow& f);
  void stream_at_fold(const flow::Flow& f);
  bool stream_ended_ = false;
  std::size_t streamed_records_ = 0;
  std::size_t streamed_dns_ = 0;
  std::unordered_set<std::uint64_t> streamed_ids_;
  std::vector<FlowRow> stream_rows_;
  std::uint64_t stream_overflow_ = 0;
  // --threads (options_.app.shard): the worker this is, and the ids of the flows it opened.
  app::ShardSync* shard_ = nullptr;
  std::vector<std::uint64_t> opened_;
  // Between end_flows() and finish_part(): the ended flows and where each row comes from, in id
  // order (an index into ended_, or kGroup + an index into groups_).
  static constexpr std::size_t kGroup = std::size_t{1} << 62;
  std::vector<flow::Flow> ended_;
  std::vector<std::size_t> row_sources_;
};

// Which of `workers` tracks a flow, from its key's hash (the high half: the table's slots use the low
// bits, and each worker's table should spread its flows over all of them).
[[nodiscard]] inline std::size_t shard_of(std::uint64_t key_hash, std::size_t workers) noexcept {
  return static_cast<std::size_t>(((key_hash >> 32) * workers) >> 32);
}

}  // namespace flowaudit::analysis
