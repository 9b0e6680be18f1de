// The policy engine end to end: the default policy on the DeepSeek-like example, each built-in rule
// firing where it should and quiet where it should not, broken policies, rules check/list/explain,
// --fail-on, --app allowlists and waivers from a user's file.
#include <map>
#include <set>

#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

using boost::json::object;

std::string data(const std::string& name) { return source_path("tests/data/" + name); }

// Fixed databases: the answers must not depend on what is installed on the machine.
std::vector<std::string> with_fixture_dbs(std::vector<std::string> args) {
  for (const char* db : {"tests/data/geo/fixture-country.mmdb", "tests/data/geo/fixture-asn.mmdb"}) {
    args.push_back("--geoip-db");
    args.push_back(source_path(db));
  }
  return args;
}

object audit_with_policy(const std::vector<std::string>& captures, std::vector<std::string> extra = {},
                         int expected_exit = -1) {
  if (std::find(extra.begin(), extra.end(), "--policy") == extra.end()) {
    extra.push_back("--policy");
    extra.push_back("default");
  }
  extra = with_fixture_dbs(extra);
  static int counter = 0;
  const auto path = temp_dir() / ("policy-report" + std::to_string(counter++) + ".json");
  std::vector<std::string> args{"audit"};
  args.insert(args.end(), captures.begin(), captures.end());
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("--report");
  args.push_back("json:" + path.string());
  const auto r = run(args);
  INFO("stderr: " << r.err);
  if (expected_exit >= 0) REQUIRE(r.exit_code == expected_exit);
  REQUIRE((r.exit_code == 0 || r.exit_code == 1));
  boost::json::error_code ec;
  auto v = boost::json::parse(read_file(path), ec);
  REQUIRE(!ec);
  return v.as_object();
}

std::vector<const object*> findings_of(const object& report, const std::string& rule) {
  std::vector<const object*> out;
  for (const auto& f : report.at("findings").as_array()) {
    if (f.as_object().at("rule").as_string() == rule) out.push_back(&f.as_object());
  }
  return out;
}

const object* finding_for(const object& report, const std::string& rule, const std::string& hostname) {
  for (const object* f : findings_of(report, rule)) {
    const auto& d = f->at("destination");
    if (d.is_object() && d.as_object().at("hostname").is_string() &&
        d.as_object().at("hostname").as_string() == hostname) {
      return f;
    }
  }
  return nullptr;
}

std::string write_policy(const std::string& name, const std::string& text) {
  const auto path = temp_dir() / name;
  std::ofstream(path) << text;
  return path.string();
}

}  // namespace

