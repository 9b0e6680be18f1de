#include "report/report.h"

#include <algorithm>
#include <iterator>
#include <vector>

#include <fmt/format.h>

#include "report/csv_report.h"
#include "report/html_report.h"
#include "report/json_report.h"
#include "report/junit_report.h"
#include "report/markdown_report.h"
#include "report/sarif_report.h"
#include "report/text_report.h"

namespace flowaudit::report {
namespace {

constexpr FormatInfo kFormats[] = {
    {Format::kText, "text", "", "txt", "for a terminal (colours: --color)", write_text,
     write_diff_text},
    {Format::kJson, "json", "", "json", "everything, machine-readable (an audit's schema: docs/report.schema.json)",
     write_json, write_diff_json},
    {Format::kHtml, "html", "", "html", "one self-contained page with a map, to read and archive", write_html, nullptr},
    {Format::kMarkdown, "md", "markdown", "md", "summary for a pull request or chat comment", write_markdown,
     write_diff_markdown},
    {Format::kJunit, "junit", "", "xml", "findings as JUnit test cases for CI", write_junit, nullptr},
    {Format::kSarif, "sarif", "", "sarif", "findings as SARIF 2.1.0 for code scanning", write_sarif, nullptr},
    {Format::kCsv, "csv", "", "csv", "one row per flow, for spreadsheets", write_csv, nullptr},
};

// A row per enumerator, in enumerator order: format_info indexes the table. (That every row has a
// writer is checked by tests/unit/report/report_table_test.cc: with the sanitizers GCC 12 does not
// take a function pointer's comparison with nullptr as a constant expression.)
constexpr bool rows_in_order() {
  for (std::size_t i = 0; i < std::size(kFormats); ++i) {
    if (static_cast<std::size_t>(kFormats[i].format) != i) return false;
  }
  return std::size(kFormats) == static_cast<std::size_t>(Format::kCsv) + 1;
}
static_assert(rows_in_order(), "kFormats: one row per Format, in enumerator order");

}  // namespace

std::span<const FormatInfo> formats() noexcept { return kFormats; }

const FormatInfo& format_info(Format format) noexcept { return kFormats[static_cast<std::size_t>(format)]; }

std::string_view format_name(Format format) noexcept { return format_info(format).name; }

const FormatInfo* find_format(std::string_view name) noexcept {
  for (const auto& f : kFormats) {
    if (f.name == name || (!f.alias.empty() && f.alias == name)) return &f;
  }
  return nullptr;
}

bool supports(Format format, Subject subject) noexcept {
  const auto& f = format_info(format);
  return subject == Subject::kAudit ? f.write != nullptr : f.write_diff != nullptr;
}

std::string format_list(Subject subject, bool mark_default, std::string_view last_separator) {
  std::vector<std::string> names;
  for (const auto& f : kFormats) {
    if (!supports(f.format, subject)) continue;
    names.push_back(std::string(f.name) + (mark_default && names.empty() ? " (default)" : ""));
  }
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? last_separator : std::string_view(", ");
    out += names[i];
  }
  return out;
}

std::string format_help(Subject subject) {
  std::size_t width = 0;
  for (const auto& f : kFormats) width = std::max(width, f.name.size());
  std::string out;
  for (const auto& f : kFormats) {
    if (!supports(f.format, subject)) continue;
    if (!out.empty()) out += '\n';
    out += fmt::format("  {:<{}}  {}", f.name, width, f.help);
  }
  return out;
}

void write(Format format, const ReportInput& input, const ReportOptions& options, Output& out) {
  format_info(format).write(input, options, out);
}

bool write_diff(Format format, const DiffInput& input, const ReportOptions& options, Output& out) {
  const DiffWriter writer = format_info(format).write_diff;
  if (writer == nullptr) return false;
  writer(input, options, out);
  return true;
}

std::string render(Format format, const ReportInput& input, const ReportOptions& options) {
  std::string text;
  Output out(text);
  write(format, input, options, out);
  return text;
}

}  // namespace flowaudit::report
