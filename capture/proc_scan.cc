#include "capture/proc_scan.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace flowaudit::capture {
namespace {

constexpr std::size_t kStatReadLimit = 4096;     // stat is one line of a few hundred bytes
constexpr std::size_t kCmdlineReadLimit = 4096;  // only argv[0] is wanted
constexpr std::size_t kLinkLength = 64;          // "socket:[4294967295]" and room to see others

template <typename T>
std::optional<T> parse_number(std::string_view s) {
  T v{};
  if (s.empty()) return std::nullopt;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// Reads at most `limit` bytes of a /proc file into `out`; false when it cannot be opened or read.
bool read_small_file(const char* path, std::size_t limit, std::string& out) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  out.resize(limit);
  std::size_t got = 0;
  bool ok = true;
  while (got < limit) {
    const ssize_t n = ::read(fd, out.data() + got, limit - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      ok = false;
      break;
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  out.resize(got);
  return ok;
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  const auto open = text.find('(');
  const auto close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
  if (open < 2 || text[open - 1] != ' ' || !parse_number<int>(text.substr(0, open - 1))) return std::nullopt;
  // After the comm: " S PPID ..." (state is one character).
  std::string_view rest = text.substr(close + 1);
  if (rest.size() < 4 || rest[0] != ' ' || rest[2] != ' ') return std::nullopt;
  rest.remove_prefix(3);
  const auto end = rest.find_first_of(" \n");
  const auto ppid = parse_number<int>(rest.substr(0, end));
  if (!ppid || *ppid < 0) return std::nullopt;
  ProcStat s;
  s.comm = std::string(text.substr(open + 1, close - open - 1));
  s.ppid = *ppid;
  return s;
}

std::optional<std::uint64_t> parse_socket_link(std::string_view link) {
  constexpr std::string_view kPrefix = "socket:[";
  if (link.size() <= kPrefix.size() + 1 || link.substr(0, kPrefix.size()) != kPrefix || link.back() != ']') {
    return std::nullopt;
  }
  const auto digits = link.substr(kPrefix.size(), link.size() - kPrefix.size() - 1);
  if (digits.empty() || digits.size() > 20 || digits[0] == '+' || digits[0] == '-') return std::nullopt;
  return parse_number<std::uint64_t>(digits);
}

std::string_view argv0_basename(std::string_view cmdline) {
  const auto nul = cmdline.find('\0');
  std::string_view argv0 = cmdline.substr(0, nul);
  // Some programs rewrite their argv into one space-separated string; the basename is then of the
  // whole string, which will not equal a plain name, and that is fine (comm still matches).
  const auto slash = argv0.rfind('/');
  if (slash != std::string_view::npos) argv0.remove_prefix(slash + 1);
  return argv0;
}

bool list_processes(std::vector<ProcEntry>& out, std::size_t max_processes, std::string& error) {
  out.clear();
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) {
    error = fmt::format("/proc: {}", std::strerror(errno));
    return false;
  }
  std::string text;
  std::array<char, 64> path{};
  bool ok = true;
  while (const dirent* e = ::readdir(dir)) {
    const auto pid = parse_number<int>(std::string_view(e->d_name));
    if (!pid || *pid <= 0) continue;
    if (out.size() >= max_processes) {
      error = fmt::format("/proc: more than {} processes", max_processes);
      ok = false;
      break;
    }
    const auto r = fmt::format_to_n(path.data(), path.size() - 1, "/proc/{}/stat", *pid);
    *r.out = '\0';
    if (!read_small_file(path.data(), kStatReadLimit, text)) continue;  // exited meanwhile
    auto stat = parse_proc_stat(text);
    if (!stat) continue;
    out.push_back(ProcEntry{*pid, stat->ppid, std::move(stat->comm)});
  }
  ::closedir(dir);
  std::sort(out.begin(), out.end(), [](const ProcEntry& a, const ProcEntry& b) { return a.pid < b.pid; });
  return ok;
}

std::string read_argv0(int pid) {
  std::array<char, 64> path{};
  const auto r = fmt::format_to_n(path.data(), path.size() - 1, "/proc/{}/cmdline", pid);
  *r.out = '\0';
  std::string text;
  if (!read_small_file(path.data(), kCmdlineReadLimit, text)) return {};
  return std::string(argv0_basename(text));
}

FdScan socket_inodes_of(int pid, std::size_t max_fds, std::vector<std::uint64_t>& inodes) {
  std::array<char, 64> path{};
  const auto r = fmt::format_to_n(path.data(), path.size() - 1, "/proc/{}/fd", pid);
  *r.out = '\0';
  const int dfd = ::open(path.data(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return errno == EACCES || errno == EPERM ? FdScan::kDenied : FdScan::kGone;
  DIR* dir = ::fdopendir(dfd);
  if (dir == nullptr) {
    ::close(dfd);
    return FdScan::kGone;
  }
  FdScan result = FdScan::kOk;
  std::size_t seen = 0;
  std::array<char, kLinkLength> link{};
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    if (++seen > max_fds) {
      result = FdScan::kTooMany;
      break;
    }
    const ssize_t n = ::readlinkat(::dirfd(dir), e->d_name, link.data(), link.size());
    if (n <= 0 || static_cast<std::size_t>(n) >= link.size()) continue;  // gone, or too long for a socket
    if (const auto inode = parse_socket_link(std::string_view(link.data(), static_cast<std::size_t>(n)))) {
      inodes.push_back(*inode);
    }
  }
  ::closedir(dir);
  return result;
}

}  // namespace flowaudit::capture
