// The Markdown report (GitHub-flavoured), sized for a pull-request comment: the verdict, the
// findings, the top destinations, what could not be seen, and the databases' attribution. Every
// cell is escaped: names and messages come from untrusted captures and must not become links,
// HTML, mentions or extra table columns.
#pragma once

#include <string>
#include <string_view>

#include "core/escape.h"
#include "report/input.h"
#include "report/output.h"

namespace flowaudit::report {

inline constexpr std::size_t kMarkdownDestinations = 25;
// Rows of the findings table; the rest are counted. GitHub cuts a comment at 65536 characters.
inline constexpr std::size_t kMarkdownFindings = 100;

// Deterministic for a given result: no clock, no version, no absolute path that the result does
// not carry itself. `input.outcome` null: verdict "not evaluated", no findings section.
void write_markdown(const ReportInput& input, const ReportOptions& options, Output& out);

// Text made safe for a table cell or a line (core/escape.h, shared with the diff).
using core::escape_markdown;

}  // namespace flowaudit::report
