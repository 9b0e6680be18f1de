// "What left" end to end (issue 17): the labelled captures of tests/data/pii audited into every
// format; the JSON report's what_left validates against docs/report.schema.json and agrees with the
// requests' findings; the SARIF log stays valid with its whatLeft bag; a capture without keys says
// that nothing was inspected.
#include <map>

#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

using boost::json::object;

bool has(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// Findings per type over every request of the report (what the matrix must add up to).
std::map<std::string, std::int64_t> findings_by_type(const object& report) {
  std::map<std::string, std::int64_t> out;
  for (const auto& fv : report.at("flows").as_array()) {
    const auto* reqs = fv.as_object().if_contains("requests");
    if (reqs == nullptr || !reqs->is_array()) continue;
    for (const auto& rv : reqs->as_array()) {
      for (const auto& x : rv.as_object().at("findings").as_array()) ++out[std::string(x.at("type").as_string())];
    }
  }
  return out;
}

}  // namespace

TEST_SUITE("e2e") {

TEST_CASE("what left: the pii captures in every format") {
  const auto dir = temp_dir() / "what-left";
  std::filesystem::create_directories(dir);
  const std::string json = (dir / "r.json").string();
  const std::string html = (dir / "r.html").string();
  const std::string md = (dir / "r.md").string();
  const std::string text = (dir / "r.txt").string();
  const std::string sarif = (dir / "r.sarif").string();
  const auto r = run({"audit", source_path("tests/data/pii/pii-h1.pcap"), source_path("tests/data/pii/pii-h2.pcapng"),
                      "--canary-file", source_path("tests/data/pii/canaries.txt"), "--policy", "none", "--report",
                      "json:" + json, "--report", "html:" + html, "--report", "md:" + md, "--report", "text:" + text,
                      "--report", "sarif:" + sarif});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(std::system(("'" + source_path("tests/tools/validate-report") + "' '" + json + "'").c_str()) == 0);
  CHECK(std::system(("'" + source_path("tests/tools/validate-sarif") + "' '" + sarif + "' >/dev/null").c_str()) == 0);

  const auto report = boost::json::parse(read_file(json)).as_object();
  const object& wl = report.at("what_left").as_object();
  CHECK(wl.at("inspected").as_bool());
  const auto& rows = wl.at("rows").as_array();
  REQUIRE(!rows.empty());
  // Both captures talk to chat.deepseek.com: one row, plaintext because of pii-h1.
  const object* deepseek = nullptr;
  for (const auto& row : rows) {
    if (row.at("destination") == "chat.deepseek.com") deepseek = &row.as_object();
  }
  REQUIRE(deepseek != nullptr);
  CHECK(deepseek->at("plaintext").as_bool());
  // The matrix adds up to the requests' findings, type by type.
  std::map<std::string, std::int64_t> matrix;
  for (const auto& row : rows) {
    for (const auto& t : row.at("types").as_array()) matrix[std::string(t.at("type").as_string())] += get_int(t.at("findings"));
  }
  CHECK(matrix == findings_by_type(report));
  for (const char* type : {"email", "phone", "imei", "payment-card", "iban", "canary"}) {
    CAPTURE(type);
    CHECK(matrix[type] > 0);
  }

  const std::string page = read_file(html);
  CHECK(has(page, "<h2>What left</h2>"));
  CHECK(has(page, "<table class=\"wl\">"));
  CHECK(has(page, "chat.deepseek.com"));
  const std::string markdown = read_file(md);
  CHECK(has(markdown, "### What left"));
  CHECK(has(markdown, "| Destination | Jur | Service | email |"));
  CHECK(has(read_file(text), "What left ("));
  const auto log = boost::json::parse(read_file(sarif));
  CHECK(log.at("runs").at(0).at("properties").at("whatLeft").at("inspected").as_bool());
}

TEST_CASE("what left: a capture without keys says nothing was inspected") {
  const auto report = audit_json({source_path("tests/data/tls-variants.pcap")});
  const object& wl = report.at("what_left").as_object();
  CHECK_FALSE(wl.at("inspected").as_bool());
  CHECK(wl.at("rows").as_array().empty());
  CHECK(get_int(wl.at("undecrypted_flows")) > 0);
  const auto page = temp_dir() / "what-left-none.html";
  REQUIRE(run({"audit", source_path("tests/data/tls-variants.pcap"), "--policy", "none", "--report",
               "html:" + page.string()})
              .exit_code == 0);
  const std::string html = read_file(page);
  CHECK(has(html, "Not inspected."));
  CHECK_FALSE(has(html, "<table class=\"wl\">"));
}

}  // TEST_SUITE
}  // namespace flowaudit::e2e
