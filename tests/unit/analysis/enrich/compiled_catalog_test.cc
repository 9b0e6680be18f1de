#include "analysis/enrich/compiled_catalog.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "unit/temp_dir.h"

namespace enrich = flowaudit::analysis::enrich;
namespace fs = std::filesystem;
using enrich::CatalogError;
using enrich::ServiceCatalog;

namespace {

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << text;
}

std::string compile(const fs::path& data, const std::vector<fs::path>& files) {
  std::vector<CatalogError> errors;
  const auto c = ServiceCatalog::load(files, errors);
  REQUIRE(c.has_value());
  std::string error;
  const auto d = enrich::catalog_digest(data, files, error);
  REQUIRE(d.has_value());
  return enrich::write_compiled_catalog(*c, *d, files);
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

constexpr const char* kCompanies = R"(companies:
  - {id: acme, name: Acme Ltd., jurisdiction: SG, parent: acme-group, source: test}
  - {id: acme-group, name: Acme Group, jurisdiction: CN, incorporated: KY, source: test}
)";
constexpr const char* kServices = R"(services:
  - id: acme-chat
    name: Acme Chat
    category: ai-chat
    company: acme
    domains: [acme.example]
    hosts: [chat.acme.example]
    cidrs: [192.0.2.0/24, 2001:db8::/32]
    source: test
)";

}  // namespace

