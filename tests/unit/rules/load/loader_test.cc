// The policy loader: what loads, how files compose, and every kind of mistake with its position.
#include "rules/load/loader.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "rules/load/source_map.h"

namespace flowaudit::rules::load {
namespace {

namespace fs = std::filesystem;

LoadOptions no_includes() {
  LoadOptions o;
  o.allow_includes = false;
  o.today = 20261129;
  return o;
}

LoadResult load(const std::string& text) { return load_policy_text(text, "p.yaml", no_includes()); }

// The first line of the only error (the position and message), and the caret line.
std::string first_line(const LoadResult& r) {
  REQUIRE_MESSAGE(r.errors.size() >= 1, "expected an error");
  return r.errors.front().substr(0, r.errors.front().find('\n'));
}

std::string caret_line(const LoadResult& r) {
  const std::string& e = r.errors.front();
  return e.substr(e.rfind('\n') + 1);
}

const char* kGood = R"(policy:
  name: good
  description: a policy
lists:
  - list: china_codes
    items: [CN, HK, MO]
macros:
  - macro: china_operator
    condition: service.jurisdiction in china_codes
rules:
  - id: good.operator
    title: Operator in China
    description: why
    severity: high
    scope: destination
    condition: china_operator and bytes_out > 10 KB
    message: "{hostname} is run by {service.operator}"
    references:
      - title: PIPL
        url: https://example.org/pipl
      - https://example.org/other
    tags: [pipl, china]
    remediation: block it
  - id: good.plain
    title: Plain HTTP
    severity: medium
    scope: flow
    condition: app_protocol = http
    enabled: false
waivers:
  - rule: good.operator
    condition: hostname = 'cdn.example.com'
    reason: accepted
    expires: 2030-01-31
  - rule: 'good.*'
    reason: old
    expires: 2020-01-01
allowlists:
  - app: demo
    hosts: ['*.deepseek.com']
    services: [deepseek]
    networks: ['3.173.0.0/16', '::1']
)";

}  // namespace

TEST_SUITE("rules.load") {

TEST_CASE("a complete policy loads with every part") {
  const auto r = load(kGood);
  for (const auto& e : r.errors) INFO(e);
  REQUIRE(r.ok());
  const Policy& p = r.policy;
  REQUIRE(p.files.size() == 1);
  CHECK(p.files[0].name == "good");
  CHECK(p.files[0].rules == 2);
  REQUIRE(p.rules.size() == 2);
  const Rule& op = p.rules[0];
  CHECK(op.id == "good.operator");
  CHECK(op.severity == Severity::kHigh);
  CHECK(op.scope == lang::Scope::kDestination);
  CHECK(op.predicate.has_value());
  CHECK(op.pack == "good");
  CHECK(op.origin.line == 11);
  REQUIRE(op.references.size() == 2);
  CHECK(op.references[0].title == "PIPL");
  CHECK(op.references[1].title.empty());
  CHECK(op.references[1].url == "https://example.org/other");
  CHECK(op.tags == std::vector<std::string>{"pipl", "china"});
  REQUIRE(op.message_template.pieces.size() == 3);
  CHECK(std::get<lang::FieldId>(op.message_template.pieces[0]) == lang::FieldId::kHostname);
  CHECK(std::get<std::string>(op.message_template.pieces[1]) == " is run by ");
  CHECK_FALSE(p.rules[1].enabled);
  REQUIRE(p.waivers.size() == 2);
  CHECK_FALSE(p.waivers[0].expired);
  CHECK(p.waivers[0].expires == 20300131);
  CHECK(p.waivers[0].predicate_for(lang::Scope::kDestination) != nullptr);
  CHECK(p.waivers[1].expired);
  // A glob waiver covers rules of two scopes: no condition, so no predicates needed.
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].find("expired on 2020-01-01") != std::string::npos);
  REQUIRE(p.allowlists.size() == 1);
  CHECK(p.allowlists[0].networks.size() == 2);
}

TEST_CASE("an empty file is an empty policy; a YAML scalar is not") {
  CHECK(load("").ok());
  CHECK(load("# only a comment\n").ok());
  const auto r = load("just text\n");
  CHECK(first_line(r).find("p.yaml:1:1: a policy file must be a mapping") == 0);
}

