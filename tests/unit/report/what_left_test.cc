// "What left" (report/what_left.h): the aggregation, and its rendering by every format on a small
// synthetic audit (unit/report/what_left_fixture.h): the matrix, a hostile host name escaped for the
// medium, the note when nothing was inspected, and never a finding's value.
#include "report/what_left.h"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <string>

#include "report/report.h"
#include "unit/report/what_left_fixture.h"
#include "unit/temp_dir.h"

namespace flowaudit::report {
namespace {

using test::kHostileHost;
using test::kSecretValue;
using test::what_left_audit;

std::string source_path(const std::string& relative) { return std::string(FLOWAUDIT_SOURCE_DIR) + "/" + relative; }

bool has(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_SUITE("report.what_left") {

TEST_CASE("rows per destination, sorted by name, types in the fixed order") {
  const analysis::AuditResult r = what_left_audit();
  const WhatLeft wl = what_left(r);
  CHECK(wl.inspected());
  CHECK(wl.requests == 5);
  CHECK(wl.flows == 3);
  CHECK(wl.undecrypted_flows == 0);
  REQUIRE(wl.rows.size() == 3);
  // Byte order: '1' < '<' < 'c'.
  CHECK(wl.rows[0].destination == "192.0.2.5");
  CHECK(wl.rows[1].destination == kHostileHost);
  CHECK(wl.rows[2].destination == "chat.example.cn");

  const WhatLeftRow& chat = wl.rows[2];
  CHECK(chat.service_id == "example-chat");
  CHECK(chat.operator_name == "Example AI Ltd");
  CHECK(chat.jurisdiction == "CN");
  CHECK(chat.parent_jurisdiction == "KY");
  CHECK(what_left_law(chat) == "CN, group KY");
  CHECK_FALSE(chat.plaintext);
  CHECK(chat.requests == 2);  // the third request found nothing
  CHECK(chat.findings == 5);
  REQUIRE(chat.types.size() == 3);
  CHECK(chat.types[0].type == "email");
  CHECK(chat.types[1].type == "canary");
  CHECK(chat.types[2].type == "prompt");
  const WhatLeftType& email = chat.types[0];
  CHECK(email.findings == 3);
  CHECK(email.fields == std::vector<std::string>{"body.user.email", "query.email"});
  CHECK(email.encodings == std::vector<std::string>{"url", "json"});
  CHECK(chat.find("canary")->encodings == std::vector<std::string>{"sha256(lower(trim)) as hex"});
  CHECK(chat.find("prompt")->findings == 1);
  CHECK(chat.find("prompt")->bytes == 1500);
  CHECK(chat.find("phone") == nullptr);

  const WhatLeftRow& hostile = wl.rows[1];
  CHECK(hostile.plaintext);
  CHECK(hostile.service_id.empty());
  CHECK(what_left_law(hostile).empty());
  CHECK(wl.rows[0].findings_dropped == 3);
  CHECK(wl.types == std::vector<std::string>{"email", "phone", "advertising-id", "device-id", "canary", "prompt"});
}

TEST_CASE("nothing inspected is not nothing found") {
  const WhatLeft none = what_left(what_left_audit(false));
  CHECK_FALSE(none.inspected());
  CHECK(none.rows.empty());
  CHECK(none.undecrypted_flows == 2);
  CHECK(has(std::string(what_left_nothing_inspected()), "keys"));
}

TEST_CASE("bounded: fields, encodings, long paths and rows") {
  analysis::AuditResult r;
  std::vector<analysis::inspect::Finding> many;
  many.push_back(test::finding("email", std::string(5000, 'x')));  // a hostile JSON key: cut
  for (int i = 0; i < 20; ++i) many.push_back(test::finding("email", fmt::format("body.f{}", i), fmt::format("enc{}", i)));
  std::vector<analysis::http::Exchange> list;
  list.push_back(test::exchange(std::move(many)));
  r.flows.push_back(test::flow_to(1, "192.0.2.1", 443, "a.example", "https", std::move(list)));
  // More destinations than rows: past the cap, counted.
  std::vector<std::string> names;
  names.reserve(kWhatLeftMaxRows + 10);
  for (std::size_t i = 0; i < kWhatLeftMaxRows + 10; ++i) names.push_back(fmt::format("h{:04}.example", i));
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::vector<analysis::http::Exchange> one;
    one.push_back(test::exchange({test::finding("phone", "query.tel")}));
    r.flows.push_back(test::flow_to(2 + i, "198.51.100.1", static_cast<std::uint16_t>(1000 + i), names[i], "https",
                                    std::move(one)));
  }
  r.destinations = analysis::destinations_of(r.flows);
  const WhatLeft wl = what_left(r);
  CHECK(wl.rows.size() == kWhatLeftMaxRows);
  CHECK(wl.rows_not_listed == 11);
  CHECK(wl.findings_not_listed == 11);
  const WhatLeftRow* a = nullptr;
  for (const auto& row : wl.rows) {
    if (row.destination == "a.example") a = &row;
  }
  REQUIRE(a != nullptr);
  const WhatLeftType& t = a->types.at(0);
  CHECK(t.findings == 21);
  CHECK(t.fields.size() == kWhatLeftMaxFields);
  CHECK(t.fields_not_listed == 13);
  CHECK(t.encodings.size() == kWhatLeftMaxEncodings);
  CHECK(t.encodings_not_listed == 12);
  CHECK(t.fields.front() == std::string(kWhatLeftMaxText, 'x') + "...");
  CHECK(t.fields.back() == "body.f6");
}

TEST_CASE("json: what_left rows, strings as data, no value, valid against the schema") {
  const analysis::AuditResult r = what_left_audit();
  const std::string text = render(Format::kJson, {r});
  const auto v = boost::json::parse(text);
  const auto& wl = v.at("what_left").as_object();
  CHECK(wl.at("inspected").as_bool());
  CHECK(wl.at("requests").as_int64() == 5);
  const auto& rows = wl.at("rows").as_array();
  REQUIRE(rows.size() == 3);
  // JSON keeps the data (its readers are programs): the hostile name comes back as it was sent.
  CHECK(std::string_view(rows.at(1).at("destination").as_string()) == kHostileHost);
  const auto& chat = rows.at(2).as_object();
  CHECK(chat.at("destination").as_string() == "chat.example.cn");
  CHECK(chat.at("service").at("jurisdiction").as_string() == "CN");
  CHECK(chat.at("service").at("parent_jurisdiction").as_string() == "KY");
  CHECK(rows.at(0).at("service").is_null());
  const auto& types = chat.at("types").as_array();
  CHECK(types.at(0).at("type").as_string() == "email");
  CHECK(types.at(0).at("findings").as_int64() == 3);
  CHECK(types.at(2).at("bytes").as_int64() == 1500);
  CHECK(rows.at(1).at("plaintext").as_bool());
  // The what_left section alone never holds a value.
  CHECK_FALSE(has(boost::json::serialize(wl), kSecretValue));

  const auto none = boost::json::parse(render(Format::kJson, {what_left_audit(false)}));
  CHECK_FALSE(none.at("what_left").at("inspected").as_bool());
  CHECK(none.at("what_left").at("rows").as_array().empty());

  flowaudit::test::TempDir dir;
  REQUIRE(dir.ok());
  const std::string path =
      dir.write("what-left.json", {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
  const std::string cmd = "'" + source_path("tests/tools/validate-report") + "' '" + path + "'";
  CHECK(std::system(cmd.c_str()) == 0);
}

TEST_CASE("html: the matrix, escaped, coloured by jurisdiction; the note when nothing was inspected") {
  const std::string html = render(Format::kHtml, {what_left_audit()});
  CHECK(has(html, "<h2>What left</h2>"));
  CHECK(has(html, "<table class=\"wl\">"));
  CHECK(has(html, "<th class=\"num\">advertising-id</th>"));
  CHECK(has(html, "CN, group KY"));
  CHECK(has(html, "CN China"));  // the legend names the jurisdiction
  CHECK(has(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  CHECK_FALSE(has(html, "<script>"));
  CHECK_FALSE(has(html, "\x1b"));
  CHECK(has(html, "\\x1b"));
  CHECK_FALSE(has(html, "\xe2\x80\xae"));
  CHECK_FALSE(has(html, "<b>field</b>"));
  CHECK(has(html, "&lt;b&gt;field&lt;/b&gt;"));
  CHECK(has(html, "<span class=\"plain\">plaintext</span>"));
  CHECK(has(html, "sha256(lower(trim)) as hex"));
  CHECK_FALSE(has(html, kSecretValue));

  const std::string none = render(Format::kHtml, {what_left_audit(false)});
  CHECK(has(none, "<h2>What left</h2>"));
  CHECK(has(none, "Not inspected."));
  CHECK(has(none, "--keylog"));
  CHECK_FALSE(has(none, "<table class=\"wl\">"));
}

TEST_CASE("markdown: the matrix as a table, escaped; the note when nothing was inspected") {
  const std::string md = render(Format::kMarkdown, {what_left_audit()});
  CHECK(has(md, "### What left"));
  CHECK(has(md, "| Destination | Jur | Service | email | phone | advertising-id | device-id | canary | prompt |"));
  CHECK(has(md, "| chat.example.cn | CN, group KY | Example Chat | 3 | | | | 1 | 1 (1.5 kB) |"));
  CHECK_FALSE(has(md, "<script>"));
  CHECK_FALSE(has(md, "\x1b"));
  CHECK_FALSE(has(md, "\xe2\x80\xae"));
  CHECK(has(md, "(**plaintext**)"));
  CHECK_FALSE(has(md, kSecretValue));
  const std::string none = render(Format::kMarkdown, {what_left_audit(false)});
  CHECK(has(none, "### What left"));
  CHECK(has(none, "Nothing was inspected"));
}

TEST_CASE("text: one line per destination, terminal-escaped") {
  const std::string text = render(Format::kText, {what_left_audit()});
  CHECK(has(text, "What left (5 HTTP requests in 3 flows inspected)"));
  CHECK(has(text, "email 3, canary 1, prompt 1 (1.5 kB)"));
  CHECK(has(text, "PLAINTEXT"));
  CHECK_FALSE(has(text, "\x1b"));
  CHECK_FALSE(has(text, "\xe2\x80\xae"));
  CHECK_FALSE(has(text, kSecretValue));
  const std::string none = render(Format::kText, {what_left_audit(false)});
  CHECK(has(none, "What left: Nothing was inspected"));
}

TEST_CASE("sarif: whatLeft in the run's properties") {
  const std::string sarif = render(Format::kSarif, {what_left_audit()});
  const auto v = boost::json::parse(sarif);
  const auto& wl = v.at("runs").at(0).at("properties").at("whatLeft");
  CHECK(wl.at("inspected").as_bool());
  const auto& rows = wl.at("rows").as_array();
  REQUIRE(rows.size() == 3);
  CHECK(rows.at(2).at("service").at("jurisdiction").as_string() == "CN");
  CHECK(rows.at(2).at("types").at(0).at("type").as_string() == "email");
  CHECK_FALSE(has(sarif, kSecretValue));
  const auto none = boost::json::parse(render(Format::kSarif, {what_left_audit(false)}));
  CHECK_FALSE(none.at("runs").at(0).at("properties").at("whatLeft").at("inspected").as_bool());
}

TEST_CASE("csv and junit do not change") {
  // The matrix is a summary: the CSV rows are flows and the JUnit cases policy rules.
  CHECK_FALSE(has(render(Format::kCsv, {what_left_audit()}), "what"));
  CHECK_FALSE(has(render(Format::kJunit, {what_left_audit()}), "What left"));
}

}  // TEST_SUITE
}  // namespace flowaudit::report