TEST_SUITE("e2e") {

TEST_CASE("the default policy on the DeepSeek-like example: China transfer by operator, plaintext telemetry, "
          "trackers and the government ban, each with evidence and references") {
  const auto report = audit_with_policy({source_path("examples/deepseek-session.pcapng")}, {}, 1);
  const auto& summary = report.at("summary").as_object();
  CHECK(summary.at("verdict").as_string() == "fail");
  CHECK(summary.at("fail_on").as_string() == "high");
  CHECK(get_int(summary.at("findings").as_object().at("high")) >= 5);

  // China transfer by operator although the server answered from a US edge.
  const object* china = finding_for(report, "china-transfer.operator", "chat.deepseek.com");
  REQUIRE(china != nullptr);
  CHECK(china->at("severity").as_string() == "high");
  CHECK(china->at("message").as_string().find("server in US") != std::string::npos);
  CHECK(china->at("message").as_string().find("Hangzhou DeepSeek") != std::string::npos);
  const auto& evidence = china->at("evidence").as_object();
  CHECK(get_int(evidence.at("flows")) == 1);
  CHECK(evidence.at("flow_ids").as_array().size() == 1);
  CHECK(get_int(evidence.at("bytes_out")) > 1000);
  CHECK(evidence.at("hostname_source").as_string() == "tls-sni");
  CHECK(evidence.at("first_seen").as_string().starts_with("2024-06-01T10:00:00"));
  CHECK_FALSE(china->at("references").as_array().empty());
  CHECK(china->at("destination").as_object().at("ip").as_string() == "3.173.21.63");
  CHECK(findings_of(report, "china-transfer.server-country").empty());  // no server in CN here

  const object* plain = finding_for(report, "plaintext.tracker-http", "gator.volces.com");
  REQUIRE(plain != nullptr);
  CHECK(plain->at("message").as_string().find("/service/2/device_register/ (253 bytes of application/json)") !=
        std::string::npos);
  CHECK(plain->at("evidence").as_object().at("hostname_source").as_string() == "http-host");

  CHECK(finding_for(report, "trackers.china-jurisdiction", "gator.volces.com") != nullptr);
  CHECK(finding_for(report, "trackers.china-jurisdiction", "fp-it-acc.portal101.cn") != nullptr);
  CHECK(finding_for(report, "trackers.china-jurisdiction", "fonts.gstatic.com") == nullptr);

  const object* ban = finding_for(report, "gov-ai-ban.deepseek", "chat.deepseek.com");
  REQUIRE(ban != nullptr);
  std::set<std::string> urls;
  for (const auto& ref : ban->at("references").as_array()) urls.insert(std::string(ref.as_object().at("url").as_string()));
  CHECK(urls.size() >= 3);

  // One finding per rule and destination, and every finding validates against the schema.
  std::set<std::string> keys;
  for (const auto& f : report.at("findings").as_array()) {
    const auto& o = f.as_object();
    std::string key = std::string(o.at("rule").as_string());
    if (o.at("destination").is_object()) key += std::string(o.at("destination").as_object().at("ip").as_string());
    if (o.at("evidence").as_object().at("dns_query").is_string()) {
      key += std::string(o.at("evidence").as_object().at("dns_query").as_string());
    }
    CHECK_MESSAGE(keys.insert(key).second, key);
  }
  const auto& policy = report.at("policy").as_object();
  CHECK(policy.at("files").as_array().size() == 9);
  CHECK(get_int(policy.at("rules_evaluated")) == get_int(policy.at("rules_enabled")));
}

TEST_CASE("the terminal report groups findings by rule and ends with the verdict") {
  const auto r = run(with_fixture_dbs({"audit", source_path("examples/deepseek-session.pcapng")}));
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("[china-transfer.operator]") != std::string::npos);
  CHECK(r.out.find("Verdict: FAIL (--fail-on high;") != std::string::npos);
}

