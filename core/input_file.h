// The whole of a small input file read with a limit: a policy, a catalog, the chat endpoints, a
// canary list, a range CSV, a JSON report to diff. Each of these is untrusted and read at start,
// so the read has a byte limit, refuses a directory with a clear reason, and allocates only what the
// file holds (a buffer sized to the limit cost a 1 MiB memset, 256 page faults, at every start).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace flowaudit::core {

// Reads all of `path` into `out` (replaced). A regular file is read in one go at its size; a pipe
// or a device (/dev/stdin, a process substitution) is read until its end. Returns "" or a one-line
// reason without the path (the caller names the file as the user gave it):
//   "no such file", "is a directory", "cannot open: <reason>",
//   "is larger than <limit>" (in MiB when the limit is whole MiB, else in bytes), "read error: <reason>".
// Never throws except std::bad_alloc.
std::string read_input_file(const std::filesystem::path& path, std::size_t limit, std::string& out);

// "N MiB" when `bytes` is a whole number of MiB, else "N bytes": how the limits above are named.
std::string byte_limit_text(std::size_t bytes);

}  // namespace flowaudit::core
