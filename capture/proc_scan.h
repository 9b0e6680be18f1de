// Reading processes and their socket descriptors from /proc, for per-app attribution of live flows
// (capture/process_attribution.h). /proc text is untrusted input (a process names itself, and its
// comm may hold spaces and parentheses): the parsers are pure functions over string_view, tested on
// text made in the tests, and every file read is bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flowaudit::capture {

struct ProcStat {
  std::string comm;  // between the first '(' and the last ')'
  int ppid = 0;
};

// Parses /proc/PID/stat: "PID (COMM) STATE PPID ...". COMM may itself contain ") " and "(", so it
// ends at the last ')'. nullopt when the text does not have that shape.
std::optional<ProcStat> parse_proc_stat(std::string_view text);

// The inode of a /proc/PID/fd link text "socket:[12345]"; nullopt for anything else (files, pipes,
// "anon_inode:..." and malformed text).
std::optional<std::uint64_t> parse_socket_link(std::string_view link);

// The basename of argv[0] from /proc/PID/cmdline (NUL-separated arguments), e.g. "/usr/bin/foo\0-x"
// gives "foo". Empty when there is none (kernel threads, zombies).
std::string_view argv0_basename(std::string_view cmdline);

struct ProcEntry {
  int pid = 0;
  int ppid = 0;
  std::string comm;
};

// Every process (thread-group leader) in /proc, sorted by pid; at most `max_processes` (more is an
// error). Processes that exit while being read are left out. False with a one-line error.
bool list_processes(std::vector<ProcEntry>& out, std::size_t max_processes, std::string& error);

// argv[0]'s basename of a process, read from /proc/PID/cmdline (first 4 KiB); empty on failure.
std::string read_argv0(int pid);

enum class FdScan : std::uint8_t { kOk, kGone, kDenied, kTooMany };

// Appends the socket inodes among /proc/PID/fd's links to `inodes`, reading at most `max_fds`
// entries (kTooMany after that, with what was read kept).
FdScan socket_inodes_of(int pid, std::size_t max_fds, std::vector<std::uint64_t>& inodes);

}  // namespace flowaudit::capture
