// What every audit report writer is given: the audit, the policy outcome, and the options a user
// set (report/report.h has the table of writers).
#pragma once

#include <string>

#include "analysis/audit.h"
#include "rules/eval/evaluator.h"
#include "rules/load/policy.h"

namespace flowaudit::report {

// The outcome of a policy run; reports without one say "not-evaluated".
struct PolicyOutcome {
  const rules::Policy* policy = nullptr;
  const rules::eval::Evaluation* evaluation = nullptr;
  std::string fail_on = "high";  // as given on the command line
};

struct ReportInput {
  const analysis::AuditResult& result;
  const PolicyOutcome* outcome = nullptr;  // nullptr: no policy was evaluated (--policy none)
};

struct ReportOptions {
  // --no-redact turns it off. Finding messages arrive redacted by the evaluation
  // (EvalOptions::redact); this covers the columns a writer takes from the audit (HTTP paths).
  bool redact = true;
  bool color = false;  // ANSI colours; only the text writers use it (the CLI decides: terminal, NO_COLOR)
};

}  // namespace flowaudit::report
