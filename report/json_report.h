// The JSON report, schema "flowaudit.report/v1" (docs/report.schema.json): the contract for CI.
#pragma once

#include <boost/json/value.hpp>
#include <cstdio>
#include <string>

#include "analysis/audit.h"
#include "report/findings_report.h"
#include "report/redact.h"

namespace flowaudit::rules::report {

inline constexpr const char* kReportSchema = "flowaudit.report/v1";

// Streams the report to `out` (pretty-printed, ends with a newline); no in-memory copy of it.
// `outcome`: the policy run, or null (then summary.verdict is "not-evaluated").
// `options.redact`: HTTP paths and finding messages lose their identifiers (report/redact.h).
void write_json(const analysis::AuditResult& result, std::FILE* out, const PolicyOutcome* outcome = nullptr,
                const ReportOptions& options = {});

std::string render_json(const analysis::AuditResult& result, const PolicyOutcome* outcome = nullptr,
                        const ReportOptions& options = {});
boost::json::value to_json(const analysis::AuditResult& result, const PolicyOutcome* outcome = nullptr);  // render_json, parsed

}  // namespace flowaudit::rules::report
