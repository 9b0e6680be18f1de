// The JSON report, schema "flowaudit.report/v1" (docs/report.schema.json): the contract for CI.
#pragma once

#include <boost/json/value.hpp>
#include <cstdio>
#include <string>

#include "analysis/audit.h"

namespace flowaudit::rules::report {

inline constexpr const char* kReportSchema = "flowaudit.report/v1";

// Streams the report to `out` (pretty-printed, ends with a newline); no in-memory copy of it.
void write_json(const analysis::AuditResult& result, std::FILE* out);

std::string render_json(const analysis::AuditResult& result);
boost::json::value to_json(const analysis::AuditResult& result);  // render_json, parsed

}  // namespace flowaudit::rules::report
