// The JSON report, schema "flowaudit.report/v1" (docs/report.schema.json): the contract for CI.
#pragma once

#include <boost/json/value.hpp>

#include <string_view>
#include <vector>

#include "report/input.h"
#include "report/json_writer.h"
#include "report/output.h"

namespace flowaudit::report {

inline constexpr const char* kReportSchema = "flowaudit.report/v1";

// Streams the report to `out` (pretty-printed, ends with a newline); no in-memory copy of it.
// `input.outcome`: the policy run, or null (then summary.verdict is "not-evaluated").
// `options.redact`: HTTP paths lose their identifiers (core/redact.h); finding messages arrive redacted.
void write_json(const ReportInput& input, const ReportOptions& options, Output& out);

// "KEY": [ {type, field, value, encoding, detector} ... ]: what left in a request or a name (issue 17),
// values masked unless --no-redact. The report's flows[].requests[].findings and the events' data_found.
void write_inspect_findings(JsonWriter& w, std::string_view key, const std::vector<analysis::inspect::Finding>& findings);

// The report, parsed (diff reads an audit it ran itself through it; tests).
boost::json::value to_json(const ReportInput& input, const ReportOptions& options = {});

}  // namespace flowaudit::report
