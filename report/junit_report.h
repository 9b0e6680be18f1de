// JUnit XML, the test-result format every CI system displays: a test suite per policy pack, a test
// case per enabled rule. A rule with findings at or above --fail-on fails and its failure lists the
// findings; findings below that go to the test case's system-out, so a rule passes but its
// findings are still there to read.
#pragma once

#include <string>
#include <string_view>

#include "core/escape.h"
#include "report/input.h"
#include "report/output.h"

namespace flowaudit::report {

// Without a policy: one suite with a single skipped test case "no policy evaluated".
void write_junit(const ReportInput& input, const ReportOptions& options, Output& out);

// XML 1.0 content or attribute text, escaped by the one escaping module (core/escape.h).
inline void append_xml_escaped(std::string& out, std::string_view text, bool attribute = true) {
  core::append_xml(out, text, attribute);
}

}  // namespace flowaudit::report
