// `flowaudit diff BASELINE NEW`: what changed between two audits. Both sides are read from the
// JSON report (a capture is audited first and its report taken in memory), so a saved report from
// an older release and a fresh capture compare the same way. The release-manager story: "this
// release talks to two new hosts, one of them in CN".
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "report/input.h"
#include "report/output.h"
#include "rules/load/policy.h"

namespace flowaudit::report {

// A destination as the diff sees it: keyed by name (or address when unnamed), port and transport,
// so that a CDN answering from another address is not a new destination.
struct DiffDestination {
  std::string key;  // "chat.deepseek.com:443/tcp" or "47.246.2.77:40001/udp"
  std::string hostname;
  std::uint16_t port = 0;
  std::string transport;
  std::set<std::string> ips;
  std::set<std::string> countries;  // geo.country of its addresses
  std::string service_id;
  std::string service_name;
  std::string operator_name;
  std::string jurisdiction;
  int encrypted = -1;  // 1 all encrypted, 0 some plaintext, -1 unknown
  std::uint64_t bytes_out = 0;
  std::uint64_t flows = 0;
};

struct DiffFinding {
  std::string key;  // rule + target
  std::string rule;
  rules::Severity severity = rules::Severity::kInfo;
  std::string title;
  std::string message;
  std::string target;  // destination key, "dns:NAME" or "capture"
  bool waived = false;
};

struct DiffSide {
  std::string label;    // the file name given
  std::string verdict;  // of that audit
  std::vector<DiffDestination> destinations;  // sorted by key
  std::vector<DiffFinding> findings;          // sorted by key
};

// Reads one side from a flowaudit JSON report; nullopt and a one-line `error` if it is not one.
[[nodiscard]] std::optional<DiffSide> diff_side_from_report(const boost::json::value& report, std::string label,
                                                            std::string& error);

struct DestinationChange {
  const DiffDestination* before = nullptr;
  const DiffDestination* after = nullptr;
  std::vector<std::string> what;  // "country SG -> CN", "now plaintext", "new address 1.2.3.4", ...
};

struct DiffResult {
  std::vector<const DiffDestination*> added;
  std::vector<const DiffDestination*> removed;
  std::vector<DestinationChange> changed;
  std::set<std::string> services_added, services_removed;
  std::set<std::string> countries_added, countries_removed;
  std::set<std::string> jurisdictions_added, jurisdictions_removed;
  std::vector<const DiffFinding*> findings_new;   // not waived first, by severity
  std::vector<const DiffFinding*> findings_gone;
  bool failed = false;  // a new finding (not waived) at or above fail_on
  std::string fail_on;
  [[nodiscard]] bool empty() const noexcept {
    return added.empty() && removed.empty() && changed.empty() && findings_new.empty() && findings_gone.empty();
  }
};

// The sides must outlive the result (it points into them).
[[nodiscard]] DiffResult compare(const DiffSide& baseline, const DiffSide& next, std::optional<rules::Severity> fail_on,
                                 std::string fail_on_text);

// What every diff writer is given (the diff's counterpart of ReportInput); the table in
// report/report.h says which formats have a diff writer.
struct DiffInput {
  const DiffSide& baseline;
  const DiffSide& next;
  const DiffResult& diff;
};

void write_diff_text(const DiffInput& input, const ReportOptions& options, Output& out);
void write_diff_markdown(const DiffInput& input, const ReportOptions& options, Output& out);
void write_diff_json(const DiffInput& input, const ReportOptions& options, Output& out);

}  // namespace flowaudit::report
