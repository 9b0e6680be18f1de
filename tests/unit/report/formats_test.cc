// The SARIF, JUnit, Markdown and CSV reports on two committed captures (the DeepSeek session and the
// trackers mix) with the fixture geo databases, the built-in catalog and the default policy.
//
// Markdown and CSV are compared byte for byte with tests/data/golden/. After an intended change to
// either format, regenerate them with
//   FLOWAUDIT_UPDATE_GOLDEN=1 build/tests/flowaudit_tests -ts='report.formats'
// and review the diff before committing it (tests/data/golden/README.md says the same).
// SARIF and JUnit are checked by tests/tools/validate-sarif and validate-junit (standard parsers and
// the formats' required structure) and by a few values read back here.
#include <doctest/doctest.h>

#include "core/escape.h"

#include <boost/json/parse.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "analysis/audit.h"
#include "capture/pcap_file_source.h"
#include "core/ip_address.h"
#include "rules/eval/evaluator.h"
#include "rules/load/loader.h"
#include "unit/session/audited.h"
#include "report/junit_report.h"
#include "report/report.h"
#include "report/sarif_report.h"
#include "unit/temp_dir.h"

namespace flowaudit::report {
namespace {

namespace eval = rules::eval;
namespace load = rules::load;
using core::append_csv_cell;
using core::escape_markdown;
using rules::Policy;
using rules::Rule;
using rules::Severity;

std::string source_path(const std::string& relative) { return std::string(FLOWAUDIT_SOURCE_DIR) + "/" + relative; }

const std::vector<std::string> kCaptures{"tests/data/deepseek-session.pcapng", "tests/data/trackers-mix.pcap"};

analysis::AuditResult audit() {
  std::vector<std::string> paths;
  for (const auto& f : kCaptures) paths.push_back(source_path(f));
  auto result = test::audited(paths);
  // As a user in the repository would name them: the golden files must not depend on the checkout.
  REQUIRE(result.inputs.size() == std::size(kCaptures));
  for (std::size_t i = 0; i < result.inputs.size(); ++i) result.inputs[i].path = kCaptures[i];
  // Warnings name the inputs too (a clock discontinuity between the two files).
  const std::string prefix = source_path("");
  for (auto& w : result.warnings) {
    for (auto at = w.find(prefix); at != std::string::npos; at = w.find(prefix, at)) w.erase(at, prefix.size());
  }
  // Database paths are absolute here; reports print only their attribution, but keep them stable.
  for (auto& db : result.geo_databases) db.path = std::filesystem::path(db.path).filename().string();
  return result;
}

const analysis::AuditResult& result() {
  static const analysis::AuditResult r = audit();
  return r;
}

load::LoadOptions load_options() {
  load::LoadOptions options;
  options.builtin_dir = source_path("data/policies");
  options.today = 20260101;  // waivers' expiry judged on a fixed day
  return options;
}

// The default policy evaluated with a fixed --fail-on.
struct Evaluated {
  load::LoadResult loaded;
  eval::Evaluation evaluation;
  PolicyOutcome outcome;
  explicit Evaluated(const std::string& policy_text = {}, const analysis::AuditResult& r = result(),
                     bool redact = true) {
    loaded = policy_text.empty() ? load::load_policy({"default"}, load_options())
                                 : load::load_policy_text(policy_text, "test-waivers", load_options());
    REQUIRE_MESSAGE(loaded.ok(), (loaded.errors.empty() ? "" : loaded.errors.front()));
    eval::EvalOptions options;
    options.fail_on = Severity::kHigh;
    options.redact = redact;
    evaluation = eval::evaluate(loaded.policy, r, options);
    outcome.policy = &loaded.policy;
    outcome.evaluation = &evaluation;
    outcome.fail_on = "high";
  }
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Compares with tests/data/golden/NAME, or rewrites it when FLOWAUDIT_UPDATE_GOLDEN=1.
void check_golden(const std::string& name, const std::string& actual) {
  const std::string path = source_path("tests/data/golden/" + name);
  if (const char* update = std::getenv("FLOWAUDIT_UPDATE_GOLDEN"); update != nullptr && std::string(update) == "1") {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << actual;
    MESSAGE("rewrote " << path);
    return;
  }
  const std::string expected = read_file(path);
  INFO("golden file " << path << " differs; FLOWAUDIT_UPDATE_GOLDEN=1 rewrites it");
  CHECK(actual == expected);
}

// Runs a validator script of tests/tools on `texts`, each written to a temporary file (one run of
// the script for all: validate-sarif fetches the schema once per run).
int validate(const std::string& tool, const std::vector<std::string>& texts, const std::string& options = {}) {
  test::TempDir dir;
  REQUIRE(dir.ok());
  std::string cmd = "'" + source_path("tests/tools/" + tool) + "' " + options;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const std::string& t = texts[i];
    cmd += " '" + dir.write(fmt::format("report-{}", i), {reinterpret_cast<const std::uint8_t*>(t.data()), t.size()}) + "'";
  }
  // FLOWAUDIT_KEEP_REPORTS=DIR keeps a copy of what the validators read, to look at by hand.
  if (const char* keep = std::getenv("FLOWAUDIT_KEEP_REPORTS"); keep != nullptr && *keep != '\0') {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path(), ec)) {
      std::filesystem::copy_file(entry.path(), std::filesystem::path(keep) / (tool + "-" + entry.path().filename().string()),
                                 std::filesystem::copy_options::overwrite_existing, ec);
    }
  }
  return std::system(cmd.c_str());
}

