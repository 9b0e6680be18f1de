#include "rules/lang/compiler.h"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <variant>

#include "rules/lang/parser.h"

namespace lang = flowaudit::rules::lang;
using flowaudit::core::IpAddress;
using lang::FieldId;

namespace {

class FakeRecord : public lang::Record {
 public:
  std::map<FieldId, lang::Value> values;
  std::optional<lang::Value> get(FieldId field) const override {
    auto it = values.find(field);
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
};

FakeRecord deepseek() {
  FakeRecord r;
  r.values[FieldId::kHostname] = std::string_view("chat.deepseek.com");
  r.values[FieldId::kIp] = *IpAddress::parse("160.79.104.10");
  r.values[FieldId::kPort] = std::int64_t{443};
  r.values[FieldId::kAppProtocol] = std::string_view("tls");
  r.values[FieldId::kEncrypted] = true;
  r.values[FieldId::kGeoCountry] = std::string_view("US");
  r.values[FieldId::kServiceJurisdiction] = std::string_view("CN");
  r.values[FieldId::kBytesOut] = std::int64_t{250000};
  r.values[FieldId::kTlsVersion] = std::string_view("TLS 1.3");
  r.values[FieldId::kTlsAlpn] = std::string_view("h2\0http/1.1", 11);
  return r;
}

struct Fixture {
  std::map<std::string, lang::NodePtr> macro_trees;
  lang::MacroMap macros;
  lang::ListMap lists;

  void macro(const std::string& name, std::string_view text) {
    auto parsed = lang::parse_condition(text);
    REQUIRE(std::holds_alternative<lang::NodePtr>(parsed));
    macro_trees[name] = std::get<lang::NodePtr>(std::move(parsed));
    macros[name] = macro_trees[name].get();
  }

  std::variant<lang::Predicate, lang::Error> compile(std::string_view text,
                                                     std::optional<lang::Scope> scope = std::nullopt) {
    auto parsed = lang::parse_condition(text);
    if (auto* e = std::get_if<lang::Error>(&parsed)) return *e;
    keep_ = std::get<lang::NodePtr>(std::move(parsed));
    return lang::compile(*keep_, {&macros, &lists, scope});
  }

  bool eval(std::string_view text, const lang::Record& record) {
    auto result = compile(text);
    if (auto* e = std::get_if<lang::Error>(&result)) {
      FAIL_CHECK(lang::render_error(*e, "t", text));
      return false;
    }
    return std::get<lang::Predicate>(result).evaluate(record);
  }

  lang::Error error(std::string_view text, std::optional<lang::Scope> scope = std::nullopt) {
    auto result = compile(text, scope);
    REQUIRE(std::holds_alternative<lang::Error>(result));
    return std::get<lang::Error>(result);
  }

