#include <doctest/doctest.h>

#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/enrich/service_catalog.h"

using flowaudit::analysis::enrich::CatalogError;
using flowaudit::analysis::enrich::Layer;
using flowaudit::analysis::enrich::Service;
using flowaudit::analysis::enrich::ServiceCatalog;
namespace enrich = flowaudit::analysis::enrich;

namespace {

constexpr std::string_view kCompanies = R"(companies:
  - {id: tiktok-sg, name: TikTok Pte. Ltd., jurisdiction: SG, parent: bytedance, source: test}
  - {id: bytedance, name: ByteDance Ltd., jurisdiction: CN, incorporated: KY, source: test}
  - {id: volcengine, name: "Beijing Volcano Engine Technology Co., Ltd.", jurisdiction: CN, parent: bytedance, source: test}
  - {id: deepseek, name: DeepSeek Co., jurisdiction: CN, source: test}
)";

std::string errors_of(ServiceCatalog& c, std::string_view text, Layer layer = Layer::kBuiltIn) {
  std::vector<CatalogError> errors;
  const bool ok = c.add_text(text, "t.yaml", layer, errors);
  std::string out;
  for (const auto& e : errors) out += e.to_string() + "\n";
  CHECK(ok == errors.empty());
  return out;
}

ServiceCatalog with_companies() {
  ServiceCatalog c;
  const std::string e = errors_of(c, kCompanies);
  REQUIRE_MESSAGE(e.empty(), e);
  return c;
}

}  // namespace

