#include "analysis/enrich/service_catalog.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "unit/temp_dir.h"

using flowaudit::analysis::enrich::CatalogError;
using flowaudit::analysis::enrich::Category;
using flowaudit::analysis::enrich::Layer;
using flowaudit::analysis::enrich::Service;
using flowaudit::analysis::enrich::ServiceCatalog;
using flowaudit::core::IpAddress;
namespace enrich = flowaudit::analysis::enrich;

namespace {

constexpr std::string_view kSmall = R"(services:
  - id: deepseek
    name: DeepSeek
    category: ai-chat
    operator: Hangzhou DeepSeek Artificial Intelligence Co., Ltd.
    jurisdiction: CN
    domains: [deepseek.com]
    source: test
  - id: deepseek-api
    name: DeepSeek API
    category: ai-api
    operator: Hangzhou DeepSeek Artificial Intelligence Co., Ltd.
    jurisdiction: CN
    hosts: [api.deepseek.com]
    source: test
  - id: volcengine
    name: Volcengine
    category: telemetry
    operator: Beijing Volcano Engine Technology Co., Ltd.
    jurisdiction: CN
    domains: [volces.com]
    source: test
  - id: apmplus
    name: APMPlus
    category: apm
    operator: Beijing Volcano Engine Technology Co., Ltd.
    jurisdiction: CN
    domains: [apmplus.ap-southeast-1.volces.com]
    source: test
  - id: idn
    name: IDN example
    category: analytics
    operator: Example
    jurisdiction: DE
    domains: [xn--bcher-kva.example]
    source: test
  - id: cdn
    name: CDN
    category: cdn
    operator: Example CDN
    jurisdiction: US
    cidrs: [104.16.0.0/13, 2606:4700::/32]
    source: test
  - id: resolver
    name: Resolver
    category: dns-resolver
    operator: Example DNS
    jurisdiction: US
    cidrs: [104.16.1.1/32, 2606:4700:4700::1111/128]
    source: test
)";

ServiceCatalog small_catalog() {
  ServiceCatalog c;
  std::vector<CatalogError> errors;
  REQUIRE(c.add_text(kSmall, "small.yaml", Layer::kBuiltIn, errors));
  REQUIRE(errors.empty());
  return c;
}

std::string id_of(const Service* s) { return s == nullptr ? std::string("-") : s->id; }

IpAddress ip(std::string_view text) {
  const auto a = IpAddress::parse(text);
  REQUIRE(a.has_value());
  return *a;
}

// Loads `text` as a file and returns the first error line ("" if it loaded).
std::string first_error(std::string_view text, Layer layer = Layer::kBuiltIn) {
  flowaudit::test::TempDir dir;
  REQUIRE(dir.ok());
  const std::string path = dir.write(
      "bad.yaml", std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  ServiceCatalog c;
  std::vector<CatalogError> errors;
  const bool ok = c.add_file(path, layer, errors);
  if (ok) return "";
  REQUIRE_FALSE(errors.empty());
  CHECK(errors.front().file == path);
  const std::string line = errors.front().to_string();
  CHECK(line.find('\n') == std::string::npos);
  return line.substr(path.size());  // ":LINE:COL: message"
}

std::string entry(std::string_view extra_fields) {
  return std::string("services:\n  - id: x\n    name: X\n    category: analytics\n    operator: O\n"
                     "    jurisdiction: US\n    source: s\n") +
         std::string(extra_fields);
}

}  // namespace