// The default policy with every tracker finding waived.
const char* const kWaiverPolicy = R"(policy:
  name: test-waivers
include: [default]
waivers:
  - rule: 'trackers.*'
    reason: Accepted by the DPO, ticket PRIV-123
    expires: 2099-12-31
)";

std::size_t enabled_rules(const Policy& p) {
  std::size_t n = 0;
  for (const auto& rule : p.rules) n += rule.enabled ? 1 : 0;
  return n;
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t i = text.find(what); i != std::string::npos; i = text.find(what, i + what.size())) ++n;
  return n;
}

// A result whose first HTTP flow carries an identifier in its query string, for the redaction tests.
analysis::AuditResult with_identifier_in_query() {
  analysis::AuditResult r = audit();
  for (auto& f : r.flows) {
    if (f.details && f.details->http) {
      f.details->http->path = "/service/2/device_register/?device_id=abc123&aid=1";
      break;
    }
  }
  return r;
}

// The packets of a capture file as (offset of the data, captured length), found by walking its
// records here rather than through the readers: classic pcap (little-endian, 16-byte record
// headers) or pcapng (little-endian; Enhanced Packet Blocks, data 28 bytes into the block).
struct FilePacket {
  std::size_t offset;
  std::size_t length;
};

std::uint32_t le32(const std::string& b, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v |= std::uint32_t(static_cast<std::uint8_t>(b[at + i])) << (8 * i);
  return v;
}

std::vector<FilePacket> walk_capture(const std::string& bytes) {
  std::vector<FilePacket> out;
  if (le32(bytes, 0) == 0x0A0D0D0A) {
    for (std::size_t at = 0; at + 12 <= bytes.size(); at += le32(bytes, at + 4)) {
      if (le32(bytes, at + 4) < 12) break;
      if (le32(bytes, at) == 6) out.push_back({at + 28, le32(bytes, at + 20)});
    }
  } else {
    REQUIRE(le32(bytes, 0) == 0xA1B2C3D4);
    for (std::size_t at = 24; at + 16 <= bytes.size(); at += 16 + le32(bytes, at + 8)) {
      out.push_back({at + 16, le32(bytes, at + 8)});
    }
  }
  return out;
}

// The transport endpoints of an Ethernet frame carrying IPv4 or IPv6 and TCP or UDP, in the order
// sent; nullopt for anything else.
std::optional<analysis::flow::FlowKey> frame_key(std::string_view f) {
  auto u8 = [&](std::size_t i) { return static_cast<std::uint8_t>(f[i]); };
  if (f.size() < 14) return std::nullopt;
  const unsigned ethertype = unsigned(u8(12)) << 8 | u8(13);
  analysis::flow::FlowKey k;
  std::size_t l4 = 0;
  if (ethertype == 0x0800 && f.size() >= 34) {
    std::array<std::uint8_t, 4> a{}, b{};
    for (std::size_t i = 0; i < 4; ++i) {
      a[i] = u8(26 + i);
      b[i] = u8(30 + i);
    }
    k.addr[0] = core::IpAddress::v4(a);
    k.addr[1] = core::IpAddress::v4(b);
    k.protocol = u8(23);
    l4 = 14 + std::size_t(u8(14) & 0x0F) * 4;
  } else if (ethertype == 0x86DD && f.size() >= 54) {
    std::array<std::uint8_t, 16> a{}, b{};
    for (std::size_t i = 0; i < 16; ++i) {
      a[i] = u8(22 + i);
      b[i] = u8(38 + i);
    }
    k.addr[0] = core::IpAddress::v6(a);
    k.addr[1] = core::IpAddress::v6(b);
    k.protocol = u8(20);
    l4 = 54;
  } else {
    return std::nullopt;
  }
  if ((k.protocol != 6 && k.protocol != 17) || f.size() < l4 + 4) return std::nullopt;
  k.port[0] = static_cast<std::uint16_t>(u8(l4) << 8 | u8(l4 + 1));
  k.port[1] = static_cast<std::uint16_t>(u8(l4 + 2) << 8 | u8(l4 + 3));
  return k;
}

