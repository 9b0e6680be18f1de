// What the reports say about the policy: which files and rules ran, the findings with their
// evidence and references, waivers, and the verdict. Shared by the JSON and text writers.
#pragma once

#include <string>
#include <string_view>

#include "analysis/audit.h"
#include "report/input.h"
#include "report/json_writer.h"
#include "rules/eval/evaluator.h"
#include "rules/load/policy.h"

namespace flowaudit::report {

// summary.verdict and summary.fail_on (first in the summary), summary.findings (counts by severity,
// written last: flat readers of the summary's leading numbers stop at the first nested object).
void write_verdict_json(JsonWriter& w, const PolicyOutcome* outcome);
void write_finding_counts_json(JsonWriter& w, const PolicyOutcome* outcome);
// The top-level "policy" object (null without a policy) and "findings" array.
void write_policy_json(JsonWriter& w, const analysis::AuditResult& r, const PolicyOutcome* outcome);
// Messages are written as the evaluation rendered them (redacted there, EvalOptions::redact).
void write_findings_json(JsonWriter& w, const analysis::AuditResult& r, const PolicyOutcome* outcome);

// The "Findings" section of the terminal report (empty without a policy); `color`: ANSI colours for
// severities and the verdict.
// Messages carry wire strings: they are escaped for a terminal (core/escape.h).
std::string render_findings_text(const analysis::AuditResult& r, const PolicyOutcome* outcome, bool color = false);

}  // namespace flowaudit::report