TEST_SUITE("analysis.enrich.company_registry") {
  TEST_CASE("a service names its company: operator, jurisdiction and the group come from it") {
    auto c = with_companies();
    REQUIRE(c.find_company("tiktok-sg") != nullptr);
    CHECK(c.find_company("tiktok-sg")->group == "ByteDance Ltd.");
    CHECK(c.find_company("bytedance")->group.empty());
    CHECK(c.find_company("bytedance")->incorporated == "KY");
    const std::string e = errors_of(c, R"(services:
  - {id: tiktok, name: TikTok, category: ads, company: tiktok-sg, domains: [tiktokv.com], source: test}
  - {id: ark, name: Ark, category: ai-api, company: volcengine, operator: "Beijing Volcano Engine Technology Co., Ltd.", jurisdiction: CN, hosts: [ark.cn-beijing.volces.com], source: test}
  - {id: ds, name: DeepSeek, category: ai-chat, company: deepseek, domains: [deepseek.com], source: test}
  - {id: old, name: Old style, category: cdn, operator: Old Ltd., jurisdiction: US, parent: Old Group, parent_jurisdiction: JP, domains: [old.example], source: test}
)");
    REQUIRE_MESSAGE(e.empty(), e);
    const Service* t = c.match("mon.tiktokv.com");
    REQUIRE(t != nullptr);
    CHECK(t->company == "tiktok-sg");
    CHECK(t->operator_name == "TikTok Pte. Ltd.");
    CHECK(t->jurisdiction == "SG");
    CHECK(t->parent == "ByteDance Ltd.");
    CHECK(t->parent_jurisdiction == "CN");
    const Service* ark = c.match("ark.cn-beijing.volces.com");
    REQUIRE(ark != nullptr);
    CHECK(ark->parent_jurisdiction == "CN");
    const Service* ds = c.match("chat.deepseek.com");
    REQUIRE(ds != nullptr);
    CHECK(ds->jurisdiction == "CN");
    CHECK(ds->parent.empty());
    CHECK(ds->parent_jurisdiction.empty());
    const Service* old = c.match("a.old.example");
    REQUIRE(old != nullptr);
    CHECK(old->company.empty());
    CHECK(old->parent == "Old Group");
    CHECK(old->parent_jurisdiction == "JP");
  }

  TEST_CASE("companies and services in one file, in either order") {
    ServiceCatalog c;
    const std::string e = errors_of(c, R"(services:
  - {id: x, name: X, category: cdn, company: x-co, domains: [x.example], source: test}
companies:
  - {id: x-co, name: X Co., jurisdiction: DE, parent: x-group, source: test}
  - {id: x-group, name: X Group, jurisdiction: JP, source: test}
)");
    REQUIRE_MESSAGE(e.empty(), e);
    REQUIRE(c.match("x.example") != nullptr);
    CHECK(c.match("x.example")->parent_jurisdiction == "JP");
  }

  TEST_CASE("an unknown company is a one-line error naming the file and the entry; nothing is added") {
    auto c = with_companies();
    const std::size_t before = c.size();
    const std::string e = errors_of(c, R"(services:
  - {id: ok, name: Ok, category: cdn, company: deepseek, domains: [ok.example], source: test}
  - {id: bad, name: Bad, category: cdn, company: nobody, domains: [bad.example], source: test}
)");
    CHECK(e == "t.yaml:3:50: entry 'bad' names unknown company 'nobody' (companies are defined in companies.yaml "
               "or a 'companies:' list)\n");
    CHECK(c.size() == before);
    CHECK(c.match("ok.example") == nullptr);
  }

  TEST_CASE("operator, jurisdiction or parent that contradict the company are errors") {
    auto c = with_companies();
    CHECK(errors_of(c, "services:\n  - {id: a, name: A, category: cdn, company: deepseek, operator: Other Ltd., "
                       "domains: [a.example], source: test}\n")
              .find("operator 'Other Ltd.' differs from company 'deepseek' ('DeepSeek Co.')") != std::string::npos);
    CHECK(errors_of(c, "services:\n  - {id: a, name: A, category: cdn, company: deepseek, jurisdiction: US, "
                       "domains: [a.example], source: test}\n")
              .find("jurisdiction 'US' differs from company 'deepseek' (CN)") != std::string::npos);
    CHECK(errors_of(c, "services:\n  - {id: a, name: A, category: cdn, company: deepseek, parent: X, "
                       "domains: [a.example], source: test}\n")
              .find("parent and parent_jurisdiction come from company 'deepseek'") != std::string::npos);
    CHECK(errors_of(c, "services:\n  - {id: a, name: A, category: cdn, domains: [a.example], source: test}\n")
              .find("is missing operator, jurisdiction") != std::string::npos);
    CHECK(errors_of(c, "services:\n  - {id: a, name: A, category: cdn, operator: A, jurisdiction: US, "
                       "parent_jurisdiction: CN, domains: [a.example], source: test}\n")
              .find("parent_jurisdiction without parent") != std::string::npos);
  }

  TEST_CASE("company errors: missing fields, bad codes, duplicates, unknown parents, loops") {
    auto c = with_companies();
    CHECK(errors_of(c, "companies:\n  - {id: a, name: A}\n").find("company 'a' is missing jurisdiction, source") !=
          std::string::npos);
    CHECK(errors_of(c, "companies:\n  - {id: a, name: A, jurisdiction: usa, source: t}\n")
              .find("jurisdiction 'usa' must be an ISO 3166") != std::string::npos);
    CHECK(errors_of(c, "companies:\n  - {id: a, name: A, jurisdiction: US, incorporated: X, source: t}\n")
              .find("incorporated 'X' must be an ISO 3166") != std::string::npos);
    CHECK(errors_of(c, "companies:\n  - {id: deepseek, name: A, jurisdiction: US, source: t}\n", Layer::kUser)
              .find("company 'deepseek' is already defined at t.yaml:5") != std::string::npos);
    CHECK(errors_of(c, "companies:\n  - {id: a, name: A, jurisdiction: US, source: t}\n"
                       "  - {id: a, name: B, jurisdiction: US, source: t}\n")
              .find("duplicate company 'a' (first defined at line 2)") != std::string::npos);
    CHECK(errors_of(c, "companies:\n  - {id: a, name: A, jurisdiction: US, parent: nope, source: t}\n")
              .find("company 'a' names unknown parent 'nope'") != std::string::npos);
    CHECK(errors_of(c, "companies:\n  - {id: a, name: A, jurisdiction: US, parent: b, source: t}\n"
                       "  - {id: b, name: B, jurisdiction: US, parent: a, source: t}\n")
              .find("parent chain is longer than 8 links or loops") != std::string::npos);
    CHECK(errors_of(c, "companies:\n  - {id: a, name: A, jurisdiction: US, parent: a, source: t}\n")
              .find("company 'a' is its own parent") != std::string::npos);
    CHECK(errors_of(c, "companies:\n  - {id: a, name: A, jurisdiction: US, owner: b, source: t}\n")
              .find("unknown key 'owner' in a company") != std::string::npos);
    CHECK(errors_of(c, "companies: 3\n").find("'companies' must be a list") != std::string::npos);
    CHECK(c.find_company("a") == nullptr);
  }

  TEST_CASE("a user file adds companies of its own and names built-in ones") {
    auto c = with_companies();
    const std::string e = errors_of(c, R"(companies:
  - {id: my-vendor, name: My Vendor GmbH, jurisdiction: DE, parent: bytedance, source: contract}
services:
  - {id: mine, name: Mine, category: analytics, company: my-vendor, domains: [mine.example], source: contract}
  - {id: tt, name: TikTok ads, category: ads, company: tiktok-sg, hosts: [ads.tt.example], source: contract}
)", Layer::kUser);
    REQUIRE_MESSAGE(e.empty(), e);
    CHECK(c.match("mine.example")->parent == "ByteDance Ltd.");
    CHECK(c.match("ads.tt.example")->jurisdiction == "SG");
  }

  TEST_CASE("the built-in registry: every company has a source, every service names a company") {
    const std::filesystem::path data = std::filesystem::path(FLOWAUDIT_SOURCE_DIR) / "data";
    const auto files = enrich::catalog_files(data);
    REQUIRE(!files.empty());
    CHECK(files.front().filename() == "companies.yaml");
    std::vector<CatalogError> errors;
    const auto c = ServiceCatalog::load_default(data, errors);
    for (const auto& e : errors) MESSAGE(e.to_string());
    REQUIRE(c.has_value());
    CHECK(c->companies().size() >= 90);
    for (const auto& co : c->companies()) {
      CAPTURE(co.id);
      CHECK(!co.source.empty());
    }
    for (const Service& s : c->services()) {
      CAPTURE(s.id);
      // The loader checks that an operator or jurisdiction written beside the company matches it;
      // here: no built-in entry is left without a company.
      REQUIRE(!s.company.empty());
      const auto* co = c->find_company(s.company);
      REQUIRE(co != nullptr);
      CHECK(s.operator_name == co->name);
      CHECK(s.jurisdiction == co->jurisdiction);
    }
    struct Case {
      std::string_view host, company, jurisdiction, parent_jurisdiction;
    };
    for (const Case& k : std::vector<Case>{
             {"analytics.tiktok.com", "tiktok-sg", "SG", "CN"},
             {"gator.volces.com", "volcengine", "CN", "CN"},
             {"www.doubao.com", "chuntian-zhiyun", "CN", "CN"},
             {"chat.deepseek.com", "deepseek", "CN", ""},
             {"gemini.google.com", "google", "US", "US"},
             {"www.google-analytics.com", "google", "US", "US"},
             {"yuanbao.tencent.com", "tencent-computer", "CN", "CN"},
             {"claude.ai", "anthropic", "US", ""},
             {"api.openai.com", "openai", "US", ""},
             {"alog.umeng.com", "umeng", "CN", "CN"},
         }) {
      CAPTURE(k.host);
      const Service* s = c->match(k.host);
      REQUIRE(s != nullptr);
      CHECK(s->company == k.company);
      CHECK(s->jurisdiction == k.jurisdiction);
      CHECK(s->parent_jurisdiction == k.parent_jurisdiction);
    }
  }
}