// Each built-in rule: a capture where it fires and one where it stays quiet.
TEST_CASE("every built-in rule fires where it should and stays quiet where it should not") {
  struct Case {
    const char* rule;
    const char* fires;  // capture (nullptr: covered by tests/unit/rules/eval, see the comment)
    const char* quiet;
  };
  const std::vector<Case> cases{
      {"china-transfer.operator", "http-post.pcap", "tls12-nosni.pcap"},
      {"gdpr-transfer.server-country", "http-post.pcap", "tls13-sni-alpn.pcap"},
      {"gdpr-transfer.operator-jurisdiction", "tls13-sni-alpn.pcap", "tls12-nosni.pcap"},
      {"gdpr-transfer.dpf-unverified", "tls13-sni-alpn.pcap", "http-post.pcap"},
      {"gov-ai-ban.deepseek", "tls13-sni-alpn.pcap", "http-post.pcap"},
      {"gov-ai-ban.deepseek-lookup", "dns-udp-tcp.pcap", "no-handshake.pcap"},
      {"plaintext.tracker-http", "http-post.pcap", "tls13-sni-alpn.pcap"},
      {"plaintext.dns", "dns-udp-tcp.pcap", "tls13-sni-alpn.pcap"},
      {"weak-tls.no-forward-secrecy", "tls-variants.pcap", "tls13-sni-alpn.pcap"},
      {"weak-tls.deprecated-version", "weak-tls.pcap", "tls-variants.pcap"},
      {"weak-tls.unprotected-cipher", "weak-tls.pcap", "tls-variants.pcap"},
      {"weak-tls.broken-cipher", "weak-tls.pcap", "tls-variants.pcap"},
      {"weak-tls.ssl", nullptr, "weak-tls.pcap"},  // no SSL 3.0 in Debian's TLS libraries: unit test
      {"weak-tls.no-sni", "tls12-nosni.pcap", "blind-spots.pcap"},
      {"trackers.china-jurisdiction", "http-post.pcap", "tls13-sni-alpn.pcap"},
      {"blind-spots.low-coverage", "blind-spots.pcap", "deepseek-session.pcapng"},
      {"blind-spots.incomplete-capture", "bad/truncated.pcap", "http-post.pcap"},
      {"blind-spots.encrypted-dns", "blind-spots.pcap", "dns-udp-tcp.pcap"},
      {"blind-spots.udp-unknown", "blind-spots.pcap", "quic-v1.pcap"},
      {"blind-spots.quic-undecryptable", "ech-quic.pcap", "quic-v1.pcap"},
      {"blind-spots.ech", "ech-quic.pcap", "dns-records.pcap"},
      {"blind-spots.inspection-limit", "hostile/tls-huge-hello.pcap", "tls-segmented.pcap"},
      {"blind-spots.memory-cap", nullptr, "http-post.pcap"},  // needs small caps: tests/e2e/memory_cap_test.cc
      {"china-transfer.server-country", "trackers-mix.pcap", "http-post.pcap"},
      {"plaintext.http-upload", "trackers-mix.pcap", "http-post.pcap"},
      {"plaintext.http-request", "trackers-mix.pcap", "http-post.pcap"},
      {"trackers.analytics", "trackers-mix.pcap", "deepseek-session.pcapng"},
      {"trackers.fingerprinting-identity", "trackers-mix.pcap", "deepseek-session.pcapng"},
      {"trackers.third-party-sdk", "trackers-mix.pcap", "deepseek-session.pcapng"},
      // No capture reaches a foreign ByteDance entity: tests/unit/rules/eval/evaluator_test.cc.
      {"china-transfer.parent-group", nullptr, "http-post.pcap"},
      {"trackers.china-group", nullptr, "trackers-mix.pcap"},  // the same: evaluator_test.cc
      // What left (issue 17): the labelled personal-data captures and the sessions' telemetry.
      {"data-leaks.restricted-jurisdiction", "pii/pii-h2.pcapng", "tls13-sni-alpn.pcap"},
      {"data-leaks.personal-data-plaintext", "pii/pii-h1.pcap", "pii/pii-h2.pcapng"},
      {"data-leaks.personal-data-tracker", "http-post.pcap", "pii/pii-h1.pcap"},
      // Need --canary, a chat endpoint on a foreign host, a fingerprinting service or names with
      // identifiers: tests/unit/rules/eval/data_leaks_test.cc, tests/e2e/leaks_example_test.cc.
      {"data-leaks.canary-third-party", nullptr, "deepseek-session.pcapng"},
      {"data-leaks.prompt-third-party", nullptr, "deepseek-session.pcapng"},
      {"data-leaks.fingerprint-group", nullptr, "pii/pii-chromium.pcapng"},
      {"data-leaks.dns-name", nullptr, "dns-udp-tcp.pcap"},
      {"data-leaks.server-name", nullptr, "tls13-sni-alpn.pcap"},
  };
  std::map<std::string, object> reports;
  auto report_for = [&](const std::string& capture) -> const object& {
    auto it = reports.find(capture);
    if (it == reports.end()) it = reports.emplace(capture, audit_with_policy({data(capture)})).first;
    return it->second;
  };
  // Every rule of the default policy is in the table.
  const auto list = run({"rules", "list"});
  std::size_t listed = 0;
  for (std::size_t pos = list.out.find('\n'); pos != std::string::npos && pos + 1 < list.out.size();
       pos = list.out.find('\n', pos + 1)) {
    const std::string id = list.out.substr(pos + 1, list.out.find(' ', pos + 1) - pos - 1);
    if (id.empty()) continue;
    ++listed;
    CHECK_MESSAGE(std::any_of(cases.begin(), cases.end(), [&](const Case& c) { return id == c.rule; }), id);
  }
  CHECK(listed == 39);
  for (const auto& c : cases) {
    INFO("rule " << c.rule);
    if (c.fires != nullptr) CHECK_MESSAGE(!findings_of(report_for(c.fires), c.rule).empty(), c.fires);
    CHECK_MESSAGE(findings_of(report_for(c.quiet), c.rule).empty(), c.quiet);
  }
  // The QUIC version that could not be read is named (the v2 draft of ngtcp2 0.12).
  const auto quic = findings_of(report_for("ech-quic.pcap"), "blind-spots.quic-undecryptable");
  REQUIRE(quic.size() == 1);
  CHECK(quic[0]->at("message").as_string().find("version 0x709a50c4") != std::string::npos);
}

