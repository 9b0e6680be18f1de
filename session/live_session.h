// Live capture: the device opened as root, root dropped before a packet is parsed, then the
// packets through the same Auditor as a replay, in the Asio loop (capture/live_loop.h). New
// destinations and the findings that can be told early go to a LiveSink as they appear; the
// command line prints them. The final audit is completed into the AuditSession.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/audit.h"
#include "capture/pcap_live_source.h"
#include "capture/pcapng_writer.h"
#include "capture/privileges.h"
#include "rules/load/policy.h"
#include "session/audit_session.h"

namespace flowaudit::session {

struct LiveSettings {
  std::string interface;
  std::string filter;
  int snaplen = 262144;
  int buffer_mib = 8;
  bool promiscuous = false;
  double duration = 0;
  double stats_interval = 0;
  std::string write;  // pcapng file for the raw packets
  std::string user;   // to run as once the device is open
  std::vector<int> pids;
  std::vector<std::string> processes;
  std::string select_uid;     // --uid: only this user's traffic, selected by nftables into NFLOG
  std::string select_cgroup;  // --cgroup: only this cgroup's (v2)
  bool keep_net_admin = false;  // `run`: keep CAP_NET_ADMIN after dropping root, to remove the namespace's link
  [[nodiscard]] bool per_app() const noexcept { return !pids.empty() || !processes.empty(); }
  [[nodiscard]] bool selected() const noexcept { return !select_uid.empty() || !select_cgroup.empty(); }
};

// What a live capture tells as it goes. A scan must not flood it: at most 1000 new destinations
// and 1000 flow findings are told (the report has them all).
class LiveSink : public Messages {
 public:
  // The capture runs, as `dropped.user` when root was dropped; packets kept in `write` if set.
  virtual void started(const std::string& interface, const std::string& link_type,
                       const capture::DropResult& dropped, const std::string& write) = 0;
  // A destination seen for the first time, with where and whose it is.
  virtual void new_destination(const analysis::NewDestination& d,
                               const analysis::enrich::DestinationEnrichment& e) = 0;
  // A destination rule broken by the destination just told (its title: the message would quote
  // byte counts that are not in yet).
  virtual void destination_finding(const rules::Rule& rule) = 0;
  // A flow rule broken on a flow to `d`, named `name` (the first flow behind the finding).
  virtual void flow_finding(std::string_view name, const analysis::flow::Destination& d, const rules::Rule& rule) = 0;
  // --stats-interval.
  virtual void stats(std::uint64_t packets, std::uint64_t bytes, std::uint64_t kernel_dropped,
                     std::uint64_t interface_dropped) = 0;
};

// What `flowaudit run` adds to a live capture (session/run_session.h).
struct LiveHooks {
  int stop_fd = -1;                           // the capture stops when this is readable (the command ended)
  std::function<void(int signal)> on_signal;  // instead of stopping at SIGINT/SIGTERM
  std::function<void()> on_duration;          // instead of stopping at --duration
  // Once the capture runs and --write is open (the command starts here: nothing it sends is missed).
  std::function<bool()> on_started;
  // Before each read of the capture, with the --write file (null without): key log lines go first.
  std::function<void(capture::PcapngWriter*)> before_read;
  // --events on a capture (issue 19): the flows that ended since the last call, as the report will
  // show them, with their destinations enriched and the DNS messages logged since; every tick (at
  // most 20,000 flows a tick), once more when the capture stops, and once after the audit completed
  // (flows folded as it ended). A long-running sensor tells as it goes instead of at the end.
  std::function<void(analysis::AuditResult&)> on_ended;
};

class LiveSession {
 public:
  LiveSession(AuditSession& audit, LiveSettings settings, LiveSink& sink);
  ~LiveSession();
  LiveSession(const LiveSession&) = delete;
  LiveSession& operator=(const LiveSession&) = delete;

  // Opens the device (as root), drops root, then prepares the audit as the user the capture now
  // runs as (whose data directory has the geolocation databases). False after telling why.
  bool open();
  // Captures until a signal, --duration or an error, then completes the audit (with the capture's
  // statistics in result().live). False (nothing captured) when --write or per-app attribution
  // cannot start.
  bool run(const LiveHooks& hooks = {});

 private:
  AuditSession& audit_;
  LiveSettings settings_;
  LiveSink& sink_;
  analysis::AuditOptions options_;
  std::unique_ptr<capture::LiveSource> source_;
  capture::DropResult dropped_;
  std::string selection_;         // --uid/--cgroup: what the nftables table selects
  bool selection_table_ = false;  // the table is there, to be removed
  std::vector<std::string> stale_;
};

}  // namespace flowaudit::session
