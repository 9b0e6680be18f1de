// Per-app capture (--pid, --process): each new flow is matched to its socket's process when its
// first packet arrives (the socket exists then); the flows of the selected app are kept, their
// first packet carries the process in its pcapng comment, the others are counted and left out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "analysis/audit.h"
#include "capture/process_attribution.h"
#include "session/audit_session.h"

namespace flowaudit::session {

class AppFilter {
 public:
  AppFilter(std::vector<int> pids, std::vector<std::string> processes);

  // Reads the socket table once; false (and a message) when it cannot be read at all.
  bool start(Messages& messages);
  // Attributes each new flow of `auditor` as its first packet arrives. The filter and `messages`
  // must outlive the auditor's use of it.
  void attach(analysis::Auditor& auditor, Messages& messages);

  // Before each packet: forget the previous packet's comment.
  void next_packet() noexcept { comment_.clear(); }
  // The pcapng comment for the packet just processed: the process, on a flow's first packet.
  [[nodiscard]] const std::string& comment() const noexcept { return comment_; }
  [[nodiscard]] bool keeps(std::uint64_t flow_id) const { return app_flows_.count(flow_id) != 0; }
  // The warning for the report: what was kept, what was left out.
  [[nodiscard]] std::string summary() const;

 private:
  capture::ProcessAttribution attribution_;
  std::string comment_;
  std::unordered_set<std::uint64_t> app_flows_;
  std::uint64_t unattributed_ = 0;
  bool warned_ = false;
};

}  // namespace flowaudit::session
