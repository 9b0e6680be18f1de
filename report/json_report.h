// The JSON report, schema "flowaudit.report/v1" (docs/report.schema.json): the contract for CI.
#pragma once

#include <boost/json/value.hpp>

#include <string_view>
#include <vector>

#include "analysis/inspect/finding.h"
#include "report/input.h"
#include "report/json_writer.h"
#include "report/output.h"

namespace flowaudit::report {

inline constexpr const char* kReportSchema = "flowaudit.report/v1";

// Streams the report to `out` (pretty-printed, ends with a newline); no in-memory copy of it.
// `input.outcome`: the policy run, or null (then summary.verdict is "not-evaluated").
// `options.redact`: HTTP paths lose their identifiers (core/redact.h); finding messages arrive redacted.
void write_json(const ReportInput& input, const ReportOptions& options, Output& out);

// [ {type, field, value, encoding, detector} ... ]: what left in a request or a name (issue 17),
// values masked unless --no-redact. The report's flows[].requests[].findings and the events' data_found;
// a template for the report's JsonWriter and the events' EventWriter.
template <typename Writer>
void write_inspect_findings(Writer& w, const std::vector<analysis::inspect::Finding>& findings) {
  w.begin_array();
  for (const auto& x : findings) {
    w.begin_object();
    w.field("type", x.type);
    w.field("field", x.field);
    w.field("value", x.value);
    w.string_or_null("encoding", x.encoding);
    w.field("detector", x.detector);
    w.end_object();
  }
  w.end_array();
}

// The report, parsed (diff reads an audit it ran itself through it; tests).
boost::json::value to_json(const ReportInput& input, const ReportOptions& options = {});

}  // namespace flowaudit::report
