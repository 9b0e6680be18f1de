// The rules live capture tells about while it runs, one record at a time (rules::eval::
// RecordEvaluator): the destination rules on each new destination, the flow rules on each flow
// once it has settled. Waived findings are left out; the final report has them all, with evidence.
#pragma once

#include <string_view>
#include <vector>

#include "analysis/audit.h"
#include "analysis/enrich/enrichment.h"
#include "rules/eval/evaluator.h"
#include "rules/load/policy.h"

namespace flowaudit::session {

// The destination rules a new destination breaks, as far as it is known: one flow, its name so
// far, its enrichment; no capture totals yet (capture fields read as an empty capture's).
[[nodiscard]] std::vector<const rules::Rule*> new_destination_findings(
    const rules::Policy& policy, const analysis::NewDestination& d, const analysis::enrich::DestinationEnrichment& e,
    const rules::eval::EvalOptions& options);

struct SettledFlowFinding {
  const rules::Rule* rule = nullptr;
  const analysis::DestinationRow* destination = nullptr;  // into the settled result
  std::string_view name;  // of the first flow that broke the rule there (may differ from the destination's)
};

// The flow rules broken by flows settled together (Auditor::take_settled_flows), each flow with
// its destination as those flows make it up; one finding per rule and destination, in the order of
// the report. Enriches `settled`'s destinations (address and best name, as live capture knows them).
[[nodiscard]] std::vector<SettledFlowFinding> settled_flow_findings(const rules::Policy& policy,
                                                                    analysis::AuditResult& settled,
                                                                    analysis::enrich::Enricher& enricher,
                                                                    const rules::eval::EvalOptions& options);

}  // namespace flowaudit::session
