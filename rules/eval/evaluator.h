// Evaluates a compiled policy over an audit result: each record meets only the rules of its scope,
// findings carry their evidence and are deduplicated per rule and destination (per rule and query
// name for DNS rules), waivers are applied, and the verdict follows --fail-on. Never throws.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
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
  // Flow rules: index into AuditResult::flows of the flow that raised it (the first one given).
  std::optional<std::size_t> flow;
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

// The whole audit: every destination, flow, DNS query and the capture of `result`, then the
// allowlist of options.app. Built on RecordEvaluator.
[[nodiscard]] Evaluation evaluate(const Policy& policy, const analysis::AuditResult& result,
                                  const EvalOptions& options) noexcept;

// Evaluation one record at a time: evaluate() gives it every record of a result; live capture
// gives it each new destination and each settled flow as they come. Across the records given,
// findings are deduplicated per rule and target (destination, DNS name, capture), waivers apply,
// evidence and findings per rule are capped, and records that repeat are evaluated once (memo).
// Indexes name the records in the findings (Finding::destination, Finding::flow).
class RecordEvaluator {
 public:
  // `capture`: the result whose capture fields every record sees (the whole audit; live capture
  // has no capture totals yet and gives an empty result). Both must outlive the evaluator.
  RecordEvaluator(const Policy& policy, const analysis::AuditResult& capture, const EvalOptions& options);
  ~RecordEvaluator();
  RecordEvaluator(const RecordEvaluator&) = delete;
  RecordEvaluator& operator=(const RecordEvaluator&) = delete;

  // The destination rules on one destination; `flow_ids` are its flows, for the evidence.
  void destination(const analysis::DestinationRow& d, std::size_t index,
                   const std::vector<std::uint64_t>& flow_ids = {});
  // The flow rules on one flow, with its destination; `folded`: the flows it stands for.
  void flow(const analysis::FlowRow& f, std::size_t index, const analysis::DestinationRow& d,
            std::size_t destination, const analysis::FoldedFlows* folded = nullptr);
  // The DNS rules on one query; `name` is the index of the first query of its name (findings are
  // per name), `server` the DNS server's destination if it is one.
  void dns(const analysis::app::DnsRecord& q, std::size_t name, const analysis::DestinationRow* server,
           std::optional<std::size_t> server_index);
  // The capture rules, once.
  void capture();
  // The allowlist of options.app over the destinations (`flow_ids` parallel to them).
  void allowlist(const std::vector<analysis::DestinationRow>& destinations,
                 const std::vector<std::vector<std::uint64_t>>& flow_ids);
  // Sorts the findings and decides the verdict (options.fail_on); the evaluator is done.
  [[nodiscard]] Evaluation finish();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether a flow rule (or a waiver of one) reads a flow's own bytes_out or bytes_in: flows whose
// records are dropped can then be grouped only with flows of the same byte counts
// (analysis::AuditOptions::group_by_flow_bytes).
[[nodiscard]] bool flow_rules_read_flow_bytes(const Policy& policy) noexcept;

// The message of a rule rendered on a record ("unknown" for fields without a value), request
// targets redacted unless `redact` is false.
[[nodiscard]] std::string render_message(const MessageTemplate& message, const lang::Record& record,
                                         bool redact = true);

}  // namespace flowaudit::rules::eval