bool same_endpoints(const analysis::flow::FlowKey& a, const analysis::flow::FlowKey& b) {
  if (a.protocol != b.protocol) return false;
  const bool straight =
      a.addr[0] == b.addr[0] && a.port[0] == b.port[0] && a.addr[1] == b.addr[1] && a.port[1] == b.port[1];
  const bool crossed =
      a.addr[0] == b.addr[1] && a.port[0] == b.port[1] && a.addr[1] == b.addr[0] && a.port[1] == b.port[0];
  return straight || crossed;
}

const boost::json::object& location_of(const boost::json::value& result) {
  return result.as_object().at("locations").as_array().at(0).as_object();
}

}  // namespace

TEST_SUITE("report.formats") {

TEST_CASE("csv report of the flows matches the golden file") {
  const auto& r = result();
  const std::string csv = render(Format::kCsv, {r}, ReportOptions{});
  check_golden("deepseek-trackers.csv", csv);
  // Header plus one CRLF-terminated row per flow (no cell of these captures holds a line break).
  std::size_t rows = 0;
  for (std::size_t i = csv.find("\r\n"); i != std::string::npos; i = csv.find("\r\n", i + 2)) ++rows;
  CHECK(rows == r.flows.size() + 1);
  CHECK(csv.rfind("id,first_seen,last_seen,transport,", 0) == 0);
}

TEST_CASE("csv cells are quoted per RFC 4180 and guarded against formulas") {
  auto cell = [](std::string_view v) {
    std::string out;
    append_csv_cell(out, v);
    return out;
  };
  CHECK(cell("plain.example.com") == "plain.example.com");
  CHECK(cell("") == "");
  CHECK(cell("a,b") == "\"a,b\"");
  CHECK(cell("say \"hi\"") == "\"say \"\"hi\"\"\"");
  // Line breaks and other controls are made visible (core/escape.h): a cell is one line.
  CHECK(cell("two\nlines") == "two\\x0alines");
  CHECK(cell("a\x1b]0;x\x07,b") == "\"a\\x1b]0;x\\x07,b\"");
  CHECK(cell("\xe2\x80\xaegnp.exe") == "\\u202egnp.exe");
  CHECK(cell("=HYPERLINK(\"http://evil/\",\"x\")") == "\"'=HYPERLINK(\"\"http://evil/\"\",\"\"x\"\")\"");
  CHECK(cell("+1") == "'+1");
  CHECK(cell("-2+3") == "'-2+3");
  CHECK(cell("@SUM(A1)") == "'@SUM(A1)");
  CHECK(cell("\tcmd") == "\\x09cmd");
  CHECK(cell("bad\xff") == "bad\\xff");
}

TEST_CASE("csv: a hostile HTTP path is redacted, quoted and guarded") {
  analysis::AuditResult r = audit();
  for (auto& f : r.flows) {
    if (f.details && f.details->http) {
      f.details->http->path = "=cmd|' /C calc'!A0,\"x\"?device_id=abc123";
      break;
    }
  }
  // Redacted, the segment with '=' and spaces is gone; kept (--no-redact), it is guarded and quoted.
  const std::string csv = render(Format::kCsv, {r}, ReportOptions{});
  CHECK(csv.find(",'=REDACTED/REDACTED?device_id=REDACTED,") != std::string::npos);
  const std::string kept = render(Format::kCsv, {r}, ReportOptions{false});
  CHECK(kept.find(",\"'=cmd|' /C calc'!A0,\"\"x\"\"?device_id=abc123\",") != std::string::npos);
}

TEST_CASE("csv, markdown and sarif redact identifiers in request targets unless told not to") {
  analysis::AuditResult r = with_identifier_in_query();
  for (const bool redact : {true, false}) {
    INFO("redact " << redact);
    // The plaintext rules quote {http.path}: the evaluation redacts it (or not), the reports show it.
    Evaluated e({}, r, redact);
    REQUIRE(!e.evaluation.findings.empty());
    const ReportOptions options{redact};
    const std::string csv = render(Format::kCsv, {r}, options);
    const std::string md = render(Format::kMarkdown, {r, &e.outcome}, options);
    const std::string sarif = render(Format::kSarif, {r, &e.outcome}, options);
    for (const std::string* text : {&csv, &md, &sarif}) {
      INFO("report " << std::string(text == &csv ? "csv" : text == &md ? "md" : "sarif"));
      // Markdown escapes the underscore.
      const std::string redacted = text == &md ? "device\\_id=REDACTED" : "device_id=REDACTED";
      CHECK((text->find(redacted) != std::string::npos) == redact);
      CHECK((text->find("abc123") == std::string::npos) == redact);
    }
  }
}

TEST_CASE("markdown report matches the golden files") {
  const auto& r = result();
  const Evaluated e;
  check_golden("deepseek-trackers.md",
               render(Format::kMarkdown, {r, &e.outcome}, ReportOptions{}));
  check_golden("deepseek-trackers-no-policy.md",
               render(Format::kMarkdown, {r, nullptr}, ReportOptions{}));
}

TEST_CASE("markdown escapes what would break a table or make markup") {
  CHECK(escape_markdown("a|b") == "a\\|b");
  CHECK(escape_markdown("x\ny\rz") == "x\\x0ay\\x0dz");
  CHECK(escape_markdown("<script>") == "\\<script\\>");
  CHECK(escape_markdown("`code` [link](http://e)") == "\\`code\\` \\[link\\](http:&#8203;//e)");
  CHECK(escape_markdown("@everyone") == "&#64;&#8203;everyone");
  CHECK(escape_markdown("see www.evil.example") == "see w&#8203;ww.evil.example");
  CHECK(escape_markdown("bad\xc3") == "bad\\xc3");
  CHECK(escape_markdown("\xe2\x80\xae") == "\\u202e");
  CHECK(escape_markdown("Zürich") == "Zürich");
}

TEST_CASE("sarif report is valid SARIF 2.1.0 with a result per finding") {
  const auto& r = result();
  const Evaluated e;
  const std::string sarif = render(Format::kSarif, {r, &e.outcome}, ReportOptions{});
  const std::string bare = render(Format::kSarif, {r, nullptr}, ReportOptions{});
  const Evaluated waived(kWaiverPolicy);
  const std::string with_waivers =
      render(Format::kSarif, {r, &waived.outcome}, ReportOptions{});
  // The required structure from the spec, plus GitHub code scanning's needs. Tests use no network:
  // `validate-sarif --fetch-schema` (the official schema from npm) is for a manual check, or set
  // FLOWAUDIT_SARIF_SCHEMA to a local copy.
  // The SARIF Multitool too, when scripts/install-deps could install it (else validate-sarif says so).
  CHECK(validate("validate-sarif", {sarif, bare, with_waivers}, "--github --multitool") == 0);

  const auto doc = boost::json::parse(sarif).as_object();
  CHECK(doc.at("version").as_string() == "2.1.0");
  const auto& run = doc.at("runs").as_array().at(0).as_object();
  const auto& rules = run.at("tool").as_object().at("driver").as_object().at("rules").as_array();
  CHECK(rules.size() == enabled_rules(e.loaded.policy));
  const auto& results = run.at("results").as_array();
  CHECK(results.size() == e.evaluation.findings.size());
  bool operator_finding = false;
  for (const auto& v : results) {
    const auto& res = v.as_object();
    const auto index = static_cast<std::size_t>(res.at("ruleIndex").as_int64());
    REQUIRE(index < rules.size());
    CHECK(rules.at(index).as_object().at("id") == res.at("ruleId"));
    CHECK(res.at("partialFingerprints").as_object().at("flowaudit/v1").as_string().size() == 16);
    CHECK(!res.contains("suppressions"));
    if (res.at("ruleId") == "china-transfer.operator") {
      operator_finding = true;
      CHECK(res.at("level") == "error");
      const auto& loc = res.at("locations").as_array().at(0).as_object();
      const auto& uri = loc.at("physicalLocation").as_object().at("artifactLocation").as_object().at("uri");
      CHECK((uri == "tests/data/deepseek-session.pcapng" || uri == "tests/data/trackers-mix.pcap"));
      CHECK(loc.at("logicalLocations").as_array().at(0).as_object().at("kind") == "resource");
    }
  }
  CHECK(operator_finding);
  std::set<std::string> fingerprints;
  for (const auto& v : results) {
    fingerprints.insert(std::string(v.as_object().at("partialFingerprints").as_object().at("flowaudit/v1").as_string()));
  }
  CHECK(fingerprints.size() == results.size());  // findings are one per rule and destination (or name asked)
  for (const auto& v : rules) {
    const auto& rule = v.as_object();
    if (rule.at("id") != "china-transfer.operator") continue;
    CHECK(rule.at("properties").as_object().at("security-severity") == "8.0");
    CHECK(rule.at("defaultConfiguration").as_object().at("level") == "error");
    CHECK(rule.contains("helpUri"));
  }
  CHECK(run.at("invocations").as_array().at(0).as_object().at("executionSuccessful") == true);
  CHECK(run.at("artifacts").as_array().size() == 2);

  // No policy: no rules, no results, the inputs still listed.
  const auto bare_run = boost::json::parse(bare).as_object().at("runs").as_array().at(0).as_object();
  CHECK(bare_run.at("tool").as_object().at("driver").as_object().at("rules").as_array().empty());
  CHECK(bare_run.at("results").as_array().empty());
  CHECK(bare_run.at("artifacts").as_array().size() == 2);

  // Waived findings are results with an external suppression carrying the waiver's reason.
  std::size_t suppressed = 0;
  const auto waived_run = boost::json::parse(with_waivers).as_object().at("runs").as_array().at(0).as_object();
  for (const auto& v : waived_run.at("results").as_array()) {
    const auto& res = v.as_object();
    const bool tracker = res.at("ruleId").as_string().starts_with("trackers.");
    CHECK(res.contains("suppressions") == tracker);
    if (!tracker) continue;
    const auto& s = res.at("suppressions").as_array().at(0).as_object();
    CHECK(s.at("kind") == "external");
    CHECK(s.at("justification") == "Accepted by the DPO, ticket PRIV-123");
    ++suppressed;
  }
  CHECK(suppressed == waived.evaluation.waived);
  CHECK(suppressed > 0);
}

TEST_CASE("sarif fingerprints are stable and tell destinations apart") {
  CHECK(sarif_fingerprint("r", "1.2.3.4:443", "a.example") == sarif_fingerprint("r", "1.2.3.4:443", "a.example"));
  CHECK(sarif_fingerprint("r", "1.2.3.4:443", "a.example") != sarif_fingerprint("r", "1.2.3.4:443", "b.example"));
  CHECK(sarif_fingerprint("ab", "c", "") != sarif_fingerprint("a", "bc", ""));
  CHECK(sarif_fingerprint("", "", "") == "f998341be47bae14");  // FNV-1a of three separators: fixed forever
  CHECK(sarif_fingerprint("plaintext.dns", "192.168.1.1:53", "", "a.example") !=
        sarif_fingerprint("plaintext.dns", "192.168.1.1:53", "", "b.example"));
}

TEST_CASE("junit report has a test case per rule and fails the rules at or above --fail-on") {
  const auto& r = result();
  const Evaluated e;
  const Evaluated waived(kWaiverPolicy);
  const std::string junit = render(Format::kJunit, {r, &e.outcome}, ReportOptions{});
  const std::string bare = render(Format::kJunit, {r, nullptr}, ReportOptions{});
  const std::string with_waivers =
      render(Format::kJunit, {r, &waived.outcome}, ReportOptions{});
  CHECK(validate("validate-junit", {junit, bare, with_waivers}) == 0);

  CHECK(occurrences(junit, "<testcase ") == enabled_rules(e.loaded.policy));
  CHECK(occurrences(junit, "<testsuite name=\"flowaudit policy: china-transfer\"") == 1);
  const std::size_t operator_case =
      junit.find("<testcase classname=\"china-transfer\" name=\"china-transfer.operator: ");
  REQUIRE(operator_case != std::string::npos);
  const std::size_t failure = junit.find("<failure message=\"", operator_case);
  REQUIRE(failure != std::string::npos);
  CHECK(failure < junit.find("</testcase>", operator_case));
  CHECK(junit.compare(junit.find("type=\"", failure), 12, "type=\"high\">") == 0);
  // One failing test case per rule with a finding at or above high that is not waived.
  std::set<const Rule*> failing;
  for (const auto& f : e.evaluation.findings) {
    if (f.waiver == nullptr && f.rule->severity >= Severity::kHigh) failing.insert(f.rule);
  }
  CHECK(occurrences(junit, "<failure ") == failing.size());
  CHECK(junit.find(fmt::format("failures=\"{}\"", failing.size())) != std::string::npos);

  CHECK(bare.find("<testcase classname=\"flowaudit\" name=\"no policy evaluated\">") != std::string::npos);
  CHECK(occurrences(bare, "<skipped") == 1);

  // Waived tracker findings are listed as waived in system-out, never as failures.
  CHECK(with_waivers.find("waived finding") != std::string::npos);
  CHECK(with_waivers.find("Accepted by the DPO, ticket PRIV-123") != std::string::npos);
  const std::size_t trackers = with_waivers.find("<testsuite name=\"flowaudit policy: trackers\"");
  REQUIRE(trackers != std::string::npos);
  const std::size_t trackers_end = with_waivers.find("</testsuite>", trackers);
  CHECK(with_waivers.substr(trackers, trackers_end - trackers).find("<failure") == std::string::npos);
}

TEST_CASE("hostile names and messages stay inside their cells and parse") {
  analysis::AuditResult r = audit();
  REQUIRE(!r.destinations.empty());
  r.destinations.front().hostname = "evil|x<img src=x>`@team\n## owned\x01\xff";
  Evaluated e({}, r);
  REQUIRE(!e.evaluation.findings.empty());
  for (auto& f : e.evaluation.findings) f.message = "msg|<b>&\"'\x01\xff\r\n]]>" + f.message;
  const std::string md = render(Format::kMarkdown, {r, &e.outcome}, ReportOptions{});
  const std::string junit = render(Format::kJunit, {r, &e.outcome}, ReportOptions{});
  const std::string sarif = render(Format::kSarif, {r, &e.outcome}, ReportOptions{});
  CHECK(validate("validate-junit", {junit}) == 0);
  CHECK(validate("validate-sarif", {sarif}, "--github --multitool") == 0);
  // Every table row still has its columns: as many unescaped '|' as its table's header (findings: 4
  // columns, destinations: 10, what left: 3 and one per data type).
  std::istringstream lines(md);
  std::string row;
  std::size_t rows = 0;
  std::size_t header_pipes = 0;  // of the table being read; 0 between tables
  std::set<std::size_t> widths;
  while (std::getline(lines, row)) {
    if (row.empty() || row.front() != '|') {
      header_pipes = 0;
      continue;
    }
    std::size_t pipes = 0;
    for (std::size_t i = 0; i < row.size(); ++i) pipes += row[i] == '|' && (i == 0 || row[i - 1] != '\\') ? 1 : 0;
    if (header_pipes == 0) {
      header_pipes = pipes;
      widths.insert(pipes);
    }
    INFO(row);
    CHECK(pipes == header_pipes);
    ++rows;
  }
  CHECK(widths.count(5) == 1);
  CHECK(widths.count(11) == 1);
  CHECK(rows > 10);
  CHECK(occurrences(md, "<img") == occurrences(md, "\\<img"));  // escaped every time: no HTML
  CHECK(md.find("\n## owned") == std::string::npos);
  CHECK(md.find("@team") == std::string::npos);
}

TEST_CASE("sarif: a run that read no input is not successful and says why") {
  analysis::AuditResult r;
  capture::SourceInfo missing;
  missing.path = "missing dir/none.pcap";
  missing.error = "missing dir/none.pcap: No such file or directory";
  r.inputs.push_back(missing);
  const std::string sarif = render(Format::kSarif, {r, nullptr}, ReportOptions{});
  CHECK(validate("validate-sarif", {sarif}, "--github --multitool") == 0);
  const auto run = boost::json::parse(sarif).as_object().at("runs").as_array().at(0).as_object();
  const auto& inv = run.at("invocations").as_array().at(0).as_object();
  CHECK(inv.at("executionSuccessful") == false);
  CHECK(inv.at("toolExecutionNotifications").as_array().at(0).as_object().at("level") == "error");
  CHECK(run.at("artifacts").as_array().at(0).as_object().at("location").as_object().at("uri") ==
        "missing%20dir/none.pcap");
}

TEST_CASE("the validators reject broken reports") {
  // Wrong ruleIndex, a level SARIF does not have, a message without text, a URI with a space, an
  // unknown suppression kind.
  CHECK(validate("validate-sarif",
                 {R"({"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x","rules":[{"id":"a"}]}},"results":[)"
                  R"({"ruleId":"b","ruleIndex":0,"level":"fatal","message":{},"locations":[{"physicalLocation":)"
                  R"({"artifactLocation":{"uri":"a b"}}}],"suppressions":[{"kind":"nope"}]}]}]})"},
                 "2>/dev/null") != 0);
  CHECK(validate("validate-sarif", {R"({"version":"2.0.0","runs":[]})"}, "2>/dev/null") != 0);
  CHECK(validate("validate-sarif",
                 {R"({"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{"text":"m"},)"
                  R"("locations":[{"physicalLocation":{"artifactLocation":{"uri":"a"},"region":{"byteOffset":-1}}}]}]}]})"},
                 "2>/dev/null") != 0);
  CHECK(validate("validate-sarif", {R"({"version":"2.1.0","runs":[{"tool":{"driver":{}}}]})"}, "2>/dev/null") != 0);
  // Counts that disagree with the test cases; a test case without a name; not XML at all.
  CHECK(validate("validate-junit",
                 {R"(<testsuites tests="2"><testsuite name="x" tests="3" failures="0">)"
                  R"(<testcase classname="a" name="b"><failure message="m"/></testcase></testsuite></testsuites>)"},
                 "2>/dev/null") != 0);
  CHECK(validate("validate-junit", {R"(<testsuites><testsuite name="x" tests="1" failures="0"><testcase classname="a"/>)"
                                    R"(</testsuite></testsuites>)"},
                 "2>/dev/null") != 0);
  CHECK(validate("validate-junit", {"<testsuites><testsuite"}, "2>/dev/null") != 0);
}