TEST_CASE("YAML syntax errors carry the line and column yaml-cpp reports") {
  const auto r = load("rules:\n  - id: a\n    title: [unclosed\n");
  CHECK(first_line(r).find("p.yaml:4:") == 0);
  CHECK(first_line(r).find("invalid YAML") != std::string::npos);
}

TEST_CASE("unknown keys, missing keys, bad severities and scopes point at the spot") {
  auto r = load("rulez: []\n");
  CHECK(first_line(r) ==
        "p.yaml:1:1: unknown key 'rulez' in a policy file (allowed: policy, include, lists, macros, rules, waivers, "
        "allowlists)");
  r = load("rules:\n  - id: a.b\n    title: T\n    severity: high\n    scope: flow\n    condtion: x\n");
  CHECK(first_line(r).find("p.yaml:6:5: unknown key 'condtion' in a rule") == 0);
  r = load("rules:\n  - id: a.b\n    title: T\n    severity: high\n    scope: flow\n");
  CHECK(first_line(r) == "p.yaml:2:9: rule 'a.b' is not defined by an earlier file, so it cannot be overridden here; "
                         "a new rule needs condition");
  r = load("rules:\n  - id: a.b\n    title: T\n    severity: severe\n    scope: flow\n    condition: encrypted\n");
  CHECK(first_line(r) == "p.yaml:4:15: severity 'severe' is not one of info, low, medium, high, critical");
  CHECK(caret_line(r) == "              ^");
  r = load("rules:\n  - id: a.b\n    title: T\n    severity: low\n    scope: packet\n    condition: encrypted\n");
  CHECK(first_line(r) == "p.yaml:5:12: scope 'packet' is not one of destination, flow, dns, capture, request");
  r = load("rules:\n  - id: A.B\n    title: T\n    severity: low\n    scope: flow\n    condition: encrypted\n");
  CHECK(first_line(r).find("p.yaml:2:9: rule id 'A.B' may only use") == 0);
}

TEST_CASE("condition errors point into the condition, inside quotes and folded lines") {
  auto r = load("rules:\n  - id: a.b\n    title: T\n    severity: low\n    scope: destination\n"
                "    condition: \"hostname = 'x' and prot = 1\"\n");
  CHECK(first_line(r) == "p.yaml:6:36: unknown field 'prot' (flowaudit rules fields lists them) (in rule a.b)");
  CHECK(caret_line(r) == "                                   ^");
  r = load("rules:\n  - id: a.b\n    title: T\n    severity: low\n    scope: destination\n"
           "    condition: >\n      hostname = 'x'\n      and port = 'https'\n");
  CHECK(first_line(r).find("p.yaml:8:18: field 'port' is an integer: expected a number") == 0);
  CHECK(caret_line(r) == "                 ^");
  r = load("rules:\n  - id: a.b\n    title: T\n    severity: low\n    scope: destination\n"
           "    condition: hostname = 'x' and\n      tls.version = 'TLS 1.0'\n");
  CHECK(first_line(r).find("p.yaml:7:7: field 'tls.version' belongs to flow records, not to a destination rule") == 0);
  r = load("rules:\n  - id: a.b\n    title: T\n    severity: low\n    scope: destination\n"
           "    condition: hostname matches '(unclosed'\n");
  CHECK(first_line(r).find("p.yaml:6:33: invalid regular expression") == 0);
  r = load("rules:\n  - id: a.b\n    title: T\n    severity: low\n    scope: destination\n"
           "    condition: hostname = 'x' and and\n");
  CHECK(first_line(r).find("p.yaml:6:35:") == 0);
}

TEST_CASE("errors inside macros name the chain rule > macro and point into the macro") {
  const auto r = load(R"(lists:
  - list: codes
    items: [CN]
macros:
  - macro: inner
    condition: geo.country = china
  - macro: outer
    condition: encrypted and inner
rules:
  - id: r.one
    title: T
    severity: low
    scope: destination
    condition: unknown_macro or outer
)");
  REQUIRE(r.errors.size() == 2);
  // The macro is checked on its own first; the rule then reports only what is its own.
  CHECK(r.errors[0].substr(0, r.errors[0].find('\n')) ==
        "p.yaml:6:30: field 'geo.country' is a country: expected a country code (two upper-case letters, e.g. CN), "
        "found word 'china' (in macro inner)");
  CHECK(r.errors[1].substr(0, r.errors[1].find('\n')) == "p.yaml:14:16: unknown macro 'unknown_macro' (in rule r.one)");
}

