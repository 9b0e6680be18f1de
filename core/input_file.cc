#include "core/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace flowaudit::core {

namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

// read() into `dst`, retrying on EINTR: bytes read, 0 at the end, -1 on an error (errno set).
ssize_t read_some(int fd, char* dst, std::size_t n) {
  while (true) {
    const ssize_t got = ::read(fd, dst, n);
    if (got >= 0 || errno != EINTR) return got;
  }
}

}  // namespace

std::string byte_limit_text(std::size_t bytes) {
  constexpr std::size_t kMiB = std::size_t{1} << 20;
  if (bytes >= kMiB && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  return std::to_string(bytes) + " bytes";
}

std::string read_input_file(const std::filesystem::path& path, std::size_t limit, std::string& out) {
  out.clear();
  const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) {
    if (errno == ENOENT) return "no such file";
    return std::string("cannot open: ") + std::strerror(errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return std::string("cannot open: ") + std::strerror(errno);
  if (S_ISDIR(st.st_mode)) return "is a directory";
  const std::string too_large = "is larger than " + byte_limit_text(limit);
  if (S_ISREG(st.st_mode)) {
    if (static_cast<std::uintmax_t>(st.st_size) > limit) return too_large;
    // Sized to the file: one allocation, no growth.
    out.resize(static_cast<std::size_t>(st.st_size));
    std::size_t have = 0;
    while (have < out.size()) {
      const ssize_t got = read_some(fd.get(), out.data() + have, out.size() - have);
      if (got < 0) return std::string("read error: ") + std::strerror(errno);
      if (got == 0) break;  // shrank while being read: what is there is the file
      have += static_cast<std::size_t>(got);
    }
    out.resize(have);
  }
  // A pipe or a device, or a regular file that grew after fstat: read on to the end, within the limit.
  std::array<char, 65536> chunk;  // NOLINT(cppcoreguidelines-pro-type-member-init): filled by read()
  while (true) {
    const ssize_t got = read_some(fd.get(), chunk.data(), chunk.size());
    if (got < 0) return std::string("read error: ") + std::strerror(errno);
    if (got == 0) return "";
    if (out.size() + static_cast<std::size_t>(got) > limit) {
      out.clear();
      return too_large;
    }
    out.append(chunk.data(), static_cast<std::size_t>(got));
  }
}

}  // namespace flowaudit::core
