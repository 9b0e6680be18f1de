// The HTML report: one self-contained file for a person (a privacy officer, a reviewer) rather than
// a program. The verdict first, then the pictures (bytes by server country and by operator
// jurisdiction, a world map of destinations), the findings by severity with their evidence, the
// destinations, what could not be seen, and the databases' attribution.
//
// The file fetches nothing: inline CSS and SVG only, and a Content-Security-Policy that forbids any
// load or script, so opening a report cannot tell anyone that it was opened. Every string that came
// from a capture, a database or a policy is HTML-escaped: captures are untrusted (a TLS SNI can be
// "<script>...").
#pragma once

#include <cstddef>

#include "report/input.h"
#include "report/output.h"

namespace flowaudit::report {

// Rows of the destinations table (by bytes sent); beyond it the report says how many were left out.
inline constexpr std::size_t kHtmlMaxDestinations = 500;
inline constexpr std::size_t kHtmlMaxRequests = 1000;  // rows of the requests tables together

// Streams the report to `out`. `input.outcome` null: no policy ran (verdict "not evaluated").
// `options.redact`: HTTP paths are shown redacted (finding messages come redacted from the evaluation).
void write_html(const ReportInput& input, const ReportOptions& options, Output& out);

}  // namespace flowaudit::report