TEST_CASE("a scope error found through a macro names rule > macro") {
  const auto r = load(R"(macros:
  - macro: old_tls
    condition: tls.version in ('TLS 1.0', 'TLS 1.1')
rules:
  - id: r.one
    title: T
    severity: low
    scope: destination
    condition: old_tls
)");
  CHECK(first_line(r) ==
        "p.yaml:3:16: field 'tls.version' belongs to flow records, not to a destination rule (in rule r.one > macro "
        "old_tls)");
}

TEST_CASE("unknown lists, macro cycles, duplicate ids and names") {
  auto r = load("rules:\n  - id: a.b\n    title: T\n    severity: low\n    scope: destination\n"
                "    condition: geo.country in nowhere\n");
  CHECK(first_line(r) == "p.yaml:6:31: unknown list 'nowhere' (in rule a.b)");
  r = load("macros:\n  - macro: a\n    condition: b\n  - macro: b\n    condition: a\n");
  CHECK(first_line(r).find("macro cycle: a > b > a") != std::string::npos);
  r = load("rules:\n  - id: a.b\n    title: T\n    severity: low\n    scope: flow\n    condition: encrypted\n"
           "  - id: a.b\n    title: T\n    severity: low\n    scope: flow\n    condition: encrypted\n");
  CHECK(first_line(r) == "p.yaml:7:9: duplicate rule id 'a.b' in this file");
  r = load("macros:\n  - macro: hostname\n    condition: encrypted\n");
  CHECK(first_line(r).find("p.yaml:2:12: macro name 'hostname' must be an identifier that is neither") == 0);
  r = load("lists:\n  - list: x\n    items: [a]\n  - list: x\n    items: [b]\n");
  CHECK(first_line(r) == "p.yaml:4:11: duplicate list 'x' in this file");
  r = load("lists:\n  - list: x\n    append: true\n    items: [a]\n");
  CHECK(first_line(r) == "p.yaml:2:11: append to list 'x', which no earlier file defines");
}

TEST_CASE("messages are checked like conditions") {
  auto r = load("rules:\n  - id: a.b\n    title: T\n    severity: low\n    scope: destination\n"
                "    condition: encrypted\n    message: \"{hostname} {hots}\"\n");
  CHECK(first_line(r) == "p.yaml:7:27: unknown field 'hots' in message (flowaudit rules fields lists them) (in rule a.b)");
  r = load("rules:\n  - id: a.b\n    title: T\n    severity: low\n    scope: dns\n"
           "    condition: dns.query = x\n    message: \"{ip}\"\n");
  CHECK(first_line(r).find("field 'ip' belongs to destination records, not to a dns rule") != std::string::npos);
  r = load("rules:\n  - id: a.b\n    title: T\n    severity: low\n    scope: dns\n"
           "    condition: dns.query = x\n    message: \"{{literal}} {dns.query\"\n");
  CHECK(first_line(r).find("unclosed '{' in message") != std::string::npos);
}

TEST_CASE("waivers: dates, unknown rules, conditions in the rule's scope") {
  const std::string rule = "rules:\n  - id: a.b\n    title: T\n    severity: low\n    scope: flow\n"
                           "    condition: encrypted\n";
  auto r = load(rule + "waivers:\n  - rule: a.b\n    reason: r\n    expires: 2026-02-30\n");
  CHECK(first_line(r) == "p.yaml:10:14: expires '2026-02-30' is not a date YYYY-MM-DD");
  r = load(rule + "waivers:\n  - rule: a.c\n    reason: r\n    expires: 2027-01-01\n");
  CHECK(first_line(r) == "p.yaml:8:11: waiver for 'a.c', which names no rule of the policy");
  r = load(rule + "waivers:\n  - rule: a.b\n    expires: 2027-01-01\n");
  CHECK(first_line(r) == "p.yaml:8:5: a waiver needs reason");
  r = load(rule + "waivers:\n  - rule: a.b\n    reason: r\n    expires: 2027-01-01\n    condition: dns.query = x\n");
  CHECK(first_line(r).find("p.yaml:11:16: field 'dns.query' belongs to dns records, not to a flow rule (in waiver "
                           "for a.b)") == 0);
  r = load(rule + "waivers:\n  - rule: a.b\n    reason: r\n    expires: 2026-11-29\n");
  CHECK(r.ok());
  CHECK_FALSE(r.policy.waivers[0].expired);  // valid through its last day
}

