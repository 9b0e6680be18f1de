// The JSON report, schema "flowaudit.report/v1" (docs/report.schema.json): the contract for CI.
#pragma once

#include <boost/json/value.hpp>

#include "report/input.h"
#include "report/output.h"

namespace flowaudit::report {

inline constexpr const char* kReportSchema = "flowaudit.report/v1";

// Streams the report to `out` (pretty-printed, ends with a newline); no in-memory copy of it.
// `input.outcome`: the policy run, or null (then summary.verdict is "not-evaluated").
// `options.redact`: HTTP paths lose their identifiers (core/redact.h); finding messages arrive redacted.
void write_json(const ReportInput& input, const ReportOptions& options, Output& out);

// The report, parsed (diff reads an audit it ran itself through it; tests).
boost::json::value to_json(const ReportInput& input, const ReportOptions& options = {});

}  // namespace flowaudit::report