TEST_CASE("a NULL cipher suite is not encryption: the flow and its destination say encrypted false") {
  const auto report = audit_with_policy({data("weak-tls.pcap")}, {"--policy", "none"}, 0);
  int null_flows = 0;
  for (const auto& f : report.at("flows").as_array()) {
    const auto& o = f.as_object();
    if (!o.at("tls").is_object() || !o.at("tls").as_object().at("cipher").is_string()) continue;
    const bool null_suite = o.at("tls").as_object().at("cipher").as_string() == "TLS_RSA_WITH_NULL_SHA";
    null_flows += null_suite ? 1 : 0;
    CHECK(o.at("encrypted").as_bool() == !null_suite);
  }
  CHECK(null_flows == 1);
  for (const auto& d : report.at("destinations").as_array()) {
    const auto& o = d.as_object();
    if (o.at("ip").as_string() == "43.109.38.198") CHECK_FALSE(o.at("encrypted").as_bool());
  }
}

TEST_CASE("a server located in China is named by server-country (with a database that says so)") {
  // The committed captures have no server in CN; a database built for the test puts one there.
  const auto csv = temp_dir() / "cn.csv";
  std::ofstream(csv) << "43.109.38.0,43.109.39.255,CN\n";
  const auto mmdb = (temp_dir() / "cn.mmdb").string();
  REQUIRE(run({"geodb", "build", "--csv", csv.string(), "--out", mmdb}).exit_code == 0);
  const auto r = run({"audit", data("http-post.pcap"), "--policy", "china-transfer", "--geoip-db", mmdb, "--report",
                      "json"});
  REQUIRE(r.exit_code == 1);
  const auto report = boost::json::parse(r.out).as_object();
  const object* f = finding_for(report, "china-transfer.server-country", "gator.volces.com");
  REQUIRE(f != nullptr);
  CHECK(f->at("message").as_string().find("CN") != std::string::npos);
}

TEST_CASE("--fail-on sets the threshold of the verdict and the exit code; --policy none evaluates nothing") {
  auto report = audit_with_policy({data("tls-variants.pcap")}, {"--policy", "weak-tls"}, 0);
  CHECK(report.at("summary").as_object().at("verdict").as_string() == "pass");
  CHECK_FALSE(findings_of(report, "weak-tls.no-forward-secrecy").empty());  // low: listed, not failing
  report = audit_with_policy({data("tls-variants.pcap")}, {"--policy", "weak-tls", "--fail-on", "low"}, 1);
  CHECK(report.at("summary").as_object().at("verdict").as_string() == "fail");
  report = audit_with_policy({source_path("examples/deepseek-session.pcapng")}, {"--fail-on", "never"}, 0);
  CHECK(report.at("summary").as_object().at("verdict").as_string() == "pass");
  report = audit_with_policy({source_path("examples/deepseek-session.pcapng")}, {"--policy", "none"}, 0);
  CHECK(report.at("summary").as_object().at("verdict").as_string() == "not-evaluated");
  CHECK(report.at("policy").is_null());
  CHECK(report.at("findings").as_array().empty());
}

TEST_CASE("a user's file composes with the built-in packs: override, disable, waive, expired waiver") {
  const auto local = write_policy("local.yaml", R"(include: [default]
rules:
  - id: gov-ai-ban.deepseek
    severity: critical
  - id: plaintext.dns
    enabled: false
waivers:
  - rule: 'trackers.*'
    condition: service.id = shumei
    reason: fingerprinting accepted for fraud prevention (DPO ticket 12)
    expires: 2999-12-31
  - rule: china-transfer.operator
    reason: an old exception
    expires: 2001-01-01
)");
  const auto report = audit_with_policy({source_path("examples/deepseek-session.pcapng")}, {"--policy", local}, 1);
  const object* ban = finding_for(report, "gov-ai-ban.deepseek", "chat.deepseek.com");
  REQUIRE(ban != nullptr);
  CHECK(ban->at("severity").as_string() == "critical");
  CHECK(findings_of(report, "plaintext.dns").empty());
  const object* waived = finding_for(report, "trackers.china-jurisdiction", "fp-it-acc.portal101.cn");
  REQUIRE(waived != nullptr);
  CHECK(waived->at("waived").as_object().at("reason").as_string().starts_with("fingerprinting accepted"));
  const object* volces = finding_for(report, "trackers.china-jurisdiction", "gator.volces.com");
  REQUIRE(volces != nullptr);
  CHECK(volces->at("waived").is_null());
  // The expired waiver is reported and not applied.
  const object* china = finding_for(report, "china-transfer.operator", "chat.deepseek.com");
  REQUIRE(china != nullptr);
  CHECK(china->at("waived").is_null());
  bool warned = false;
  for (const auto& w : report.at("warnings").as_array()) {
    warned |= w.as_string().find("expired on 2001-01-01") != std::string::npos;
  }
  CHECK(warned);
  CHECK(get_int(report.at("summary").as_object().at("findings").as_object().at("waived")) == 1);
}

