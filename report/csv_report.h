// The flows as CSV (RFC 4180), one row per flow, for spreadsheets and ad-hoc scripts. Cells come
// from untrusted captures: they are quoted where needed, and a cell that a spreadsheet would run as
// a formula gets a leading apostrophe.
#pragma once

#include <string>
#include <string_view>

#include "core/escape.h"
#include "report/input.h"
#include "report/output.h"

namespace flowaudit::report {

// Header row, then one row per flow (CRLF line ends, as RFC 4180 asks). HTTP paths are redacted
// unless options.redact is false.
void write_csv(const ReportInput& input, const ReportOptions& options, Output& out);

// One cell, escaped, formula-guarded and quoted by the one escaping module (core/escape.h).
using core::append_csv_cell;

}  // namespace flowaudit::report
