// flowaudit diff end to end, and the report options shared with audit (several reports at once,
// colour, redaction).
#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

using boost::json::object;

std::string data(const std::string& name) { return source_path("tests/data/" + name); }

std::vector<std::string> fixture_dbs() {
  return {"--geoip-db", source_path("tests/data/geo/fixture-country.mmdb"), "--geoip-db",
          source_path("tests/data/geo/fixture-asn.mmdb")};
}

std::string report_of(const std::vector<std::string>& captures, const std::string& name) {
  const auto path = (temp_dir() / name).string();
  std::vector<std::string> args{"audit"};
  args.insert(args.end(), captures.begin(), captures.end());
  for (const auto& a : fixture_dbs()) args.push_back(a);
  args.push_back("--report");
  args.push_back("json:" + path);
  const auto r = run(args);
  INFO(r.err);
  REQUIRE((r.exit_code == 0 || r.exit_code == 1));
  return path;
}

RunResult diff(std::vector<std::string> extra) {
  std::vector<std::string> args{"diff"};
  args.insert(args.end(), extra.begin(), extra.end());
  for (const auto& a : fixture_dbs()) args.push_back(a);
  return run(args);
}

}  // namespace

TEST_SUITE("e2e") {

TEST_CASE("diff of two reports: one new host (a Chinese operator's telemetry over plain HTTP) fails the build") {
  const auto before = report_of({data("tls13-sni-alpn.pcap")}, "diff-before.json");
  const auto after = report_of({data("tls13-sni-alpn.pcap"), data("http-post.pcap")}, "diff-after.json");
  auto r = diff({before, after});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("New destinations (1)") != std::string::npos);
  CHECK(r.out.find("+ gator.volces.com:80/tcp") != std::string::npos);
  CHECK(r.out.find("Destinations gone") == std::string::npos);
  CHECK(r.out.find("Server countries: new SG") != std::string::npos);
  CHECK(r.out.find("plaintext.tracker-http") != std::string::npos);
  CHECK(r.out.find("Diff verdict: FAIL") != std::string::npos);

  r = diff({before, after, "--report", "json"});
  REQUIRE(r.exit_code == 1);
  const auto j = boost::json::parse(r.out).as_object();
  CHECK(j.at("schema").as_string() == "flowaudit.diff/v1");
  CHECK(j.at("verdict").as_string() == "fail");
  const auto& added = j.at("destinations").as_object().at("added").as_array();
  REQUIRE(added.size() == 1);
  CHECK(added[0].as_object().at("key").as_string() == "gator.volces.com:80/tcp");
  CHECK(added[0].as_object().at("jurisdiction").as_string() == "CN");
  CHECK(added[0].as_object().at("encrypted").as_bool() == false);
  CHECK(j.at("destinations").as_object().at("removed").as_array().empty());
  CHECK_FALSE(j.at("findings").as_object().at("new").as_array().empty());

  // The other way round, the host is gone and nothing new fails.
  r = diff({after, before});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("- gator.volces.com:80/tcp") != std::string::npos);
  CHECK(r.out.find("Findings gone") != std::string::npos);

  // --fail-on never: report, never fail.
  CHECK(diff({before, after, "--fail-on", "never"}).exit_code == 0);

  // Markdown for a pull-request comment.
  r = diff({before, after, "--report", "md"});
  CHECK(r.out.starts_with("### flowaudit diff: FAIL"));
  CHECK(r.out.find("| new | gator.volces.com:80/tcp | SG |") != std::string::npos);
}

TEST_CASE("diff of two captures of the session that differ by one host: the new one is in CN") {
  const auto r = diff({data("deepseek-session.pcapng"), data("deepseek-session-v2.pcapng")});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("New destinations (1)\n  + log.mmstat.com:443/tcp  (server CN; Alibaba") != std::string::npos);
  CHECK(r.out.find("Destinations gone") == std::string::npos);
  CHECK(r.out.find("Changed destinations") == std::string::npos);
  CHECK(r.out.find("Server countries: new CN") != std::string::npos);
  CHECK(r.out.find("china-transfer.server-country") != std::string::npos);
  CHECK(r.out.find("Findings gone") == std::string::npos);
}

