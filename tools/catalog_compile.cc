// flowaudit-catalog-compile: the built-in catalog's YAML files -> catalog.bin (see compiled_catalog.h).
//
//   flowaudit-catalog-compile DATA_DIR OUT       validate DATA_DIR's catalog and write OUT
//   flowaudit-catalog-compile --time DATA_DIR    time loading the YAML and the built-in catalog as flowaudit
//                                                does (catalog.bin when current), median of 20 loads
//
// Run by the build (a CMake custom command) whenever a YAML file of data/ changes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "analysis/enrich/compiled_catalog.h"

namespace {

using namespace flowaudit::analysis::enrich;
namespace fs = std::filesystem;

int compile(const fs::path& data_dir, const fs::path& out) {
  const auto files = catalog_files(data_dir);
  std::vector<CatalogError> errors;
  const auto catalog = ServiceCatalog::load_default(data_dir, errors);
  for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
  if (!catalog) return 1;
  std::string error;
  const auto digest = catalog_digest(data_dir, files, error);
  if (!digest) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  const std::string bytes = write_compiled_catalog(*catalog, *digest, files);
  // Read back what was written: the writer and the reader must agree on every entry.
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  const auto back = read_compiled_catalog({data, bytes.size()}, out.string(), files, &*digest, error);
  if (!back || back->services().size() != catalog->services().size() ||
      back->companies().size() != catalog->companies().size()) {
    std::fprintf(stderr, "%s\n", error.empty() ? "compiled catalog does not read back whole" : error.c_str());
    return 1;
  }
  const fs::path tmp = out.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) {
      std::fprintf(stderr, "%s: cannot write\n", tmp.c_str());
      return 1;
    }
  }
  std::error_code ec;
  fs::rename(tmp, out, ec);
  if (ec) {
    std::fprintf(stderr, "%s: cannot write: %s\n", out.c_str(), ec.message().c_str());
    return 1;
  }
  return 0;
}

template <typename F>
double median_ms(F&& f) {
  std::vector<double> t;
  for (int i = 0; i < 20; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int time_loads(const fs::path& data_dir) {
  const auto files = catalog_files(data_dir);
  std::size_t services = 0;
  const double yaml = median_ms([&] {
    std::vector<CatalogError> errors;
    services = ServiceCatalog::load(files, errors)->size();
  });
  std::string used;
  const double compiled = median_ms([&] {
    std::vector<CatalogError> errors;
    std::vector<std::string> warnings;
    (void)load_builtin_catalog(data_dir, files, errors, warnings, &used);
  });
  std::printf("services %zu\nyaml_ms %.2f\nbuiltin_ms %.2f (%s)\n", services, yaml, compiled,
              used.empty() ? "YAML: no current catalog.bin" : used.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "--time") return time_loads(args[1]);
  if (args.size() == 2) return compile(args[0], args[1]);
  std::fprintf(stderr, "usage: flowaudit-catalog-compile DATA_DIR OUT | --time DATA_DIR\n");
  return 2;
}
