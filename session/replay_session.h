// Replay: capture files (or standard input) through the one replay loop (Auditor::run) into an
// audit session. Progress goes to a sink so that the command line decides how to show it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>
#include <string>
#include <vector>

#include "session/audit_session.h"

namespace flowaudit::session {

// Told about each capture as it is read: start, every 65536 packets, done.
class ReplayProgress {
 public:
  virtual ~ReplayProgress() = default;
  virtual void start(const std::string& path) = 0;
  virtual void update(std::uint64_t packets, std::uint64_t position) = 0;
  virtual void done() = 0;
};

// Prepares `session`, reads every capture and completes the audit. False (with the reason sent
// to the session's messages) for a usage error: bad settings, standard input given twice, or no
// capture readable. A capture that cannot be read is an input with its error in the report.
bool replay(AuditSession& session, const std::vector<std::string>& captures, ReplayProgress* progress = nullptr);

// FLOWAUDIT_PHASES=1 in the environment: the time of each phase of an audit on standard error
// (the bench's measure of what runs serially with --threads).
class PhaseClock {
 public:
  PhaseClock();
  void lap(std::string_view phase);  // the time since the last lap (or the start), named

 private:
  bool on_;
  std::chrono::steady_clock::time_point last_;
};

// How many threads read `captures` (Settings::threads): 1 when any is not a regular file.
[[nodiscard]] std::size_t replay_threads(const Settings& settings, const std::vector<std::string>& captures);

}  // namespace flowaudit::session