#include <yaml-cpp/yaml.h>

#include <map>
#include <regex>

TEST_SUITE("analysis.enrich.company_registry") {
  TEST_CASE("every category a built-in pack names has an entry in the catalog") {
    const std::filesystem::path data = std::filesystem::path(FLOWAUDIT_SOURCE_DIR) / "data";
    std::vector<CatalogError> errors;
    const auto c = ServiceCatalog::load_default(data, errors);
    REQUIRE(c.has_value());
    std::set<std::string> present;
    for (const Service& s : c->services()) present.insert(std::string(enrich::category_name(s.category)));

    std::set<std::string> named;
    const std::regex by_list(R"(service\.category\s+in\s+([A-Za-z_][A-Za-z0-9_]*))");
    const std::regex inline_list(R"(service\.category\s+in\s+\(([^)]*)\))");
    const std::regex literal(R"(service\.category\s*!?=\s*'?([a-z-]+))");
    for (const auto& entry : std::filesystem::directory_iterator(data / "policies")) {
      if (entry.path().extension() != ".yaml") continue;
      const YAML::Node root = YAML::LoadFile(entry.path().string());
      std::map<std::string, std::vector<std::string>> lists;
      for (const auto& l : root["lists"]) {
        for (const auto& item : l["items"]) lists[l["list"].as<std::string>()].push_back(item.as<std::string>());
      }
      std::vector<std::string> conditions;
      for (const char* section : {"macros", "rules"}) {
        for (const auto& m : root[section]) {
          if (m["condition"]) conditions.push_back(m["condition"].as<std::string>());
        }
      }
      for (const auto& cond : conditions) {
        for (std::sregex_iterator it(cond.begin(), cond.end(), by_list), end; it != end; ++it) {
          for (const auto& item : lists[(*it)[1].str()]) named.insert(item);
        }
        for (std::sregex_iterator it(cond.begin(), cond.end(), inline_list), end; it != end; ++it) {
          const std::string inner = (*it)[1].str();
          const std::regex word(R"([a-z][a-z-]*)");
          for (std::sregex_iterator w(inner.begin(), inner.end(), word), wend; w != wend; ++w) named.insert(w->str());
        }
        for (std::sregex_iterator it(cond.begin(), cond.end(), literal), end; it != end; ++it) named.insert((*it)[1].str());
      }
    }
    CHECK(named.size() >= 10);
    for (const auto& category : named) {
      CAPTURE(category);
      CHECK(enrich::parse_category(category).has_value());
      CHECK(present.count(category) == 1);
    }
  }
}
