// The source folders are layers and their dependencies point one way (README, Layout):
// core <- capture <- analysis <- rules <- report <- session <- cli. A folder may include its own
// layer and the ones below it, never one above (rules/ must not reach into report/, reports must
// not reach into the command line).
#include <doctest/doctest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace {

constexpr std::array<std::string_view, 7> kLayers = {"core", "capture", "analysis", "rules", "report", "session", "cli"};

int layer_of(std::string_view folder) {
  for (std::size_t i = 0; i < kLayers.size(); ++i) {
    if (kLayers[i] == folder) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

TEST_SUITE("layout") {

TEST_CASE("no folder includes a layer above it") {
  namespace fs = std::filesystem;
  const fs::path root(FLOWAUDIT_SOURCE_DIR);
  std::size_t files = 0;
  for (const auto folder : kLayers) {
    REQUIRE(fs::is_directory(root / folder));
    const int own = layer_of(folder);
    for (const auto& entry : fs::recursive_directory_iterator(root / folder)) {
      const auto ext = entry.path().extension();
      if (!entry.is_regular_file() || (ext != ".h" && ext != ".cc")) continue;
      ++files;
      std::ifstream in(entry.path());
      std::string line;
      while (std::getline(in, line)) {
        constexpr std::string_view kInclude = "#include \"";
        if (!std::string_view(line).starts_with(kInclude)) continue;
        const std::string_view target = std::string_view(line).substr(kInclude.size());
        const int layer = layer_of(target.substr(0, target.find('/')));
        CAPTURE(entry.path().string());
        CAPTURE(line);
        CHECK(layer <= own);
      }
    }
  }
  CHECK(files > 100);
}

}  // TEST_SUITE
