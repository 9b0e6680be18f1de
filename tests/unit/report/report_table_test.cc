#include "report/report.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

#include "report/report_output.h"

namespace flowaudit::report {

TEST_SUITE("report.table") {

TEST_CASE("every format has one row: a unique name and extension, a writer, a help line") {
  std::set<std::string_view> names;
  std::set<std::string_view> extensions;
  for (const auto& f : formats()) {
    CHECK(names.insert(f.name).second);
    if (!f.alias.empty()) CHECK(names.insert(f.alias).second);
    CHECK(extensions.insert(f.extension).second);
    CHECK((f.write != nullptr));
    CHECK(!f.help.empty());
    CHECK(&format_info(f.format) == &f);
    CHECK(format_name(f.format) == f.name);
    REQUIRE(find_format(f.name) != nullptr);
    CHECK(find_format(f.name)->format == f.format);
  }
  CHECK(find_format("markdown")->format == Format::kMarkdown);
  CHECK(find_format("xml") == nullptr);
  CHECK(find_format("") == nullptr);
  CHECK(formats().front().format == ReportTarget{}.format);  // the first row is the default
}

TEST_CASE("the lists the CLI prints come from the table") {
  CHECK(format_list(Subject::kAudit) == "text, json, html, md, junit, sarif, csv");
  CHECK(format_list(Subject::kAudit, true) == "text (default), json, html, md, junit, sarif, csv");
  CHECK(format_list(Subject::kDiff, false, " and ") == "text, json and md");
  CHECK(format_list(Subject::kDiff, true) == "text (default), json, md");
  CHECK(supports(Format::kMarkdown, Subject::kDiff));
  CHECK_FALSE(supports(Format::kHtml, Subject::kDiff));
  const std::string help = format_help(Subject::kDiff);
  CHECK(help.find("  json ") != std::string::npos);
  CHECK(help.find("sarif") == std::string::npos);
  CHECK(help.back() != '\n');
}

TEST_CASE("write and render reach every writer through the same signature") {
  const analysis::AuditResult empty;
  for (const auto& f : formats()) {
    CAPTURE(f.name);
    const std::string text = render(f.format, {empty});
    CHECK(!text.empty());
    std::string streamed;
    Output out(streamed);
    write(f.format, {empty}, {}, out);
    CHECK(streamed == text);
  }
}

TEST_CASE("diff writers: only the formats the table gives one") {
  const DiffSide a{"a.json", "pass", {}, {}};
  const DiffSide b{"b.json", "pass", {}, {}};
  const DiffResult diff = compare(a, b, std::nullopt, "never");
  for (const auto& f : formats()) {
    CAPTURE(f.name);
    std::string text;
    Output out(text);
    const bool has_writer = f.write_diff != nullptr;
    CHECK(write_diff(f.format, {a, b, diff}, {}, out) == has_writer);
    CHECK(text.empty() == !has_writer);
  }
}

}  // TEST_SUITE
}  // namespace flowaudit::report