TEST_CASE("junit escapes what XML cannot carry") {
  std::string out;
  append_xml_escaped(out, "a<b>&\"'\x01\xff\n");
  CHECK(out == "a&lt;b&gt;&amp;&quot;&apos;\\x01\\xff&#10;");
  out.clear();
  append_xml_escaped(out, "line\nbreak", false);
  CHECK(out == "line\nbreak");
}


TEST_CASE("sarif: a result's region is the byte range of its flow's first packet in the capture file") {
  const auto& r = result();
  const Evaluated e;
  const std::string sarif = render(Format::kSarif, {r, &e.outcome}, ReportOptions{});
  const auto run = boost::json::parse(sarif).as_object().at("runs").as_array().at(0).as_object();
  const auto& results = run.at("results").as_array();
  REQUIRE(!results.empty());
  std::set<std::string> uris;
  for (const auto& v : results) {
    const auto& props = v.as_object().at("properties").as_object();
    const auto flow_id = static_cast<std::uint64_t>(props.at("flowIds").as_array().at(0).as_int64());
    const analysis::flow::Flow* flow = nullptr;
    for (const auto& f : r.flows) flow = f.id == flow_id ? &f : flow;
    REQUIRE(flow != nullptr);
    const auto& physical = location_of(v).at("physicalLocation").as_object();
    const std::string uri(physical.at("artifactLocation").as_object().at("uri").as_string());
    CHECK(uri == kCaptures.at(flow->input));
    uris.insert(uri);
    INFO(uri << " flow " << flow_id);
    REQUIRE(physical.contains("region"));
    const auto& region = physical.at("region").as_object();
    const auto offset = static_cast<std::size_t>(region.at("byteOffset").as_int64());
    const auto length = static_cast<std::size_t>(region.at("byteLength").as_int64());
    // Exactly one packet's captured bytes, that packet carries the flow's endpoints, and no packet
    // before it in the file does.
    const std::string bytes = read_file(source_path(uri));
    bool found = false;
    for (const auto& p : walk_capture(bytes)) {
      const auto key = frame_key(std::string_view(bytes).substr(p.offset, p.length));
      if (p.offset == offset) {
        CHECK(p.length == length);
        REQUIRE(key);
        CHECK(same_endpoints(*key, flow->key));
        found = true;
        break;
      }
      CHECK_FALSE((key && same_endpoints(*key, flow->key)));
    }
    CHECK(found);
  }
  CHECK(uris.size() == 2);  // findings from both captures
}

