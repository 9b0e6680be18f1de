// Fuzz target: a compiled catalog (catalog.bin, see analysis/enrich/compiled_catalog.h) ->
// read_compiled_catalog -> matches.
//
// The file count the input claims (offset 44) decides how many built-in file paths the reader is
// given, so that inputs get past that check and reach the entries. Checks: the reader never crashes
// or reads out of bounds, an error is one line naming the file and an offset, and a catalog it
// accepts answers every one of its own names with an entry that justifies the match.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/enrich/compiled_catalog.h"
#include "fuzz_check.h"

namespace {

using namespace flowaudit;
using analysis::enrich::Service;
using analysis::enrich::ServiceCatalog;

bool justified(const Service& s, const std::string& n) {
  for (const auto& h : s.hosts) {
    if (n == h) return true;
  }
  for (const auto& d : s.domains) {
    if (n == d || (n.size() > d.size() && n.compare(n.size() - d.size(), d.size(), d) == 0 &&
                   n[n.size() - d.size() - 1] == '.')) {
      return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 256 * 1024) return 0;
  std::size_t file_count = 1;
  if (size >= 48) {
    file_count = std::size_t{data[44]} | std::size_t{data[45]} << 8;
    if (file_count > 64) file_count = 64;  // larger counts are refused (or wrong) either way
  }
  std::vector<std::filesystem::path> files;
  for (std::size_t i = 0; i < file_count; ++i) files.emplace_back("data/services/f" + std::to_string(i) + ".yaml");
  std::string error;
  const auto catalog = analysis::enrich::read_compiled_catalog({data, size}, "fuzz.bin", files, nullptr, error);
  if (!catalog) {
    FUZZ_CHECK(error.rfind("fuzz.bin: offset ", 0) == 0);
    FUZZ_CHECK(error.find('\n') == std::string::npos);
    return 0;
  }
  FUZZ_CHECK(catalog->size() <= analysis::enrich::kMaxServices);
  std::size_t checked = 0;
  for (const Service& s : catalog->services()) {
    for (const auto* list : {&s.hosts, &s.domains}) {
      for (const auto& name : *list) {
        if (++checked > 4096) return 0;
        const Service* m = catalog->match(name);
        FUZZ_CHECK(m != nullptr && justified(*m, name));
        FUZZ_CHECK(m >= catalog->services().data() && m < catalog->services().data() + catalog->size());
      }
    }
    // An IPv4-mapped IPv6 CIDR is looked up as IPv4 and so never matches its own base: v4 only.
    for (const auto& c : s.cidrs) FUZZ_CHECK(!c.base().is_v4() || catalog->match(c.base()) != nullptr);
    if (!s.company.empty()) FUZZ_CHECK(catalog->find_company(s.company) != nullptr);
  }
  return 0;
}
