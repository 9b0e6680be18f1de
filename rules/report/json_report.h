// The JSON report, schema "flowaudit.report/v1" (docs/report.schema.json): the contract for CI.
#pragma once

#include <boost/json/value.hpp>
#include <string>

#include "analysis/audit.h"

namespace flowaudit::rules::report {

inline constexpr const char* kReportSchema = "flowaudit.report/v1";

boost::json::value to_json(const analysis::AuditResult& result);
std::string render_json(const analysis::AuditResult& result);  // pretty-printed, ends with a newline

}  // namespace flowaudit::rules::report
