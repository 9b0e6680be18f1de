// Evaluates a compiled policy over an audit result: each record meets only the rules of its scope,
// findings carry their evidence and are deduplicated per rule and destination (per rule and query
// name for DNS rules), waivers are applied, and the verdict follows --fail-on. Never throws.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "analysis/audit.h"
#include "rules/load/policy.h"

namespace flowaudit::rules::eval {

// Flow ids listed per finding; the count covers all of them.
inline constexpr std::size_t kMaxEvidenceFlows = 20;
// Findings per rule; beyond this they are counted, not listed (a rule that fires on every flow of
// a million-flow capture would otherwise make a report nobody reads).
inline constexpr std::size_t kMaxFindingsPerRule = 1000;

struct Evidence {
  std::uint64_t flows = 0;  // flows (or DNS queries) behind the finding
  std::vector<std::uint64_t> flow_ids;  // at most kMaxEvidenceFlows
  std::uint64_t bytes_out = 0;
  std::uint64_t bytes_in = 0;
  core::TimestampNs first_seen = 0;
  core::TimestampNs last_seen = 0;
  std::string hostname_source;  // where the destination's name came from
  std::string dns_query;        // DNS rules: the name asked
};

struct Finding {
  const Rule* rule = nullptr;  // into the Policy, or into Evaluation::synthetic_rules
  std::string message;
  std::optional<std::size_t> destination;  // index into AuditResult::destinations
  Evidence evidence;
  const Waiver* waiver = nullptr;  // set: waived, does not count
};

struct EvalOptions {
  std::string app;  // the allowlist to apply (audit --app); empty: none
  // Findings at or above this count toward the verdict; nullopt: never fail (--fail-on never).
  std::optional<Severity> fail_on = Severity::kHigh;
  // Request targets quoted in messages ({http.path}) lose their identifiers (core/redact.h);
  // --no-redact turns it off. Done here, on the value, so that no report has to find URLs in text.
  bool redact = true;
};

struct Evaluation {
  std::vector<Finding> findings;  // severity (highest first), then rule id, then bytes sent
  std::deque<Rule> synthetic_rules;  // allowlist rules
  std::array<std::uint64_t, kSeverityCount> counts{};  // not waived, by severity
  std::uint64_t waived = 0;
  std::uint64_t dropped = 0;  // beyond kMaxFindingsPerRule
  std::size_t rules_evaluated = 0;
  bool failed = false;  // something not waived at or above fail_on
  std::vector<std::string> warnings;
  [[nodiscard]] const char* verdict() const noexcept { return failed ? "fail" : "pass"; }
};

[[nodiscard]] Evaluation evaluate(const Policy& policy, const analysis::AuditResult& result,
                                  const EvalOptions& options) noexcept;

// Whether a flow rule (or a waiver of one) reads a flow's own bytes_out or bytes_in: flows whose
// records are dropped can then be grouped only with flows of the same byte counts
// (analysis::AuditOptions::group_by_flow_bytes).
[[nodiscard]] bool flow_rules_read_flow_bytes(const Policy& policy) noexcept;

// The message of a rule rendered on a record ("unknown" for fields without a value), request
// targets redacted unless `redact` is false.
[[nodiscard]] std::string render_message(const MessageTemplate& message, const lang::Record& record,
                                         bool redact = true);

}  // namespace flowaudit::rules::eval