TEST_CASE("sarif: no region where there is no file to point into") {
  const Evaluated e;
  auto region_count = [&](const analysis::AuditResult& r) {
    const std::string sarif = render(Format::kSarif, {r, &e.outcome}, ReportOptions{});
    const auto doc = boost::json::parse(sarif);
    std::size_t n = 0;
    for (const auto& v : doc.as_object().at("runs").as_array().at(0).as_object().at("results").as_array()) {
      n += location_of(v).at("physicalLocation").as_object().contains("region") ? 1 : 0;
    }
    return std::pair{n, sarif};
  };
  const std::size_t all = region_count(result()).first;
  REQUIRE(all == e.evaluation.findings.size());
  std::size_t from_first = 0;  // findings whose first flow is in the first capture
  for (const auto& f : e.evaluation.findings) {
    for (const auto& flow : result().flows) from_first += flow.id == f.evidence.flow_ids.front() && flow.input == 0 ? 1 : 0;
  }
  REQUIRE(from_first > 0);

  analysis::AuditResult piped = audit();
  piped.inputs[0].path = "-";  // standard input
  CHECK(region_count(piped).first == all - from_first);

  // A live capture: the regions are in the file kept with --write, as far as it was written.
  analysis::AuditResult live = audit();
  live.inputs[0].format = "live";
  live.inputs[0].path = "eth0";
  CHECK(region_count(live).first == all - from_first);  // nothing kept
  live.live.emplace();
  live.live->written = "kept.pcapng";
  live.live->written_bytes = 1u << 30;
  // Plain names, not structured bindings: clang before 16 cannot capture those in CHECK.
  const auto counted = region_count(live);
  const std::size_t kept = counted.first;
  const std::string& sarif = counted.second;
  CHECK(kept == all);
  CHECK(sarif.find("\"uri\": \"kept.pcapng\"") != std::string::npos);
  CHECK(sarif.find("\"uri\": \"eth0\"") == std::string::npos);
  CHECK(validate("validate-sarif", {sarif}, "--github --multitool") == 0);
  live.live->written_bytes = 100;  // the write failed early: the packets are not in the file
  CHECK(region_count(live).first == all - from_first);
}

