// The one entry point to the report writers and the one table of formats. Every writer has the
// same shape, void(const ReportInput&, const ReportOptions&, Output&) (the diff's writers take a
// DiffInput instead); adding a format is one writer file and one row in kFormats (report.cc):
// --report parsing, the CLI's help, audit's writing and diff's list of formats all read the table.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "report/diff.h"
#include "report/input.h"
#include "report/output.h"

namespace flowaudit::report {

enum class Format { kText, kJson, kHtml, kMarkdown, kJunit, kSarif, kCsv };

// What is being reported: one audit, or the difference between two.
enum class Subject { kAudit, kDiff };

using Writer = void (*)(const ReportInput&, const ReportOptions&, Output&);
using DiffWriter = void (*)(const DiffInput&, const ReportOptions&, Output&);

struct FormatInfo {
  Format format;
  std::string_view name;       // as given to --report FORMAT[:PATH]
  std::string_view alias;      // also accepted ("markdown"), or empty
  std::string_view extension;  // of a file in this format, without the dot
  std::string_view help;       // one line for --help
  Writer write;                // never null: every format reports an audit
  DiffWriter write_diff;       // null: diff does not write this format
};

// In the order the help lists them; the first is the default (a --report-less run writes text).
[[nodiscard]] std::span<const FormatInfo> formats() noexcept;
[[nodiscard]] const FormatInfo& format_info(Format format) noexcept;
[[nodiscard]] std::string_view format_name(Format format) noexcept;
// By name or alias; nullptr when there is no such format.
[[nodiscard]] const FormatInfo* find_format(std::string_view name) noexcept;
[[nodiscard]] bool supports(Format format, Subject subject) noexcept;

// "text, json, html, md, junit, sarif, csv" (the formats of `subject`), the default marked
// "text (default)" when `mark_default`, the last two joined by `last_separator`.
[[nodiscard]] std::string format_list(Subject subject, bool mark_default = false,
                                      std::string_view last_separator = ", ");
// One line per format of `subject`, "  NAME  HELP", joined by newlines (the help's footer).
[[nodiscard]] std::string format_help(Subject subject);

void write(Format format, const ReportInput& input, const ReportOptions& options, Output& out);
// False, and nothing written, for a format without a diff writer (the CLI refuses those before
// any work: supports()).
[[nodiscard]] bool write_diff(Format format, const DiffInput& input, const ReportOptions& options, Output& out);
// The report in memory (tests, fuzz targets).
[[nodiscard]] std::string render(Format format, const ReportInput& input, const ReportOptions& options = {});

}  // namespace flowaudit::report