TEST_CASE("allowlists need something to allow and valid networks") {
  auto r = load("allowlists:\n  - app: x\n");
  CHECK(first_line(r) == "p.yaml:2:5: allowlist 'x' allows nothing: give hosts, services or networks");
  r = load("allowlists:\n  - app: x\n    networks: ['10.0.0.0/33']\n");
  CHECK(first_line(r) == "p.yaml:3:16: networks item '10.0.0.0/33' is not an IP address or CIDR prefix");
}

TEST_CASE("limits: deep YAML, deep conditions and long values are errors, not crashes") {
  std::string deep = "rules: ";
  for (int i = 0; i < 5000; ++i) deep += "[";
  auto r = load(deep);
  CHECK_FALSE(r.ok());
  std::string nested = "rules:\n  - id: a.b\n    title: T\n    severity: low\n    scope: flow\n    condition: ";
  for (int i = 0; i < 200; ++i) nested += "(";
  nested += "encrypted";
  for (int i = 0; i < 200; ++i) nested += ")";
  r = load(nested + "\n");
  CHECK(first_line(r).find("nest") != std::string::npos);
  r = load("rules:\n  - id: a.b\n    title: " + std::string(300, 'x') + "\n");
  CHECK(first_line(r).find("title is longer than 200 bytes") != std::string::npos);
  std::string many = "lists:\n";
  for (int i = 0; i < 80; ++i) many += "  - list: l" + std::to_string(i) + "\n    items: [a\n";
  r = load(many);
  CHECK(r.errors.size() <= kMaxErrors);
}

