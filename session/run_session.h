// `flowaudit run -- CMD`: CMD in a network namespace of its own (capture/netns_sandbox.h), its
// link captured through the live session, its key log followed into the pcapng, and its exit
// status in the report (result().run).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "analysis/audit.h"
#include "capture/keylog_tap.h"
#include "capture/netns_sandbox.h"
#include "session/audit_session.h"
#include "session/live_session.h"

namespace flowaudit::session {

struct RunSettings {
  std::vector<std::string> command;
  std::string user;     // CMD runs as: this, else $SUDO_USER, else the invoking user
  bool keylog = true;   // SSLKEYLOGFILE for CMD
  std::string network = "auto";  // auto (netns as root, else pasta), netns, pasta
  LiveSettings live;    // --write, --duration, --snaplen, ... (the interface is the namespace's link)
};

class RunSession {
 public:
  RunSession(AuditSession& audit, RunSettings settings, LiveSink& sink);
  ~RunSession();
  RunSession(const RunSession&) = delete;
  RunSession& operator=(const RunSession&) = delete;

  // As root: the namespace, its link and the capture on it; root dropped. False after telling why.
  bool open();
  // Starts CMD, captures until it has ended, completes the audit. False when CMD could not start.
  bool run();
  bool make_dir(mode_t mode);
  bool open_pasta();
  bool run_pasta();
  [[nodiscard]] const analysis::RunInfo& info() const noexcept { return info_; }

 private:
  AuditSession& audit_;
  RunSettings settings_;
  LiveSink& sink_;
  analysis::RunInfo info_;
  std::string dir_;  // holds the key log and the namespace's resolv.conf; removed by the keeper
  std::unique_ptr<capture::KeyLogTap> keys_;
  std::unique_ptr<capture::NetnsSandbox> sandbox_;
  std::unique_ptr<LiveSession> live_;
  bool pasta_ = false;   // rootless: pasta writes the traffic to pcap_, audited afterwards
  std::string pcap_;
  std::string keylog_;
};

}  // namespace flowaudit::session
