// JUnit XML, the test-result format every CI system displays: a test suite per policy pack, a test
// case per enabled rule. A rule with findings at or above --fail-on fails and its failure lists the
// findings; findings below that go to the test case's system-out, so a rule passes but its
// findings are still there to read.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "analysis/audit.h"
#include "core/escape.h"
#include "report/findings_report.h"
#include "report/redact.h"

namespace flowaudit::rules::report {

// Without a policy: one suite with a single skipped test case "no policy evaluated".
void write_junit(const analysis::AuditResult& result, const PolicyOutcome* outcome, const ReportOptions& options,
                 std::FILE* out);

// XML 1.0 content or attribute text, escaped by the one escaping module (core/escape.h).
inline void append_xml_escaped(std::string& out, std::string_view text, bool attribute = true) {
  core::append_xml(out, text, attribute);
}

}  // namespace flowaudit::rules::report
