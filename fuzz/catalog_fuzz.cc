// Fuzz target: a service catalog file (YAML: companies and services) -> ServiceCatalog::add_text -> matches.
//
// The input is loaded twice: as a built-in file into an empty catalog, and as a user file over a
// small fixed catalog (the override path). Then every whitespace- or comma-separated token of the
// input, and a few fixed names, are matched as hostnames and, when they parse, as addresses. Checks:
// the loader never throws or crashes, errors are one line naming the file, a failed file adds
// nothing, every hostname match is justified by an exact host or a suffix on a label boundary, and a
// service that names a company carries exactly that company's operator, jurisdiction and group.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/enrich/service_catalog.h"
#include "fuzz_check.h"

namespace {

using namespace flowaudit;
using analysis::enrich::CatalogError;
using analysis::enrich::Layer;
using analysis::enrich::Service;
using analysis::enrich::ServiceCatalog;

constexpr std::string_view kBase = R"(companies:
  - {id: bytedance, name: ByteDance Ltd., jurisdiction: CN, incorporated: KY, source: fuzz}
  - {id: deepseek, name: "Hangzhou DeepSeek Artificial Intelligence Co., Ltd.", jurisdiction: CN, source: fuzz}
services:
  - id: deepseek
    name: DeepSeek
    category: ai-chat
    company: deepseek
    domains: [deepseek.com]
    hosts: [api.deepseek.com]
    cidrs: [160.79.104.0/23, 2607:6bc0::/48]
    source: fuzz
)";

constexpr std::size_t kMaxTokens = 256;

std::string normalise(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A service that names a company carries that company's facts; a group is named with its country.
void check_company(const ServiceCatalog& catalog, const Service& s) {
  FUZZ_CHECK(s.parent_jurisdiction.empty() || !s.parent.empty() || s.company.empty());
  if (s.company.empty()) return;
  const auto* c = catalog.find_company(s.company);
  FUZZ_CHECK(c != nullptr);
  FUZZ_CHECK(s.operator_name == c->name && s.jurisdiction == c->jurisdiction);
  FUZZ_CHECK(s.parent == c->group && s.parent_jurisdiction == c->group_jurisdiction);
  FUZZ_CHECK(c->group.empty() == c->parent.empty());
}

void check_match(const ServiceCatalog& catalog, std::string_view name) {
  const Service* s = catalog.match(name);
  if (s == nullptr) return;
  FUZZ_CHECK(s >= catalog.services().data() && s < catalog.services().data() + catalog.size());
  check_company(catalog, *s);
  const std::string n = normalise(name);
  bool justified = false;
  for (const auto& h : s->hosts) justified = justified || n == h;
  for (const auto& d : s->domains) {
    justified = justified || n == d ||
                (n.size() > d.size() && n.compare(n.size() - d.size(), d.size(), d) == 0 &&
                 n[n.size() - d.size() - 1] == '.');
  }
  FUZZ_CHECK(justified);
}

void check_address(const ServiceCatalog& catalog, std::string_view text) {
  const auto ip = core::IpAddress::parse(text);
  if (!ip) return;
  const Service* s = catalog.match(*ip);
  if (s == nullptr) return;
  FUZZ_CHECK(s >= catalog.services().data() && s < catalog.services().data() + catalog.size());
  FUZZ_CHECK(!s->cidrs.empty());
}

void check_errors(const std::vector<CatalogError>& errors, const std::string& file) {
  FUZZ_CHECK(errors.size() <= analysis::enrich::kMaxErrorsPerFile);
  for (const auto& e : errors) {
    const std::string line = e.to_string();
    FUZZ_CHECK(line.rfind(file, 0) == 0);
    FUZZ_CHECK(line.find('\n') == std::string::npos);
  }
}

void exercise(const ServiceCatalog& catalog, std::string_view text) {
  for (const std::string_view name : {"deepseek.com", "chat.deepseek.com", "evil-deepseek.com", "API.DEEPSEEK.COM.",
                                      "example.com", "a.b.c.d.e.f.g", ""}) {
    check_match(catalog, name);
  }
  std::size_t tokens = 0;
  std::size_t start = 0;
  while (start < text.size() && tokens < kMaxTokens) {
    std::size_t end = start;
    while (end < text.size() && text[end] != ' ' && text[end] != '\n' && text[end] != ',' && text[end] != '[' &&
           text[end] != ']') {
      ++end;
    }
    if (end > start) {
      const std::string_view token = text.substr(start, end - start);
      check_match(catalog, token);
      check_address(catalog, token);
      ++tokens;
    }
    start = end + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  {
    ServiceCatalog catalog;
    std::vector<CatalogError> errors;
    const bool ok = catalog.add_text(text, "fuzz.yaml", Layer::kBuiltIn, errors);
    check_errors(errors, "fuzz.yaml");
    FUZZ_CHECK(ok == errors.empty());
    if (!ok) FUZZ_CHECK(catalog.size() == 0 && catalog.companies().empty());
    for (const Service& s : catalog.services()) check_company(catalog, s);
    exercise(catalog, text);
  }
  {
    ServiceCatalog catalog;
    std::vector<CatalogError> errors;
    FUZZ_CHECK(catalog.add_text(kBase, "base.yaml", Layer::kBuiltIn, errors));
    const std::size_t before = catalog.size();
    const std::size_t companies_before = catalog.companies().size();
    const bool ok = catalog.add_text(text, "user.yaml", Layer::kUser, errors);
    check_errors(errors, "user.yaml");
    for (const Service& s : catalog.services()) check_company(catalog, s);
    if (!ok) {
      FUZZ_CHECK(catalog.size() == before);
      FUZZ_CHECK(catalog.companies().size() == companies_before);
      FUZZ_CHECK(catalog.match("chat.deepseek.com") != nullptr);
    }
    exercise(catalog, text);
  }
  return 0;
}
