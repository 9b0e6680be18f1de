#include "report/report_output.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "unit/stdout_capture.h"
#include "unit/temp_dir.h"

using flowaudit::report::Format;
using flowaudit::report::parse_report_target;
using flowaudit::report::ReportTarget;
using flowaudit::report::write_report;
using flowaudit::test::TempDir;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

// Sets the umask for one scope.
struct Umask {
  explicit Umask(mode_t m) : old(::umask(m)) {}
  ~Umask() { ::umask(old); }
  Umask(const Umask&) = delete;
  Umask& operator=(const Umask&) = delete;
  mode_t old;
};

}  // namespace

TEST_SUITE("report.output") {
  TEST_CASE("format parsing") {
    std::string err;
    auto t = parse_report_target("text", err);
    REQUIRE(t.has_value());
    CHECK(t->format == Format::kText);
    CHECK(t->path.empty());
    t = parse_report_target("json", err);
    REQUIRE(t.has_value());
    CHECK(t->format == Format::kJson);
    t = parse_report_target("json:report.json", err);
    REQUIRE(t.has_value());
    CHECK(t->format == Format::kJson);
    CHECK(t->path == "report.json");
    t = parse_report_target("text:-", err);
    REQUIRE(t.has_value());
    CHECK(t->path == "-");
    t = parse_report_target("json:", err);
    REQUIRE(t.has_value());
    CHECK(t->path.empty());
    t = parse_report_target("json:/tmp/a:b.json", err);  // only the first colon separates
    REQUIRE(t.has_value());
    CHECK(t->path == "/tmp/a:b.json");
    CHECK(err.empty());
  }

  TEST_CASE("unknown format") {
    for (const char* spec : {"xml", "xml:out.xml", "", "JSON", "json2", ":out"}) {
      CAPTURE(spec);
      std::string err;
      CHECK_FALSE(parse_report_target(spec, err).has_value());
      CHECK(err.find("unknown report format") == 0);
      CHECK(err.find("text, json") != std::string::npos);
    }
    std::string err;
    parse_report_target("xml:out.xml", err);
    CHECK(err == "unknown report format 'xml' (formats: text, json, html, md, junit, sarif, csv)");
  }

  TEST_CASE("a new file is written with mode 0600 under umask 022") {
    TempDir dir;
    REQUIRE(dir.ok());
    const std::string path = (dir.path() / "report.json").string();
    Umask u(022);
    CHECK(write_report(ReportTarget{Format::kJson, path}, "{}\n").empty());
    CHECK(slurp(path) == "{}\n");
    CHECK(mode_of(path) == 0600);
  }

  TEST_CASE("a pre-existing 0644 file becomes 0600 and is replaced") {
    TempDir dir;
    const std::string path = (dir.path() / "old.txt").string();
    {
      std::ofstream out(path);
      out << "a much longer old report that must not survive\n";
    }
    REQUIRE(::chmod(path.c_str(), 0644) == 0);
    REQUIRE(mode_of(path) == 0644);
    Umask u(022);
    CHECK(write_report(ReportTarget{Format::kText, path}, "new\n").empty());
    CHECK(slurp(path) == "new\n");
    CHECK(mode_of(path) == 0600);
  }

  TEST_CASE("a restrictive umask still gives the owner read and write") {
    TempDir dir;
    const std::string path = (dir.path() / "r.json").string();
    Umask u(0277);
    CHECK(write_report(ReportTarget{Format::kJson, path}, "x").empty());
    CHECK(mode_of(path) == 0600);
    CHECK(slurp(path) == "x");
  }

  TEST_CASE("an unwritable path gives one line naming it") {
    TempDir dir;
    const std::string path = (dir.path() / "no-such-dir" / "r.json").string();
    const std::string err = write_report(ReportTarget{Format::kJson, path}, "x");
    CHECK(err.find(path + ": cannot write report: ") == 0);
    CHECK(err.find("No such file or directory") != std::string::npos);
    CHECK(err.find('\n') == std::string::npos);
    const std::string dir_err = write_report(ReportTarget{Format::kJson, dir.path().string()}, "x");
    CHECK(dir_err.find(dir.path().string() + ": cannot write report: ") == 0);
  }

  TEST_CASE("empty path and '-' write to standard output") {
    TempDir dir;
    const std::string captured = (dir.path() / "stdout").string();
    for (const char* path : {"", "-"}) {
      CAPTURE(path);
      const std::string err = flowaudit::test::with_stdout_in(
          captured, [&] { return write_report(ReportTarget{Format::kText, path}, "to stdout\n"); });
      CHECK(err.empty());
      CHECK(slurp(captured) == "to stdout\n");
    }
  }
}
