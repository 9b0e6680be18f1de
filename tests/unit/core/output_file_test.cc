// Report and capture outputs in a directory someone else may have filled: planted symlinks are
// refused, files are replaced whole, devices and descriptors are written as they are.
#include "core/output_file.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "capture/pcapng_writer.h"
#include "report/report_output.h"
#include "unit/stdout_capture.h"
#include "unit/temp_dir.h"

using flowaudit::core::OutputCheck;
using flowaudit::core::OutputFile;
using flowaudit::core::OutputKind;
using flowaudit::report::check_report_targets;
using flowaudit::report::Format;
using flowaudit::report::ReportTarget;
using flowaudit::report::write_report;
using flowaudit::test::TempDir;

namespace {

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void put(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::size_t entries(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace

TEST_SUITE("core.output_file") {
  TEST_CASE("a symlink to a regular file is refused and the file it points to is left alone") {
    TempDir dir;
    REQUIRE(dir.ok());
    const auto victim = dir.path() / "victim";
    put(victim, "precious\n");
    REQUIRE(::chmod(victim.c_str(), 0644) == 0);
    const auto link = dir.path() / "r.json";
    std::filesystem::create_symlink(victim, link);
    const std::string err = write_report(ReportTarget{Format::kJson, link.string()}, "{}\n");
    CHECK(err.find(link.string() + ": cannot write report: is a symbolic link to a regular file") == 0);
    CHECK(err.find('\n') == std::string::npos);
    CHECK(slurp(victim) == "precious\n");
    struct stat st {};
    REQUIRE(::stat(victim.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0644);
    CHECK(std::filesystem::is_symlink(link));
    CHECK(entries(dir.path()) == 2);  // no temporary file left behind
  }

  TEST_CASE("a dangling symlink is refused and its target is not created") {
    TempDir dir;
    const auto target = dir.path() / "created-elsewhere";
    const auto link = dir.path() / "r.json";
    std::filesystem::create_symlink(target, link);
    const std::string err = write_report(ReportTarget{Format::kJson, link.string()}, "{}\n");
    CHECK(err.find("dangling symbolic link") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(target));
    OutputCheck c;
    CHECK(flowaudit::core::check_output(link.string(), c).find("dangling") != std::string::npos);
  }

  TEST_CASE("a regular file is replaced by a new file, not rewritten in place") {
    TempDir dir;
    const auto path = dir.path() / "r.txt";
    put(path, "old and longer\n");
    const auto hard = dir.path() / "hard-link";
    std::filesystem::create_hard_link(path, hard);
    CHECK(write_report(ReportTarget{Format::kText, path.string()}, "new\n").empty());
    CHECK(slurp(path) == "new\n");
    CHECK(slurp(hard) == "old and longer\n");  // another name of the old file is not written through
    CHECK(entries(dir.path()) == 2);
  }

  TEST_CASE("a writer that fails or throws leaves the old file and no temporary file") {
    TempDir dir;
    const auto path = dir.path() / "r.json";
    put(path, "old\n");
    CHECK_THROWS_AS(write_report(ReportTarget{Format::kJson, path.string()},
                                 [](flowaudit::report::Output& out) {
                                   out.write("partial");
                                   throw std::runtime_error("writer failed");
                                 }),
                    std::runtime_error);
    CHECK(slurp(path) == "old\n");
    CHECK(entries(dir.path()) == 1);
    OutputFile f;
    REQUIRE(f.open(path.string(), OutputFile::Mode::kReplace).empty());
    std::fputs("half", f.file());
    f.abort();
    CHECK(slurp(path) == "old\n");
    CHECK(entries(dir.path()) == 1);
  }

  TEST_CASE("a signal while a report is written removes the temporary file") {
    TempDir dir;
    const auto path = dir.path() / "r.json";
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::signal(SIGTERM, SIG_DFL);  // doctest catches it to report crashes; a user's process does not
      OutputFile f;
      if (!f.open(path.string(), OutputFile::Mode::kReplace).empty()) ::_exit(3);
      std::fputs("half a report", f.file());
      std::fflush(f.file());
      ::raise(SIGTERM);
      ::_exit(4);  // not reached: SIGTERM ends the process
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    CHECK(entries(dir.path()) == 0);
    // Once committed the handler is gone again, and a caller's own handler is never replaced.
    struct sigaction before {};
    REQUIRE(::sigaction(SIGTERM, nullptr, &before) == 0);
    void (*const caller)(int) = [](int) {};
    struct sigaction mine {};
    mine.sa_handler = caller;
    REQUIRE(::sigaction(SIGINT, &mine, &before) == 0);
    OutputFile f;
    REQUIRE(f.open(path.string(), OutputFile::Mode::kReplace).empty());
    struct sigaction during {};
    REQUIRE(::sigaction(SIGINT, nullptr, &during) == 0);
    const bool kept_during = during.sa_handler == caller;
    CHECK(kept_during);
    CHECK(f.commit().empty());
    REQUIRE(::sigaction(SIGINT, &before, nullptr) == 0);
  }

  TEST_CASE("devices, links to devices and open descriptors are written directly") {
    CHECK(write_report(ReportTarget{Format::kJson, "/dev/null"}, "x").empty());
    TempDir dir;
    const auto link = dir.path() / "null-link";
    std::filesystem::create_symlink("/dev/null", link);
    CHECK(write_report(ReportTarget{Format::kJson, link.string()}, "x").empty());
    CHECK(std::filesystem::is_symlink(link));

    // /dev/fd/N, as a shell's >(...) gives it: here a pipe.
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    CHECK(write_report(ReportTarget{Format::kJson, "/dev/fd/" + std::to_string(fds[1])}, "through the pipe").empty());
    ::close(fds[1]);
    char buf[64] = {};
    const auto n = ::read(fds[0], buf, sizeof buf);
    ::close(fds[0]);
    CHECK(std::string(buf, static_cast<std::size_t>(n > 0 ? n : 0)) == "through the pipe");
    CHECK(write_report(ReportTarget{Format::kJson, "/dev/fd/987"}, "x").find("not open") != std::string::npos);
  }

  TEST_CASE("small writes are gathered in a 256 KiB buffer, not stdio's 4 KiB") {
    // glibc's setvbuf ignores the size unless it is also given the buffer: the events file was
    // written 4 KiB at a time (46,000 write(2) calls for 184 MB). Through a pipe, nothing may
    // arrive before the buffer is flushed (60,000 bytes: less than a pipe holds, 64 KiB).
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    OutputFile out;
    REQUIRE(out.open("/dev/fd/" + std::to_string(fds[1]), OutputFile::Mode::kReplace).empty());
    const std::string piece(100, 'e');
    for (int i = 0; i < 600; ++i) REQUIRE(std::fwrite(piece.data(), 1, piece.size(), out.file()) == piece.size());
    int pending = -1;
    REQUIRE(::ioctl(fds[0], FIONREAD, &pending) == 0);
    CHECK(pending == 0);  // 60,000 bytes written, all still in the buffer
    CHECK(out.commit().empty());
    REQUIRE(::ioctl(fds[0], FIONREAD, &pending) == 0);
    CHECK(pending == 60000);
    ::close(fds[0]);
    ::close(fds[1]);
  }

  TEST_CASE("/dev/stdout redirected to a regular file is the descriptor, not a symlink to refuse") {
    TempDir dir;
    const auto captured = dir.path() / "stdout";
    const std::string err = flowaudit::test::with_stdout_in(
        captured, [] { return write_report(ReportTarget{Format::kText, "/dev/stdout"}, "to stdout\n"); });
    CHECK(err.empty());
    CHECK(slurp(captured) == "to stdout\n");
  }

  TEST_CASE("every target is checked before any work") {
    TempDir dir;
    const std::string a = (dir.path() / "a.json").string();
    const std::string dot_a = (dir.path() / "." / "a.json").string();
    CHECK(check_report_targets({{Format::kJson, a}, {Format::kHtml, (dir.path() / "b.html").string()}}).empty());
    CHECK(check_report_targets({{Format::kJson, a}, {Format::kHtml, dot_a}}).find("is given twice") !=
          std::string::npos);
    put(a, "{}");
    const std::string hard = (dir.path() / "other-name").string();
    std::filesystem::create_hard_link(a, hard);
    CHECK(check_report_targets({{Format::kJson, a}, {Format::kHtml, hard}}).find("is given twice") !=
          std::string::npos);
    CHECK(check_report_targets({{Format::kJson, a}}, {{"--write", a}}).find("--write") == 0);
    CHECK(check_report_targets({{Format::kText, ""}, {Format::kJson, "/dev/stdout"}})
              .find("only one report can go to standard output") != std::string::npos);
    CHECK(check_report_targets({{Format::kText, "-"}, {Format::kJson, "-"}})
              .find("only one report can go to standard output") != std::string::npos);
    CHECK(check_report_targets({{Format::kJson, (dir.path() / "missing" / "r.json").string()}})
              .find("No such file or directory") != std::string::npos);
    CHECK(check_report_targets({{Format::kJson, dir.path().string()}}).find("is a directory") != std::string::npos);
    CHECK(entries(dir.path()) == 2);  // checking creates nothing
    CHECK(check_report_targets({{Format::kJson, "/dev/null"}, {Format::kHtml, "/dev/null"}}).empty());
    if (::geteuid() != 0) {
      const auto ro = dir.path() / "ro";
      std::filesystem::create_directory(ro);
      REQUIRE(::chmod(ro.c_str(), 0500) == 0);
      CHECK(check_report_targets({{Format::kJson, (ro / "r.json").string()}}).find("cannot create files") !=
            std::string::npos);
    }
  }

  TEST_CASE("capture --write refuses a planted symlink and keeps mode 0600") {
    TempDir dir;
    const auto victim = dir.path() / "victim";
    put(victim, "precious\n");
    const auto link = dir.path() / "x.pcapng";
    std::filesystem::create_symlink(victim, link);
    flowaudit::capture::PcapngWriter w;
    std::string err;
    CHECK_FALSE(w.open(link.string(), 1, 65535, "eth0", err));
    CHECK(err.find("--write " + link.string() + ": is a symbolic link to a regular file") == 0);
    CHECK(slurp(victim) == "precious\n");

    const auto dangling = dir.path() / "d.pcapng";
    std::filesystem::create_symlink(dir.path() / "made", dangling);
    CHECK_FALSE(w.open(dangling.string(), 1, 65535, "eth0", err));
    CHECK_FALSE(std::filesystem::exists(dir.path() / "made"));

    const auto real = dir.path() / "real.pcapng";
    put(real, "old");
    REQUIRE(::chmod(real.c_str(), 0644) == 0);
    REQUIRE(w.open(real.string(), 1, 65535, "eth0", err));
    w.close();
    struct stat st {};
    REQUIRE(::stat(real.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(st.st_size > 3);
  }
}
