// `capture --uid USER` and `--cgroup PATH`: exactly one user's or one cgroup's traffic, selected by
// the kernel. An nftables table of the capture marks the connections that a matching socket opens
// (one bit of the conntrack mark, the others left alone), and logs every packet of a marked
// connection, both directions, to an NFLOG group that libpcap reads ("nflog:GROUP").
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace flowaudit::capture {

struct NflogSelection {
  std::optional<uid_t> uid;
  std::string cgroup;  // a cgroup v2 path, absolute or relative to the cgroup2 mount
};

// The selection and what it was made of, for the report.
struct NflogRules {
  std::uint16_t group = 0;
  std::uint32_t mark_bit = 0;
  std::string description;  // "uid 1000 (alice)", "cgroup /app.slice/x.scope"
};

// "alice" or "1000" -> uid; false and `error` when there is no such user.
bool resolve_uid(const std::string& text, uid_t& uid, std::string& description, std::string& error);

// Adds the table flowaudit_<run_pid> (root). The NFLOG group is chosen from the pid; the mark bit
// is one of bits 24-30. False and a one-line `error` (no cgroup2 mount, no such cgroup, nftables).
bool add_nflog_selection(pid_t run_pid, const NflogSelection& selection, NflogRules& rules, std::string& error);

}  // namespace flowaudit::capture