TEST_CASE("--app applies the app's allowlist: everything else is a finding") {
  const auto local = write_policy("apps.yaml", R"(allowlists:
  - app: deepseek
    severity: high
    hosts: ['*.deepseek.com', deepseek.com]
    services: [deepseek-api]
)");
  const auto report =
      audit_with_policy({source_path("examples/deepseek-session.pcapng")}, {"--policy", local, "--app", "deepseek"}, 1);
  CHECK(finding_for(report, "allowlist.deepseek", "chat.deepseek.com") == nullptr);
  CHECK(finding_for(report, "allowlist.deepseek", "gator.volces.com") != nullptr);
  CHECK(finding_for(report, "allowlist.deepseek", "fp-it-acc.portal101.cn") != nullptr);
  CHECK(finding_for(report, "allowlist.deepseek", "fonts.gstatic.com") != nullptr);
  for (const object* f : findings_of(report, "allowlist.deepseek")) {
    // The LAN resolver is in a private range: not an app destination.
    CHECK(f->at("destination").as_object().at("ip").as_string() != "192.168.1.1");
  }
  const auto r = run({"audit", source_path("examples/deepseek-session.pcapng"), "--policy", local, "--app", "chatgpt"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("no allowlist for 'chatgpt' (it has: deepseek)") != std::string::npos);
}

TEST_CASE("a broken policy: exit 2 before reading captures, FILE:LINE:COL, the chain and a caret") {
  const auto broken = write_policy("broken.yaml", R"(macros:
  - macro: in_china
    condition: geo.country = cn
rules:
  - id: local.cn
    title: CN
    severity: high
    scope: destination
    condition: in_china and bytes_out > 10 KB
)");
  const auto r = run({"audit", source_path("examples/deepseek-session.pcapng"), "--policy", broken});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(broken + ":3:30: field 'geo.country' is a country: expected a country code") != std::string::npos);
  CHECK(r.err.find("(in macro in_china)\n    condition: geo.country = cn\n                             ^") !=
        std::string::npos);
  const auto check = run({"rules", "check", broken});
  CHECK(check.exit_code == 2);
  CHECK(check.err == r.err.substr(0, r.err.find("flowaudit: the policy")) + "flowaudit: 1 error\n");
}

TEST_CASE("repeatable options take one value each, before or after the captures") {
  auto r = run(with_fixture_dbs({"audit", "--policy", "weak-tls", "--policy", "plaintext", data("http-post.pcap"),
                                 "--report", "json"}));
  REQUIRE(r.exit_code == 1);
  const auto report = boost::json::parse(r.out).as_object();
  CHECK(report.at("policy").as_object().at("files").as_array().size() == 2);
  CHECK(report.at("inputs").as_array().size() == 1);
  r = run({"audit", "--policy", "none", "--policy", "weak-tls", data("http-post.pcap")});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("cannot be combined") != std::string::npos);
}

TEST_CASE("rules check, list and explain") {
  std::vector<std::string> packs{"rules", "check"};
  for (const char* p : {"default", "china-transfer", "gdpr-transfer", "gov-ai-ban", "plaintext", "weak-tls",
                        "trackers", "blind-spots", "data-leaks"}) {
    packs.push_back(source_path(std::string("data/policies/") + p + ".yaml"));
  }
  auto r = run(packs);
  CHECK(r.exit_code == 0);
  CHECK(r.out.starts_with("ok: 9 files, 39 rules"));
  r = run({"rules", "list"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("china-transfer.operator") != std::string::npos);
  CHECK(r.out.find("weak-tls.deprecated-version") != std::string::npos);
  r = run({"rules", "explain", "gov-ai-ban.deepseek"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("References") != std::string::npos);
  CHECK(r.out.find("condition ") != std::string::npos);
  r = run({"rules", "explain", "no.such.rule"});
  CHECK(r.exit_code == 2);
  r = run({"rules", "check", source_path("tests/data/http-post.pcap")});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("http-post.pcap") != std::string::npos);
  r = run({"rules", "check", "/nonexistent/policy.yaml"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("/nonexistent/policy.yaml: no such file") != std::string::npos);
}

}  // TEST_SUITE
}  // namespace flowaudit::e2e