TEST_SUITE("analysis.enrich.service_catalog") {
  TEST_CASE("suffix match is on label boundaries") {
    const auto c = small_catalog();
    CHECK(id_of(c.match("deepseek.com")) == "deepseek");
    CHECK(id_of(c.match("chat.deepseek.com")) == "deepseek");
    CHECK(id_of(c.match("a.b.c.deepseek.com")) == "deepseek");
    CHECK(id_of(c.match("evil-deepseek.com")) == "-");
    CHECK(id_of(c.match("evildeepseek.com")) == "-");
    CHECK(id_of(c.match("deepseek.com.evil.net")) == "-");
    CHECK(id_of(c.match("deepseek.co")) == "-");
    CHECK(id_of(c.match("eepseek.com")) == "-");
  }

  TEST_CASE("case and trailing dot are ignored") {
    const auto c = small_catalog();
    CHECK(id_of(c.match("DEEPSEEK.COM.")) == "deepseek");
    CHECK(id_of(c.match("Chat.DeepSeek.Com")) == "deepseek");
    CHECK(id_of(c.match("API.DEEPSEEK.COM.")) == "deepseek-api");
  }

  TEST_CASE("malformed names match nothing") {
    const auto c = small_catalog();
    CHECK(c.match("") == nullptr);
    CHECK(c.match(".") == nullptr);
    CHECK(c.match("..") == nullptr);
    CHECK(c.match("com") == nullptr);
    CHECK(c.match("deepseek") == nullptr);
    CHECK(c.match(".deepseek.com") == nullptr);
    CHECK(c.match("chat..deepseek.com") == nullptr);
    CHECK(c.match("deepseek.com..") == nullptr);
    CHECK(c.match(std::string_view("deepseek.com\0", 13)) == nullptr);
    std::string long_name;
    while (long_name.size() < 300) long_name += "a.";
    long_name += "deepseek.com";
    CHECK(c.match(long_name) == nullptr);  // longer than a DNS name can be
    std::string max_name(253 - std::string_view(".deepseek.com").size(), 'a');
    for (std::size_t i = 60; i < max_name.size(); i += 61) max_name[i] = '.';
    max_name += ".deepseek.com";
    REQUIRE(max_name.size() == 253);
    CHECK(id_of(c.match(max_name)) == "deepseek");
  }

  TEST_CASE("punycode names match as they are written") {
    const auto c = small_catalog();
    CHECK(id_of(c.match("xn--bcher-kva.example")) == "idn");
    CHECK(id_of(c.match("www.XN--BCHER-KVA.example")) == "idn");
    CHECK(c.match("xn--bcher-kvb.example") == nullptr);
  }

  TEST_CASE("an exact host beats a domain suffix, the longest suffix wins") {
    const auto c = small_catalog();
    CHECK(id_of(c.match("api.deepseek.com")) == "deepseek-api");
    CHECK(id_of(c.match("x.api.deepseek.com")) == "deepseek");  // hosts are exact, not suffixes
    CHECK(id_of(c.match("gator.volces.com")) == "volcengine");
    CHECK(id_of(c.match("apmplus.ap-southeast-1.volces.com")) == "apmplus");
    CHECK(id_of(c.match("x.apmplus.ap-southeast-1.volces.com")) == "apmplus");
    CHECK(id_of(c.match("ap-southeast-1.volces.com")) == "volcengine");
  }

  TEST_CASE("addresses match the longest CIDR, IPv4-mapped IPv6 as IPv4") {
    const auto c = small_catalog();
    CHECK(id_of(c.match(ip("104.16.1.1"))) == "resolver");
    CHECK(id_of(c.match(ip("104.16.1.2"))) == "cdn");
    CHECK(id_of(c.match(ip("104.23.255.255"))) == "cdn");
    CHECK(id_of(c.match(ip("104.24.0.0"))) == "-");
    CHECK(id_of(c.match(ip("::ffff:104.16.1.1"))) == "resolver");
    CHECK(id_of(c.match(ip("2606:4700:4700::1111"))) == "resolver");
    CHECK(id_of(c.match(ip("2606:4700:4700::1112"))) == "cdn");
    CHECK(id_of(c.match(ip("2606:4701::1"))) == "-");
    CHECK(c.match(IpAddress{}) == nullptr);
  }

  TEST_CASE("the built-in catalog loads and covers AI services and trackers") {
    const std::filesystem::path data = std::filesystem::path(FLOWAUDIT_SOURCE_DIR) / "data";
    const auto files = enrich::catalog_files(data);
    REQUIRE(files.size() >= 4);
    std::vector<CatalogError> errors;
    const auto c = ServiceCatalog::load_default(data, errors);
    for (const auto& e : errors) MESSAGE(e.to_string());
    REQUIRE(c.has_value());
    std::size_t ai = 0, trackers = 0;
    for (const auto& s : c->services()) {
      ai += enrich::is_ai(s.category) ? 1 : 0;
      trackers += enrich::is_tracker(s.category) ? 1 : 0;
      CHECK(!s.source.empty());
    }
    CHECK(ai >= 20);
    CHECK(trackers >= 40);

    const Service* ds = c->match("chat.deepseek.com");
    REQUIRE(ds != nullptr);
    CHECK(ds->operator_name == "Hangzhou DeepSeek Artificial Intelligence Co., Ltd.");
    CHECK(ds->jurisdiction == "CN");
    CHECK(ds->category == Category::kAiChat);
    const Service* apm = c->match("apmplus.ap-southeast-1.volces.com");
    REQUIRE(apm != nullptr);
    CHECK(apm->operator_name == "Beijing Volcano Engine Technology Co., Ltd.");
    CHECK(apm->jurisdiction == "CN");
    CHECK(id_of(c->match("gator.volces.com")) == "volcengine");
    CHECK(id_of(c->match("ark.cn-beijing.volces.com")) == "volcengine-ark");
    CHECK(id_of(c->match("fp-it-acc.portal101.cn")) == "shumei");
    CHECK(id_of(c->match("evil-deepseek.com")) == "-");
    CHECK(id_of(c->match("d1234.cloudfront.net")) == "cloudfront");
    CHECK(id_of(c->match(ip("160.79.105.7"))) == "anthropic-api");
    CHECK(id_of(c->match(ip("2607:6bc0::10"))) == "anthropic-api");
    CHECK(id_of(c->match(ip("1.1.1.1"))) == "cloudflare-dns");
    CHECK(id_of(c->match(ip("2606:4700:4700::1111"))) == "cloudflare-dns");
    CHECK(id_of(c->match(ip("104.16.5.5"))) == "cloudflare");
    CHECK(id_of(c->match(ip("223.5.5.5"))) == "alidns");
  }

  TEST_CASE("a user file adds entries and overrides built-in ones by id") {
    auto c = small_catalog();
    const std::size_t before = c.size();
    std::vector<CatalogError> errors;
    const std::string_view user = R"(services:
  - id: deepseek
    name: DeepSeek (my notes)
    category: ai-chat
    operator: Beijing DeepSeek Artificial Intelligence Co., Ltd.
    jurisdiction: CN
    domains: [deepseek.com, deepseek.ai]
    source: mine
  - id: corp-proxy
    name: Corporate proxy
    category: cloud
    operator: Me
    jurisdiction: FR
    domains: [volces.com]
    source: mine
)";
    REQUIRE(c.add_text(user, "user.yaml", Layer::kUser, errors));
    CHECK(c.size() == before + 1);
    CHECK(c.match("chat.deepseek.ai")->operator_name == "Beijing DeepSeek Artificial Intelligence Co., Ltd.");
    CHECK(c.find("deepseek")->name == "DeepSeek (my notes)");
    CHECK(id_of(c.match("gator.volces.com")) == "corp-proxy");  // the user's claim wins
    CHECK(id_of(c.match("apmplus.ap-southeast-1.volces.com")) == "apmplus");  // still the longest
  }

  TEST_CASE("built-in files may not claim the same id or name twice") {
    auto c = small_catalog();
    std::vector<CatalogError> errors;
    CHECK_FALSE(c.add_text(entry("    domains: [deepseek.com]\n"), "two.yaml", Layer::kBuiltIn, errors));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].to_string() ==
          "two.yaml:8:15: domain 'deepseek.com' of 'x' is already claimed by 'deepseek' at small.yaml:2");
    errors.clear();
    CHECK_FALSE(c.add_text("services:\n  - id: deepseek\n    name: D\n    category: ai-chat\n    operator: O\n"
                           "    jurisdiction: CN\n    hosts: [a.example]\n    source: s\n",
                           "three.yaml", Layer::kBuiltIn, errors));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].to_string() == "three.yaml:2:5: duplicate id 'deepseek' (first defined at small.yaml:2)");
    CHECK(c.find("x") == nullptr);  // nothing from a failed file
  }

  TEST_CASE("bad catalog files give FILE:LINE:COL errors") {
    CHECK(first_error(entry("    domains: [example.com]\n")) == "");
    CHECK(first_error("services:\n  - id: [unclosed\n") .rfind(":3:1: invalid YAML", 0) == 0);
    CHECK(first_error("") == ": is empty; expected a mapping with a 'services' list");
    CHECK(first_error("- a\n- b\n") == ":1:1: the top level must be a mapping with a 'services' list");
    CHECK(first_error("servics: []\n") == ":1:1: unknown top-level key (only 'companies' and 'services' are allowed)");
    CHECK(first_error(entry("    domains: [Example.com]\n")) == ":8:15: domain 'Example.com' must be lower case");
    CHECK(first_error(entry("    domains: [example.com.]\n")).rfind(":8:15: domain 'example.com.' ends with a dot", 0) == 0);
    CHECK(first_error(entry("    domains: [com]\n")).rfind(":8:15: domain 'com' has a single label", 0) == 0);
    CHECK(first_error(entry("    domains: [exa mple.com]\n")).rfind(":8:15: domain 'exa mple.com' has a character", 0) == 0);
    CHECK(first_error(entry("    domains: [" + std::string(64, 'a') + ".com]\n"))
              .find("has a label longer than 63 characters") != std::string::npos);
    CHECK(first_error(entry("    cidrs: [10.0.0.0/33]\n")) == ":8:13: cidr '10.0.0.0/33' is not an address or address/prefix");
    CHECK(first_error(entry("    cidrs: [10.1.2.3/8]\n")) ==
          ":8:13: cidr '10.1.2.3/8' has bits set past the prefix; did you mean 10.0.0.0/8?");
    CHECK(first_error(entry("    cidrs: [2001:db8::1/32]\n")).find("did you mean 2001:db8::/32?") != std::string::npos);
    CHECK(first_error(entry("    domains: example.com\n")).rfind(":8:14: domains must be a list", 0) == 0);
    CHECK(first_error(entry("    domain: [example.com]\n")).rfind(":8:5: unknown key 'domain'", 0) == 0);
    CHECK(first_error(entry("")) == ":2:5: entry 'x' needs at least one of domains, hosts and cidrs");
    CHECK(first_error(entry("    domains: []\n")) == ":2:5: entry 'x' has empty domains, hosts and cidrs; give at least one");
    CHECK(first_error("services:\n  - id: x\n    domains: [a.com]\n") ==
          ":2:5: entry 'x' is missing name, category, operator, jurisdiction, source");
    CHECK(first_error("services:\n  - id: x\n    name: X\n    category: chat\n    operator: O\n"
                      "    jurisdiction: US\n    source: s\n    domains: [a.com]\n")
              .rfind(":4:15: unknown category 'chat' (one of ai-chat, ai-api,", 0) == 0);
    CHECK(first_error("services:\n  - id: x\n    name: X\n    category: ads\n    operator: O\n"
                      "    jurisdiction: usa\n    source: s\n    domains: [a.com]\n")
              .rfind(":6:19: jurisdiction 'usa' must be an ISO 3166", 0) == 0);
    CHECK(first_error("services:\n  - id: x\n    name: X\n    name: Y\n") .rfind(":4:5: duplicate key 'name'", 0) == 0);
    CHECK(first_error("services:\n  - id: Bad Id\n").rfind(":2:9: id 'Bad Id' may only use", 0) == 0);
    CHECK(first_error("services:\n  - just a string\n").rfind(":2:5: a service entry must be a mapping", 0) == 0);
    CHECK(first_error(entry("    domains: [a.com]\n") + entry("    domains: [b.com]\n").substr(10))
              .rfind(":9:5: duplicate id 'x' (first defined at line 2)", 0) == 0);
    CHECK(first_error(entry("    domains: [a.com, a.com]\n")).rfind(":8:22: domain 'a.com' of 'x' is already claimed by 'x'", 0) == 0);
    // Inside one user file duplicates are errors as well.
    CHECK(first_error(entry("    domains: [a.com]\n") + entry("    domains: [b.com]\n").substr(10), Layer::kUser)
              .rfind(":9:5: duplicate id 'x'", 0) == 0);
  }

  TEST_CASE("missing files, directories and deep nesting are errors, not crashes") {
    ServiceCatalog c;
    std::vector<CatalogError> errors;
    CHECK_FALSE(c.add_file("/nonexistent/catalog.yaml", Layer::kUser, errors));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].to_string().rfind("/nonexistent/catalog.yaml: cannot read", 0) == 0);
    errors.clear();
    CHECK_FALSE(ServiceCatalog::load_default("/nonexistent", errors).has_value());
    CHECK(errors.size() == 1);
    errors.clear();
    CHECK_FALSE(c.add_text(std::string(100000, '['), "deep.yaml", Layer::kUser, errors));
    REQUIRE(!errors.empty());
    CHECK(errors[0].to_string().rfind("deep.yaml:", 0) == 0);
    errors.clear();
    std::string many = "services:\n";
    for (int i = 0; i < 40; ++i) many += "  - id: " + std::to_string(i) + "\n";
    CHECK_FALSE(c.add_text(many, "many.yaml", Layer::kUser, errors));
    CHECK(errors.size() == enrich::kMaxErrorsPerFile);
    CHECK(c.size() == 0);
  }

  TEST_CASE("aliases are followed, and a name claimed through one is still a duplicate") {
    std::vector<CatalogError> errors;
    ServiceCatalog c;
    CHECK_FALSE(c.add_text("services:\n  - {id: a, name: A, category: cdn, operator: O, jurisdiction: US,"
                           " source: s, domains: &d [a.com, b.com]}\n"
                           "  - {id: b, name: B, category: cdn, operator: O, jurisdiction: US, source: s,"
                           " domains: *d}\n",
                           "alias.yaml", Layer::kBuiltIn, errors));
    REQUIRE(!errors.empty());
    CHECK(errors[0].to_string().find("domain 'a.com' of 'b' is already claimed by 'a' at line 2") != std::string::npos);
  }

  TEST_CASE("a built-in file added after a user file stays below it") {
    ServiceCatalog c;
    std::vector<CatalogError> errors;
    REQUIRE(c.add_text(entry("    domains: [example.com]\n"), "user.yaml", Layer::kUser, errors));
    REQUIRE(c.add_text("services:\n  - {id: y, name: Y, category: cdn, operator: O, jurisdiction: US, source: s,"
                       " domains: [example.com, other.com]}\n",
                       "builtin.yaml", Layer::kBuiltIn, errors));
    CHECK(id_of(c.match("www.example.com")) == "x");
    CHECK(id_of(c.match("www.other.com")) == "y");
  }

  TEST_CASE("categories round-trip through their names") {
    for (const auto name : {"ai-chat", "ai-api", "analytics", "attribution", "ads", "apm", "crash-reporting",
                            "fingerprinting", "identity", "telemetry", "feature-flags", "customer-support",
                            "anti-bot", "push", "payments", "cdn", "cloud", "dns-resolver", "company-domain",
                            "consent", "location"}) {
      const auto c = enrich::parse_category(name);
      REQUIRE(c.has_value());
      CHECK(enrich::category_name(*c) == name);
    }
    CHECK_FALSE(enrich::parse_category("AI-CHAT").has_value());
  }

  TEST_CASE("location SDKs and IP geolocation lookups count as trackers") {
    const auto c = enrich::parse_category("location");
    REQUIRE(c.has_value());
    CHECK(enrich::is_tracker(*c));
    CHECK_FALSE(enrich::is_ai(*c));
  }

  TEST_CASE("the data directory can be set by FLOWAUDIT_DATA_DIR") {
    flowaudit::test::TempDir dir;
    REQUIRE(dir.ok());
    ::setenv("FLOWAUDIT_DATA_DIR", dir.path().c_str(), 1);
    const auto found = enrich::find_data_dir();
    ::unsetenv("FLOWAUDIT_DATA_DIR");
    REQUIRE(found.has_value());
    CHECK(*found == dir.path());
    // Without it, the test binary (build/tests/flowaudit_tests) finds the source tree's data/.
    const auto fallback = enrich::find_data_dir();
    if (fallback) CHECK(std::filesystem::is_directory(*fallback / "services"));
  }
}