TEST_CASE("every report format in one run, each file readable by its owner only") {
  const auto dir = temp_dir() / "all-formats";
  std::filesystem::create_directories(dir);
  std::vector<std::string> args{"audit", source_path("examples/deepseek-session.pcapng")};
  for (const auto& a : fixture_dbs()) args.push_back(a);
  for (const char* f : {"text", "json", "html", "md", "junit", "sarif", "csv"}) {
    args.push_back("--report");
    args.push_back(std::string(f) + ":" + (dir / (std::string("report.") + f)).string());
  }
  const auto r = run(args);
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  for (const char* f : {"text", "json", "html", "md", "junit", "sarif", "csv"}) {
    const auto path = dir / (std::string("report.") + f);
    INFO(path);
    REQUIRE(std::filesystem::exists(path));
    CHECK(std::filesystem::file_size(path) > 100);
    const auto perms = std::filesystem::status(path).permissions();
    CHECK((perms & std::filesystem::perms::all) == (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  }
  CHECK(read_file(dir / "report.text").find("Verdict: FAIL") != std::string::npos);
  CHECK(read_file(dir / "report.md").find("china-transfer.operator") != std::string::npos);
  CHECK(read_file(dir / "report.csv").find("chat.deepseek.com") != std::string::npos);
  CHECK(read_file(dir / "report.html").find("<!DOCTYPE html>") != std::string::npos);
  const std::string tools = source_path("tests/tools/");
  CHECK(std::system(("'" + tools + "validate-report' '" + (dir / "report.json").string() + "' >/dev/null").c_str()) == 0);
  CHECK(std::system(("'" + tools + "validate-sarif' --multitool '" + (dir / "report.sarif").string() + "' >/dev/null").c_str()) == 0);
  CHECK(std::system(("'" + tools + "validate-junit' '" + (dir / "report.junit").string() + "' >/dev/null").c_str()) == 0);
}

TEST_CASE("diff of a capture with itself, or with its own report, is empty and passes") {
  auto r = diff({source_path("examples/deepseek-session.pcapng"), source_path("examples/deepseek-session.pcapng")});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("No change in destinations or findings.") != std::string::npos);
  const auto report = report_of({source_path("examples/deepseek-session.pcapng")}, "diff-self.json");
  r = diff({report, source_path("examples/deepseek-session.pcapng")});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("No change in destinations or findings.") != std::string::npos);
}

TEST_CASE("diff: bad inputs are usage errors naming the file") {
  const auto bogus = temp_dir() / "not-a-report.json";
  std::ofstream(bogus) << "{\"hello\": 1}";
  auto r = diff({bogus.string(), data("http-post.pcap")});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("not-a-report.json: not a flowaudit report") != std::string::npos);
  const auto broken = temp_dir() / "broken.json";
  std::ofstream(broken) << "{\"schema\": ";
  r = diff({broken.string(), data("http-post.pcap")});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("broken.json: not valid JSON") != std::string::npos);
  r = diff({"/nonexistent.pcap", data("http-post.pcap")});
  CHECK(r.exit_code == 2);
  r = diff({data("http-post.pcap"), data("http-post.pcap"), "--report", "sarif"});
  CHECK(r.exit_code == 2);
}

TEST_CASE("diff: a UTF-8 BOM is skipped; arrays that are not arrays are errors naming the file") {
  const std::string report = read_file(report_of({data("http-post.pcap")}, "bom-source.json"));
  const auto bom = temp_dir() / "with-bom.json";
  std::ofstream(bom, std::ios::binary) << "\xEF\xBB\xBF" << report;
  auto r = diff({bom.string(), data("http-post.pcap"), "--report", "json"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("with-bom.json") == std::string::npos);
  for (const std::string key : {"destinations", "findings"}) {
    INFO(key);
    auto value = boost::json::parse(report).as_object();
    value[key] = "oops";
    const auto broken = temp_dir() / ("not-array-" + key + ".json");
    std::ofstream(broken) << boost::json::serialize(value);
    r = diff({broken.string(), data("http-post.pcap")});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("not-array-" + key + ".json: \"" + key + "\" is of another type, not an array") !=
          std::string::npos);
    CHECK(r.out.find("gone") == std::string::npos);
    value[key] = boost::json::array{1};
    std::ofstream(broken) << boost::json::serialize(value);
    r = diff({broken.string(), data("http-post.pcap")});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(key + "[0] is not an object") != std::string::npos);
  }
}

TEST_CASE("report options: one report on stdout at most, colour only when asked or on a terminal") {
  auto r = run({"audit", data("http-post.pcap"), "--report", "json", "--report", "text"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("only one report can go to standard output") != std::string::npos);
  const auto json_path = (temp_dir() / "both.json").string();
  r = run({"audit", data("http-post.pcap"), "--report", "text", "--report", "json:" + json_path});
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("Verdict: FAIL") != std::string::npos);
  CHECK(boost::json::parse(read_file(json_path)).is_object());
  CHECK(r.out.find("\033[") == std::string::npos);  // not a terminal: no colour
  r = run({"audit", data("http-post.pcap"), "--color", "always"});
  CHECK(r.out.find("\033[1;31mFAIL\033[0m") != std::string::npos);
  CHECK(r.out.find("\033[31mHIGH") != std::string::npos);
  r = run({"audit", data("http-post.pcap"), "--color", "sometimes"});
  CHECK(r.exit_code == 2);
}

}  // TEST_SUITE
}  // namespace flowaudit::e2e
