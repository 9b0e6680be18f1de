// Fuzz target: the key log follower of `flowaudit run` (capture/keylog_tap.h), which reads a file
// the audited app writes. Any bytes: every line handed on is a valid key line ending in a newline,
// the count of keys matches, and nothing longer than a line's limit comes out.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "capture/keylog_tap.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int fd = ::memfd_create("keylog", MFD_CLOEXEC);
  if (fd < 0) return 0;
  flowaudit::capture::KeyLogTap tap(fd);
  // The app appends in pieces: the first byte says where the first read happens.
  const std::size_t split = size == 0 ? 0 : data[0] % (size + 1);
  std::string out;
  if (::write(fd, data, split) != static_cast<ssize_t>(split)) return 0;
  out += tap.take_new_lines();
  if (::write(fd, data + split, size - split) != static_cast<ssize_t>(size - split)) return 0;
  out += tap.take_new_lines();
  FUZZ_CHECK(out.empty() || out.back() == '\n');
  std::uint64_t lines = 0;
  for (std::size_t at = 0; at < out.size();) {
    const std::size_t nl = out.find('\n', at);
    FUZZ_CHECK(nl != std::string::npos);
    const std::string_view line(out.data() + at, nl - at);
    FUZZ_CHECK(line.size() <= flowaudit::capture::KeyLogTap::kMaxLine);
    FUZZ_CHECK(flowaudit::capture::is_key_log_line(line));
    ++lines;
    at = nl + 1;
  }
  FUZZ_CHECK(lines == tap.keys());
  return 0;
}
