// Small input files read whole with a limit: policies, catalogs, chat endpoints, canary lists, range
// CSVs and JSON reports to diff all go through core::read_input_file.
#include "core/input_file.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "unit/temp_dir.h"

using flowaudit::core::byte_limit_text;
using flowaudit::core::read_input_file;
using flowaudit::test::TempDir;

namespace {

void write(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

}  // namespace

TEST_SUITE("core.input_file") {
  TEST_CASE("a regular file is read whole, up to and including the limit") {
    const TempDir dir;
    const auto p = dir.path() / "f.yaml";
    std::string text(100000, 'x');
    text[0] = 'a';
    text.back() = 'z';
    write(p, text);
    std::string out = "left over";
    CHECK(read_input_file(p, text.size(), out).empty());
    CHECK(out == text);
    CHECK(read_input_file(p, text.size() - 1, out) == "is larger than 99999 bytes");
    CHECK(out.empty());

    write(p, "");
    out = "left over";
    CHECK(read_input_file(p, 10, out).empty());
    CHECK(out.empty());
  }

  TEST_CASE("what is not a readable file gets its reason, without the path") {
    const TempDir dir;
    std::string out;
    CHECK(read_input_file(dir.path() / "absent.yaml", 10, out) == "no such file");
    CHECK(read_input_file(dir.path(), 10, out) == "is a directory");
    if (::geteuid() != 0) {  // root reads anything
      const auto p = dir.path() / "secret";
      write(p, "x");
      std::filesystem::permissions(p, std::filesystem::perms::none);
      CHECK(read_input_file(p, 10, out).rfind("cannot open: ", 0) == 0);
    }
  }

  TEST_CASE("a pipe is read to its end, and refused past the limit") {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const std::string text(5000, 'p');
    REQUIRE(::write(fds[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    ::close(fds[1]);
    const std::string path = "/proc/self/fd/" + std::to_string(fds[0]);
    std::string out;
    SUBCASE("within the limit") {
      CHECK(read_input_file(path, 5000, out).empty());
      CHECK(out == text);
    }
    SUBCASE("past it") {
      CHECK(read_input_file(path, 4096, out) == "is larger than 4096 bytes");
      CHECK(out.empty());
    }
    ::close(fds[0]);
  }

  TEST_CASE("limits are named in MiB when they are whole MiB") {
    CHECK(byte_limit_text(std::size_t{1} << 20) == "1 MiB");
    CHECK(byte_limit_text(std::size_t{4} << 20) == "4 MiB");
    CHECK(byte_limit_text((std::size_t{1} << 20) + 1) == "1048577 bytes");
    CHECK(byte_limit_text(4) == "4 bytes");
  }
}