TEST_CASE("files compose: includes first, later files override, disable and append") {
  const fs::path dir = fs::temp_directory_path() / ("flowaudit-load-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  };
  write("base.yaml", R"(lists:
  - list: codes
    items: [CN]
rules:
  - id: base.one
    title: One
    severity: high
    scope: destination
    condition: geo.country in codes
  - id: base.two
    title: Two
    severity: low
    scope: flow
    condition: encrypted
)");
  const auto top = write("top.yaml", R"(include: [base.yaml]
lists:
  - list: codes
    append: true
    items: [HK]
rules:
  - id: base.one
    severity: critical
  - id: base.two
    enabled: false
  - id: top.three
    title: Three
    severity: info
    scope: capture
    condition: capture.coverage < 50
)");
  LoadOptions options;
  auto r = load_policy({top}, options);
  for (const auto& e : r.errors) INFO(e);
  REQUIRE(r.ok());
  REQUIRE(r.policy.files.size() == 2);
  CHECK(r.policy.files[0].name == "base");
  CHECK(r.policy.files[1].rules == 1);
  REQUIRE(r.policy.rules.size() == 3);
  CHECK(r.policy.rules[0].severity == Severity::kCritical);
  CHECK(r.policy.rules[0].pack == "base");
  CHECK_FALSE(r.policy.rules[1].enabled);

  // The same file named twice loads once.
  r = load_policy({top, (dir / "base.yaml").string()}, options);
  CHECK(r.ok());
  CHECK(r.policy.files.size() == 2);

  write("a.yaml", "include: [b.yaml]\n");
  const auto b = write("b.yaml", "include:\n  - a.yaml\n");
  r = load_policy({b}, options);
  CHECK(first_line(r).find("a.yaml:1:11: include cycle: b.yaml > a.yaml > b.yaml") != std::string::npos);

  const auto missing = write("m.yaml", "include: [nothere.yaml]\n");
  r = load_policy({missing}, options);
  CHECK(first_line(r).find("m.yaml:1:11: cannot include 'nothere.yaml': no such file") != std::string::npos);

  r = load_policy({"no-such-pack"}, options);
  CHECK(first_line(r).find("unknown built-in policy 'no-such-pack'") != std::string::npos);
  r = load_policy({(dir / "absent.yaml").string()}, options);
  CHECK(first_line(r).find("absent.yaml: no such file") != std::string::npos);
  r = load_policy({dir.string() + "/"}, options);
  CHECK(first_line(r).find("is a directory") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("an include that is not a policy file: the error gives its position, never its lines") {
  const fs::path dir = fs::temp_directory_path() / ("flowaudit-secret-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name, std::ios::binary) << text;
    return (dir / name).string();
  };
  struct Case {
    const char* name;
    std::string text;
    const char* error;  // the whole error: FILE:LINE:COL: message, one line
  };
  const std::vector<Case> cases{
      {"passwd", "root:x:0:0:root:/root:/bin/bash\nalice:SECRET-hash:1000:1000::/home/alice:/bin/sh\n",
       "passwd:1:1: a policy file must be a mapping with some of: policy, include, lists, macros, rules, waivers, "
       "allowlists"},
      {"creds.yaml", "aws_access_key_id: AKIAEXAMPLE\naws_secret_access_key: SECRET-key\n",
       "creds.yaml:1:1: not a policy file: none of its keys is policy, include, lists, macros, rules, waivers or "
       "allowlists"},
      {"broken.yaml", "token: SECRET-token\n  nested: [unclosed\n", nullptr},
      {"binary.bin", std::string("\x7f" "ELF\x02\x01\x01\0\0\0SECRET-bytes\n\x01\x02: [", 27), nullptr},
      {"list.yaml", "- SECRET-one\n- SECRET-two\n", "list.yaml:1:1: a policy file must be a mapping with some of: "
                                                    "policy, include, lists, macros, rules, waivers, allowlists"},
  };
  for (const Case& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    write(name, c.text);
    const auto top = write("top.yaml", "include: [./" + name + "]\n");
    const auto r = load_policy({top}, LoadOptions{});
    REQUIRE(r.errors.size() == 1);
    const std::string& e = r.errors.front();
    CHECK(e.find("SECRET") == std::string::npos);
    CHECK(e.find("alice") == std::string::npos);
    CHECK(e.find("aws_") == std::string::npos);
    CHECK(e.find('\n') == std::string::npos);
    CHECK(e.rfind((dir / ("./" + name)).string() + ":", 0) == 0);
    if (c.error != nullptr) CHECK(e == (dir.string() + "/./" + c.error));
  }
  // An included policy file with a mistake still shows its line and a caret: it is a policy.
  write("typo.yaml", "rules:\n  - id: a.b\n    title: T\n    severity: low\n    scope: flow\n"
                     "    condition: encrypted and prot = 1\n");
  const auto r = load_policy({write("top.yaml", "include: [typo.yaml]\n")}, LoadOptions{});
  REQUIRE(r.errors.size() == 1);
  INFO(r.errors.front());
  CHECK(r.errors.front().find("typo.yaml:6:30: unknown field 'prot'") != std::string::npos);
  CHECK(r.errors.front().find("\n    condition: encrypted and prot = 1\n") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("positions inside scalars") {
  const std::string text = "a: \"x \\\"y\\\" z\"\nb: >\n  one\n  two\n";
  // value of a: x "y" z ; 'z' is at value offset 6, file column 12 (0-based)
  auto where = locate_in_scalar(text, 3, "x \"y\" z", 6);
  CHECK(where.line == 0);
  CHECK(where.column == 12);
  const std::size_t b = text.find('>');
  where = locate_in_scalar(text, b, "one two\n", 4);
  CHECK(where.line == 3);
  CHECK(where.column == 2);
  // Values that do not belong to the text fall back to the scalar's start.
  where = locate_in_scalar(text, b, "something else entirely", 10);
  CHECK(where.offset == b);
  CHECK(render_at("f.yaml", "key: value\n", location_at("key: value\n", 5), "bad") == "f.yaml:1:6: bad\nkey: value\n     ^");
}

TEST_CASE("dates") {
  CHECK(parse_date("2027-06-30") == 20270630u);
  CHECK(parse_date("2024-02-29") == 20240229u);
  CHECK_FALSE(parse_date("2023-02-29"));
  CHECK_FALSE(parse_date("2027-6-30"));
  CHECK_FALSE(parse_date("30.06.2027"));
  CHECK(format_date(20270630) == "2027-06-30");
  CHECK(today_utc() > 20250101u);
}

}  // TEST_SUITE
}  // namespace flowaudit::rules::load