TEST_SUITE("compiled catalog") {
  TEST_CASE("the built-in catalog compiles and reads back entry for entry") {
    const fs::path data = fs::path(FLOWAUDIT_SOURCE_DIR) / "data";
    const auto files = enrich::catalog_files(data);
    std::vector<CatalogError> errors;
    const auto yaml = ServiceCatalog::load(files, errors);
    REQUIRE(yaml.has_value());
    const std::string bin = compile(data, files);
    std::string error;
    const auto back = enrich::read_compiled_catalog(bytes_of(bin), "catalog.bin", files, nullptr, error);
    INFO(error);
    REQUIRE(back.has_value());
    REQUIRE(back->services().size() == yaml->services().size());
    REQUIRE(back->companies().size() == yaml->companies().size());
    for (std::size_t i = 0; i < yaml->services().size(); ++i) {
      const auto& a = yaml->services()[i];
      const auto& b = back->services()[i];
      CHECK(a.id == b.id);
      CHECK(a.name == b.name);
      CHECK(a.category == b.category);
      CHECK(a.company == b.company);
      CHECK(a.operator_name == b.operator_name);
      CHECK(a.jurisdiction == b.jurisdiction);
      CHECK(a.parent == b.parent);
      CHECK(a.parent_jurisdiction == b.parent_jurisdiction);
      CHECK(a.domains == b.domains);
      CHECK(a.hosts == b.hosts);
      CHECK(a.cidrs.size() == b.cidrs.size());
      CHECK(a.source == b.source);
      CHECK(a.file == b.file);
      CHECK(a.line == b.line);
      // Every name still leads to the same entry.
      for (const auto& h : a.hosts) CHECK(back->match(h)->id == yaml->match(h)->id);
      for (const auto& d : a.domains) CHECK(back->match("x." + d)->id == yaml->match("x." + d)->id);
      for (const auto& c : a.cidrs) CHECK(back->match(c.base())->id == yaml->match(c.base())->id);
    }
    for (std::size_t i = 0; i < yaml->companies().size(); ++i) {
      const auto& a = yaml->companies()[i];
      const auto& b = back->companies()[i];
      CHECK(a.id == b.id);
      CHECK(a.group == b.group);
      CHECK(a.group_jurisdiction == b.group_jurisdiction);
      CHECK(back->find_company(a.id) != nullptr);
    }
  }

  TEST_CASE("catalog.bin is used while current; an edited YAML file is a warning and the YAML is loaded") {
    flowaudit::test::TempDir dir;
    REQUIRE(dir.ok());
    fs::create_directories(dir.path() / "services");
    write_text(dir.path() / "companies.yaml", kCompanies);
    write_text(dir.path() / "services" / "a.yaml", kServices);
    const auto files = enrich::catalog_files(dir.path());
    write_text(dir.path() / "catalog.bin", compile(dir.path(), files));

    std::vector<CatalogError> errors;
    std::vector<std::string> warnings;
    std::string used;
    auto c = enrich::load_builtin_catalog(dir.path(), files, errors, warnings, &used);
    REQUIRE(c.has_value());
    CHECK(warnings.empty());
    CHECK(used == (dir.path() / "catalog.bin").string());
    REQUIRE(c->match("www.acme.example") != nullptr);
    CHECK(c->match("www.acme.example")->parent_jurisdiction == "CN");

    // Edited after the build: the YAML wins, and the user is told.
    std::string edited = kServices;
    edited.replace(edited.find("hosts: [chat.acme.example]"), 26, "hosts: [talk.acme.example]");
    write_text(dir.path() / "services" / "a.yaml", edited);
    c = enrich::load_builtin_catalog(dir.path(), files, errors, warnings, &used);
    REQUIRE(c.has_value());
    CHECK(used.empty());
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("catalog.bin: offset 12: compiled from other YAML files") != std::string::npos);
    CHECK(c->match("talk.acme.example")->id == "acme-chat");
    CHECK(errors.empty());
  }

  TEST_CASE("a damaged catalog.bin is one line naming the file and the offset") {
    flowaudit::test::TempDir dir;
    REQUIRE(dir.ok());
    fs::create_directories(dir.path() / "services");
    write_text(dir.path() / "companies.yaml", kCompanies);
    write_text(dir.path() / "services" / "a.yaml", kServices);
    const auto files = enrich::catalog_files(dir.path());
    const std::string good = compile(dir.path(), files);
    std::string error;

    // Every truncation fails cleanly, never reads past the end.
    for (std::size_t n = 0; n < good.size(); ++n) {
      const auto c = enrich::read_compiled_catalog(bytes_of(good.substr(0, n)), "x.bin", files, nullptr, error);
      CHECK_FALSE(c.has_value());
      CHECK(error.rfind("x.bin: offset ", 0) == 0);
      CHECK(error.find('\n') == std::string::npos);
    }
    std::string bad = good;
    bad[0] = 'X';
    CHECK_FALSE(enrich::read_compiled_catalog(bytes_of(bad), "x.bin", files, nullptr, error));
    CHECK(error == "x.bin: offset 0: not a compiled flowaudit catalog (bad magic)");
    // A huge company count.
    bad = good;
    const std::size_t companies_at = 8 + 4 + 32 + 4;
    bad[companies_at] = bad[companies_at + 1] = bad[companies_at + 2] = bad[companies_at + 3] = '\xff';
    CHECK_FALSE(enrich::read_compiled_catalog(bytes_of(bad), "x.bin", files, nullptr, error));
    CHECK(error == "x.bin: offset 48: company count 4294967295 is over the limit 5000");
    // A byte after the end.
    CHECK_FALSE(enrich::read_compiled_catalog(bytes_of(good + "!"), "x.bin", files, nullptr, error));
    CHECK(error == "x.bin: offset " + std::to_string(good.size()) + ": unexpected bytes after the last service");
    // A name that is not a DNS name ("acme.example" -> "acme..xample").
    bad = good;
    bad.replace(bad.find("acme.example"), 12, "acme..xample");
    CHECK_FALSE(enrich::read_compiled_catalog(bytes_of(bad), "x.bin", files, nullptr, error));
    CHECK(error.find("domain has an empty label") != std::string::npos);
    // A damaged file in the data directory: a warning and the YAML.
    write_text(dir.path() / "catalog.bin", good.substr(0, 100));
    std::vector<CatalogError> errors;
    std::vector<std::string> warnings;
    const auto c = enrich::load_builtin_catalog(dir.path(), files, errors, warnings);
    REQUIRE(c.has_value());
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].rfind((dir.path() / "catalog.bin").string() + ": offset ", 0) == 0);
  }
}