 private:
  lang::NodePtr keep_;
};

}  // namespace

TEST_SUITE("rules.lang.compiler") {
  TEST_CASE("evaluates comparisons of every type on a record") {
    Fixture f;
    const FakeRecord r = deepseek();
    CHECK(f.eval("service.jurisdiction in (CN, HK, MO) or geo.country in (CN, HK, MO)", r));
    CHECK_FALSE(f.eval("geo.country in (CN, HK, MO)", r));
    CHECK_FALSE(f.eval("app_protocol = http and bytes_out > 0", r));
    CHECK(f.eval("bytes_out > 100 KB and bytes_out <= 250KB and bytes_out != 1", r));
    CHECK_FALSE(f.eval("bytes_out > 250 KB", r));
    CHECK(f.eval("port in (80, 443) and port >= 443 and port < 444", r));
    CHECK(f.eval("encrypted and encrypted = true and not encrypted = false and encrypted != false", r));
    CHECK(f.eval("ip = '160.79.104.10' and ip in ('10.0.0.0/8', '160.79.104.0/23') and ip != '160.79.104.11'", r));
    CHECK_FALSE(f.eval("ip in ('10.0.0.0/8', '2607:6bc0::/48')", r));
    CHECK_FALSE(f.eval("tls.version in ('TLS 1.0', 'TLS 1.1')", r));
    CHECK(f.eval("hostname endswith '.deepseek.com' and hostname startswith 'chat.' and hostname contains 'seek'", r));
    CHECK(f.eval("tls.alpn contains h2 and tls.alpn in ('http/1.1', spdy) and not tls.alpn contains h3", r));
    CHECK(f.eval("true and not false", r));
  }

  TEST_CASE("glob and matches") {
    Fixture f;
    const FakeRecord r = deepseek();
    CHECK(f.eval("hostname glob '*.deepseek.com'", r));
    CHECK(f.eval("hostname glob 'chat.d??pseek.*'", r));
    CHECK_FALSE(f.eval("hostname glob '*.openai.com'", r));
    CHECK(f.eval("hostname matches '^chat\\\\.[a-z]+\\\\.com$'", r));
    CHECK_FALSE(f.eval("hostname matches '^api\\\\.'", r));
    CHECK(lang::glob_match("*", ""));
    CHECK(lang::glob_match("a*b*c", "aXbYbZc"));
    CHECK_FALSE(lang::glob_match("a*b?c", "abc"));
    CHECK(lang::glob_match("**a", "a"));
  }

  TEST_CASE("exists, and missing fields make comparisons false") {
    Fixture f;
    const FakeRecord r = deepseek();
    CHECK(f.eval("hostname exists and not service.operator exists", r));
    CHECK_FALSE(f.eval("service.operator = 'x'", r));
    CHECK_FALSE(f.eval("service.operator != 'x'", r));
    CHECK(f.eval("not service.operator = 'x'", r));
  }

  TEST_CASE("macros and lists are resolved on the tree") {
    Fixture f;
    f.lists["china"] = {"CN", "HK", "MO"};
    f.lists["web_ports"] = {"80", "443"};
    f.macro("china_operator", "service.jurisdiction in china");
    f.macro("china_server", "geo.country in china");
    f.macro("china_transfer", "china_operator or china_server");
    const FakeRecord r = deepseek();
    CHECK(f.eval("china_transfer and port in web_ports", r));
    CHECK_FALSE(f.eval("china_server", r));
    FakeRecord other = r;
    other.values[FieldId::kServiceJurisdiction] = std::string_view("US");
    CHECK_FALSE(f.eval("china_transfer", other));
  }

  TEST_CASE("macro cycles, unknown macros and lists, errors inside macros carry the chain") {
    Fixture f;
    f.macro("a", "port = 1 or b");
    f.macro("b", "c and true");
    f.macro("c", "a");
    lang::Error e = f.error("hostname exists and a");
    CHECK(e.message == "macro cycle: a > b > c > a");
    CHECK(e.macro_chain == std::vector<std::string>{"a", "b", "c"});
    CHECK(e.pos.column == 1);

    f.macro("self", "not self");
    CHECK(f.error("self").message == "macro cycle: self > self");

    e = f.error("port = 1 or nothing_here");
    CHECK(e.message == "unknown macro 'nothing_here'");
    CHECK(e.pos.column == 13);

    e = f.error("hostname in missing");
    CHECK(e.message == "unknown list 'missing'");
    CHECK(e.pos.column == 13);

    f.macro("bad", "port = 1 and\n  port = 'x'");
    f.macro("outer", "bad");
    e = f.error("outer");
    CHECK(e.message == "field 'port' is an integer: expected a number, found string 'x'");
    CHECK(e.pos.line == 2);
    CHECK(e.pos.column == 10);
    CHECK(e.macro_chain == std::vector<std::string>{"outer", "bad"});
  }

  TEST_CASE("type errors with exact messages and positions") {
    Fixture f;
    f.lists["ports"] = {"80", "http"};
    struct Case {
      const char* text;
      const char* message;
      unsigned column;
    };
    const Case cases[] = {
        {"nope = 1", "unknown field 'nope' (flowaudit rules fields lists them)", 1},
        {"port contains 8", "operator 'contains' does not apply to an integer field 'port' (use =, !=, <, <=, >, >=, in, exists)", 1},
        {"port = 'x'", "field 'port' is an integer: expected a number, found string 'x'", 8},
        {"hostname < 'b'", "operator '<' does not apply to a string field 'hostname' (use =, !=, contains, startswith, endswith, glob, matches, in, exists)", 1},
        {"hostname = 3", "field 'hostname' is a string: expected a string, found number 3", 12},
        {"encrypted = yes", "field 'encrypted' is a boolean: expected true or false, found word 'yes'", 13},
        {"encrypted in (true)", "operator 'in' does not apply to a boolean field 'encrypted' (use =, !=, exists)", 1},
        {"geo.country = cn", "field 'geo.country' is a country: expected a country code (two upper-case letters, e.g. CN), found word 'cn'", 15},
        {"geo.country in (CN, 'CHN')", "field 'geo.country' is a country: expected a country code (two upper-case letters, e.g. CN), found string 'CHN'", 21},
        {"ip in ('10.0.0.0/33')", "field 'ip' is an address: expected an IP address or CIDR prefix in quotes, found string '10.0.0.0/33'", 8},
        {"ip = localhost", "field 'ip' is an address: expected an IP address or CIDR prefix in quotes, found word 'localhost'", 6},
        {"port in ports", "field 'port' is an integer: expected a number, found string 'http'", 9},
        {"port", "field 'port' is an integer: it needs an operator (only boolean fields stand alone)", 1},
        {"tls.alpn = h2", "operator '=' does not apply to a list field 'tls.alpn' (use contains, in, exists)", 1},
    };
    for (const Case& c : cases) {
      CAPTURE(c.text);
      const lang::Error e = f.error(c.text);
      CHECK(e.message == c.message);
      CHECK(e.pos.column == c.column);
    }
  }

  TEST_CASE("bad regular expressions are compile errors") {
    Fixture f;
    const lang::Error e = f.error("hostname matches '(['");
    CHECK(e.message.rfind("invalid regular expression: ", 0) == 0);
    CHECK(e.pos.column == 18);
    CHECK(f.error("hostname matches '" + std::string(2000, 'a') + "'").message ==
          "regular expression is longer than 1024 bytes");
    // RE2 refuses the nested repetition itself (the product counts), before building anything.
    CHECK(f.error("hostname matches '(a{1000}){1000}'").message ==
          "invalid regular expression: invalid repetition size: {1000} (RE2 allows at most 1000 repetitions, nested "
          "counts multiplied)");
    const lang::Error lookahead = f.error("hostname = 'x' and\n  hostname matches '^a(?=b)'");
    CHECK(lookahead.message.rfind("lookahead (?=...) is not supported", 0) == 0);
    CHECK(lookahead.pos.line == 2);
    CHECK(lookahead.pos.column == 20);
    CHECK(f.eval("hostname matches '^[a-z]{2,20}\\\\.'", deepseek()));
  }

  TEST_CASE("fields outside the rule's scope are rejected") {
    Fixture f;
    const lang::Error e = f.error("port = 53 and dns.query exists", lang::Scope::kDestination);
    CHECK(e.message == "field 'dns.query' belongs to dns records, not to a destination rule");
    CHECK(e.pos.column == 15);
    CHECK(std::holds_alternative<lang::Predicate>(f.compile("tls.version = 'TLS 1.0' and port = 443", lang::Scope::kFlow)));
  }

  TEST_CASE("macros shared many times compile once; deep macro chains are an error") {
    Fixture f;
    f.macro("m0", "port = 443");
    for (int i = 1; i < 40; ++i) {
      f.macro("m" + std::to_string(i), "m" + std::to_string(i - 1) + " and m" + std::to_string(i - 1));
    }
    CHECK(f.eval("m10", deepseek()));
    CHECK(f.error("m39").message == "condition expands to more than 100000 nodes through its macros");
    Fixture g;
    g.macro("d0", "port = 443");
    for (int i = 1; i < 300; ++i) g.macro("d" + std::to_string(i), "not d" + std::to_string(i - 1));
    CHECK(g.error("d299").message == "condition nests deeper than 256 levels through its macros");
  }

  TEST_CASE("evaluate never throws: a record of the wrong type or one that throws gives false") {
    Fixture f;
    FakeRecord wrong;
    wrong.values[FieldId::kPort] = std::string_view("443");
    wrong.values[FieldId::kHostname] = std::int64_t{1};
    CHECK_FALSE(f.eval("port = 443", wrong));
    CHECK_FALSE(f.eval("hostname matches 'a'", wrong));
    struct Throwing : lang::Record {
      std::optional<lang::Value> get(FieldId) const override { throw 1; }
    } throwing;
    CHECK_FALSE(f.eval("port = 443", throwing));
    CHECK(f.eval("not port exists", throwing));
  }
}