TEST_CASE("sarif: rules have a name apart from their id, the tool an information URI") {
  CHECK(sarif_rule_name("china-transfer.operator") == "ChinaTransferOperator");
  CHECK(sarif_rule_name("blind-spots.quic-undecryptable") == "BlindSpotsQuicUndecryptable");
  CHECK(sarif_rule_name("allow_list.x1") == "AllowListX1");
  CHECK(sarif_rule_name("123") == "");  // would equal the id: SARIF wants no name then
  const Evaluated e;
  const std::string sarif = render(Format::kSarif, {result(), &e.outcome}, ReportOptions{});
  const auto doc = boost::json::parse(sarif);
  const auto& driver =
      doc.as_object().at("runs").as_array().at(0).as_object().at("tool").as_object().at("driver").as_object();
  CHECK(driver.at("informationUri") == kSarifInformationUri);
  CHECK(std::string_view(kSarifInformationUri).starts_with("https://"));
  std::size_t named = 0;
  for (const auto& v : driver.at("rules").as_array()) {
    const auto& rule = v.as_object();
    REQUIRE(rule.contains("name"));
    CHECK(rule.at("name") != rule.at("id"));
    ++named;
  }
  CHECK(named == enabled_rules(e.loaded.policy));
}

TEST_CASE("sarif: message texts are plain text no viewer can turn into a link or placeholder") {
  CHECK(core::escape_sarif_text("chat.deepseek.com (3.173.21.63)") == "chat.deepseek.com (3.173.21.63)");
  CHECK(core::escape_sarif_text("[click](https://evil.example/)") == "\\[click\\]\\(https://evil.example/)");
  CHECK(core::escape_sarif_text("a\\[b") == "a\\\\\\[b");
  CHECK(core::escape_sarif_text("{0} {1}") == "{{0}} {{1}}");
  CHECK(core::escape_sarif_text("one\ntwo\r\n\tthree\x7f") == "one\\x0atwo\\x0d\\x0a\\x09three\\x7f");
  CHECK(core::escape_sarif_text("x\xC2\x85y") == "x\\u0085y");                          // C1 next line
  CHECK(core::escape_sarif_text("a\xE2\x80\xAEgnp.exe") == "a\\u202egnp.exe");  // right-to-left override
  CHECK(core::escape_sarif_text("a\xE2\x81\xA6" "b") == "a\\u2066" "b");           // left-to-right isolate
  CHECK(core::escape_sarif_text("bad\xff") == "bad\\xff");
  CHECK(core::escape_sarif_text("Zürich") == "Zürich");

  // A host name from the wire in a finding's message, and a warning quoting one.
  analysis::AuditResult r = audit();
  for (auto& d : r.destinations) d.hostname = "[login](https://evil.example/){0}";
  r.warnings.push_back("odd name [x](https://evil.example/) seen");
  Evaluated e({}, r);
  REQUIRE(!e.evaluation.findings.empty());
  bool quoted = false;
  for (const auto& f : e.evaluation.findings) quoted = quoted || f.message.find("[login](https://evil") != std::string::npos;
  REQUIRE(quoted);
  const std::string sarif = render(Format::kSarif, {r, &e.outcome}, ReportOptions{});
  const auto run = boost::json::parse(sarif).as_object().at("runs").as_array().at(0).as_object();
  std::vector<std::string> texts;
  for (const auto& v : run.at("results").as_array()) {
    const auto& message = v.as_object().at("message").as_object();
    CHECK_FALSE(message.contains("markdown"));
    texts.emplace_back(message.at("text").as_string());
  }
  for (const auto& v : run.at("invocations").as_array().at(0).as_object().at("toolExecutionNotifications").as_array()) {
    texts.emplace_back(v.as_object().at("message").as_object().at("text").as_string());
  }
  std::size_t escaped = 0;
  for (const auto& t : texts) {
    INFO(t);
    CHECK(t.find("](") == std::string::npos);
    for (std::size_t i = t.find('['); i != std::string::npos; i = t.find('[', i + 1)) CHECK((i > 0 && t[i - 1] == '\\'));
    for (std::size_t i = t.find("{0"); i != std::string::npos; i = t.find("{0", i + 1)) CHECK((i > 0 && t[i - 1] == '{'));
    escaped += t.find("\\[login\\]\\(https://evil.example/){{0}}") != std::string::npos ? 1 : 0;
  }
  CHECK(escaped > 0);
  CHECK(validate("validate-sarif", {sarif}, "--github --multitool") == 0);
}

}  // TEST_SUITE
}  // namespace flowaudit::report
