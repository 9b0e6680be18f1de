// Where the built-in data is looked for: candidates are injected, so the order and the refusals
// are tested without the installed or configured paths of this machine.
#include "analysis/enrich/data_dir.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "unit/temp_dir.h"

namespace enrich = flowaudit::analysis::enrich;
using flowaudit::test::TempDir;

TEST_SUITE("analysis.enrich.data_dir") {
  TEST_CASE("the first candidate with data wins; an explicit one is taken as it is") {
    TempDir dir;
    REQUIRE(dir.ok());
    const auto empty = dir.path() / "empty";
    const auto share = dir.path() / "share";
    const auto source = dir.path() / "source";
    std::filesystem::create_directories(empty);
    std::filesystem::create_directories(share / "policies");
    std::filesystem::create_directories(source / "services");
    CHECK(enrich::find_data_dir({{empty}, {share}, {source, false, true}}) == share);
    CHECK(enrich::find_data_dir({{empty}, {source, false, true}}) == source);
    CHECK_FALSE(enrich::find_data_dir({{empty}}).has_value());
    // FLOWAUDIT_DATA_DIR: no silent fallback to other data when the one named has none.
    CHECK(enrich::find_data_dir({{empty, true, false}, {share}}) == empty);
  }

  TEST_CASE("a relative candidate is never used: nothing is found from the working directory") {
    TempDir dir;
    std::filesystem::create_directories(dir.path() / "data" / "policies");
    const auto cwd = std::filesystem::current_path();
    std::filesystem::current_path(dir.path());
    const auto found = enrich::find_data_dir({{"data"}});
    std::filesystem::current_path(cwd);
    CHECK_FALSE(found.has_value());
  }

  TEST_CASE("the configure-time source path is refused when others can write to it") {
    TempDir dir;
    const auto source = dir.path() / "source";
    std::filesystem::create_directories(source / "policies");
    REQUIRE(::chmod(source.c_str(), 0777) == 0);
    CHECK_FALSE(enrich::find_data_dir({{source, false, true}}).has_value());
    REQUIRE(::chmod(source.c_str(), 0755) == 0);
    CHECK(enrich::find_data_dir({{source, false, true}}) == source);
  }

  TEST_CASE("FLOWAUDIT_DATA_DIR is the only candidate when set") {
    ::setenv("FLOWAUDIT_DATA_DIR", "/nonexistent-flowaudit-data", 1);
    const auto candidates = enrich::data_dir_candidates();
    const auto searched = enrich::data_dir_searched();
    ::unsetenv("FLOWAUDIT_DATA_DIR");
    REQUIRE(candidates.size() == 1);
    CHECK(candidates.front().explicit_choice);
    CHECK(searched == "FLOWAUDIT_DATA_DIR=/nonexistent-flowaudit-data");
    // Unset: the installed share/flowaudit next to the binary, then the source tree's data/.
    const auto fallback = enrich::data_dir_candidates();
    for (const auto& c : fallback) CHECK(c.path.is_absolute());
    CHECK(fallback.back().path == std::filesystem::path(FLOWAUDIT_SOURCE_DIR) / "data");
    CHECK(enrich::find_data_dir() == std::filesystem::path(FLOWAUDIT_SOURCE_DIR) / "data");
  }
}
