#include "core/output_file.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <optional>
#include <string_view>
#include <system_error>

namespace flowaudit::core {
namespace {

namespace fs = std::filesystem;

std::string errno_text(int err) { return std::strerror(err); }

// The descriptor behind /dev/stdout and friends: written through a duplicate, so that a shell's
// redirection (`3>>log`, `>(gzip >r.gz)`) keeps its flags and position, and a redirection to a
// regular file is not taken for a planted symlink.
std::optional<int> descriptor_of(std::string_view path) {
  if (path == "/dev/stdout") return 1;
  if (path == "/dev/stderr") return 2;
  for (const std::string_view prefix : {std::string_view("/dev/fd/"), std::string_view("/proc/self/fd/")}) {
    if (!path.starts_with(prefix)) continue;
    const std::string_view digits = path.substr(prefix.size());
    if (digits.empty() || digits.size() > 7) return std::nullopt;
    int fd = 0;
    for (const char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      fd = fd * 10 + (c - '0');
    }
    return fd;
  }
  return std::nullopt;
}

fs::path directory_of(const std::string& path) {
  fs::path dir = fs::path(path).parent_path();
  return dir.empty() ? fs::path(".") : dir;
}

// A regular file is replaced by a rename in its directory: the directory must take new files.
std::string check_directory(const std::string& path, OutputCheck& out) {
  const fs::path name = fs::path(path).filename();
  if (name.empty() || name == "." || name == "..") return "names a directory, not a file";
  const fs::path dir = directory_of(path);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return "directory " + dir.string() + ": " + errno_text(errno);
  if (!S_ISDIR(st.st_mode)) return dir.string() + " is not a directory";
  if (::faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0) {
    return "cannot create files in directory " + dir.string() + ": " + errno_text(errno);
  }
  std::error_code ec;
  const fs::path resolved = fs::weakly_canonical(dir, ec);
  out.canonical = ((ec ? fs::absolute(dir, ec) : resolved) / name).lexically_normal().string();
  return {};
}

void set_identity(OutputCheck& out, const struct stat& st) {
  out.has_identity = true;
  out.dev = st.st_dev;
  out.ino = st.st_ino;
}

std::string check_special(const std::string& path, const struct stat& st, OutputCheck& out) {
  if (::faccessat(AT_FDCWD, path.c_str(), W_OK, AT_EACCESS) != 0) return "cannot write: " + errno_text(errno);
  out.kind = OutputKind::kSpecial;
  set_identity(out, st);
  std::error_code ec;
  out.canonical = fs::weakly_canonical(path, ec).string();
  if (ec) out.canonical = path;
  return {};
}

// A temporary file must not outlive a Ctrl-C or a kill while a report is written: the signal
// handler removes it and lets the signal end the process as it would have. One slot (reports are
// written one after another); only signals left at their default action are taken over, so a
// handler of the caller's (the live capture's) keeps working.
constexpr int kCleanupSignals[] = {SIGINT, SIGTERM, SIGHUP};
char g_temp_path[4096];
volatile sig_atomic_t g_temp_active = 0;
struct sigaction g_previous[std::size(kCleanupSignals)];
bool g_taken[std::size(kCleanupSignals)] = {};

extern "C" void remove_temp_and_reraise(int sig) {
  if (g_temp_active != 0) ::unlink(g_temp_path);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  ::raise(sig);
}

// Called with the cleanup signals blocked, so that the handler never sees a half-copied name.
void guard_temp(const std::string& path) {
  if (g_temp_active != 0 || path.size() >= sizeof g_temp_path) return;
  std::memcpy(g_temp_path, path.c_str(), path.size() + 1);
  g_temp_active = 1;
  for (std::size_t i = 0; i < std::size(kCleanupSignals); ++i) {
    struct sigaction current {};
    g_taken[i] = false;
    if (::sigaction(kCleanupSignals[i], nullptr, &current) != 0 || current.sa_handler != SIG_DFL) continue;
    struct sigaction ours {};
    ours.sa_handler = remove_temp_and_reraise;
    ::sigemptyset(&ours.sa_mask);
    g_taken[i] = ::sigaction(kCleanupSignals[i], &ours, &g_previous[i]) == 0;
  }
}

void unguard_temp(const std::string& path) {
  if (g_temp_active == 0 || path != g_temp_path) return;
  for (std::size_t i = 0; i < std::size(kCleanupSignals); ++i) {
    if (g_taken[i]) ::sigaction(kCleanupSignals[i], &g_previous[i], nullptr);
    g_taken[i] = false;
  }
  g_temp_active = 0;
}

// Blocks the cleanup signals for one scope.
class BlockSignals {
 public:
  BlockSignals() {
    sigset_t set;
    ::sigemptyset(&set);
    for (const int s : kCleanupSignals) ::sigaddset(&set, s);
    ::pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~BlockSignals() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  BlockSignals(const BlockSignals&) = delete;
  BlockSignals& operator=(const BlockSignals&) = delete;

 private:
  sigset_t old_;
};

}  // namespace

std::string check_output(const std::string& path, OutputCheck& out) {
  out = OutputCheck{};
  struct stat st {};
  if (path.empty() || path == "-") {
    out.kind = OutputKind::kStdout;
    out.fd = STDOUT_FILENO;
    out.canonical = "<fd 1>";
    if (::fstat(STDOUT_FILENO, &st) == 0) set_identity(out, st);
    return {};
  }
  if (const auto fd = descriptor_of(path)) {
    const int flags = ::fcntl(*fd, F_GETFL);
    if (flags == -1) return "descriptor " + std::to_string(*fd) + " is not open";
    if ((flags & O_ACCMODE) == O_RDONLY) return "descriptor " + std::to_string(*fd) + " is not open for writing";
    out.kind = *fd == STDOUT_FILENO ? OutputKind::kStdout : OutputKind::kDescriptor;
    out.fd = *fd;
    out.canonical = "<fd " + std::to_string(*fd) + ">";
    if (::fstat(*fd, &st) == 0) set_identity(out, st);
    return {};
  }
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return errno_text(errno);
    out.kind = OutputKind::kRegular;
    return check_directory(path, out);
  }
  if (S_ISLNK(st.st_mode)) {
    struct stat target {};
    if (::stat(path.c_str(), &target) != 0) {
      if (errno == ENOENT) return "is a dangling symbolic link; refusing to create the file it points to";
      return "is a symbolic link that cannot be followed: " + errno_text(errno);
    }
    if (S_ISREG(target.st_mode)) {
      return "is a symbolic link to a regular file; refusing to write through it (name the file itself)";
    }
    if (S_ISDIR(target.st_mode)) return "is a symbolic link to a directory";
    return check_special(path, target, out);  // /dev/stdout-like links to devices and pipes
  }
  if (S_ISDIR(st.st_mode)) return "is a directory";
  if (S_ISREG(st.st_mode)) {
    out.kind = OutputKind::kRegular;
    set_identity(out, st);
    return check_directory(path, out);
  }
  return check_special(path, st, out);
}

bool same_output(const OutputCheck& a, const OutputCheck& b) noexcept {
  // Written twice, a device or a pipe takes both (--report json:/dev/null --report html:/dev/null);
  // a file would keep only the last.
  if (a.kind != OutputKind::kRegular && b.kind != OutputKind::kRegular) return false;
  if (a.has_identity && b.has_identity && a.dev == b.dev && a.ino == b.ino) return true;
  return !a.canonical.empty() && a.canonical == b.canonical;
}

OutputFile::~OutputFile() { abort(); }

std::string OutputFile::open(const std::string& path, Mode mode) {
  abort();
  OutputCheck check;
  if (auto err = check_output(path, check); !err.empty()) return err;
  path_ = path;
  int fd = -1;
  switch (check.kind) {
    case OutputKind::kStdout:
      if (check.fd == STDOUT_FILENO && (path.empty() || path == "-")) {
        file_ = stdout;
        is_stdout_ = true;
        return {};
      }
      [[fallthrough]];
    case OutputKind::kDescriptor:
      fd = ::fcntl(check.fd, F_DUPFD_CLOEXEC, 3);
      if (fd < 0) return errno_text(errno);
      break;
    case OutputKind::kSpecial: {
      // Never O_CREAT or O_TRUNC here: the path was a device or a pipe a moment ago.
      fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
      if (fd < 0) return errno_text(errno);
      struct stat st {};
      if (::fstat(fd, &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
        ::close(fd);
        return "changed into a file while flowaudit ran; not written";
      }
      break;
    }
    case OutputKind::kRegular:
      if (mode == Mode::kInPlace || mode == Mode::kAppend) {
        const int how = mode == Mode::kAppend ? O_APPEND : O_TRUNC;
        fd = ::open(path.c_str(), O_WRONLY | O_CREAT | how | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0 && errno == ELOOP) return "became a symbolic link; refusing to write through it";
        if (fd < 0) return errno_text(errno);
        struct stat st {};
        // An existing file keeps its mode on O_TRUNC and O_APPEND: it holds what the app sent.
        if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) != 0600) ::fchmod(fd, 0600);
        sync_ = true;
        break;
      }
      {
        // A name of our own beside the target (a rename does not cross file systems), hidden,
        // random, created with O_EXCL and mode 0600 by mkostemp.
        std::string name = fs::path(path).filename().string().substr(0, 200);
        std::string tmpl = (directory_of(path) / ("." + name + ".tmp-XXXXXX")).string();
        const BlockSignals blocked;
        fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
        if (fd < 0) return "cannot create a temporary file in " + directory_of(path).string() + ": " + errno_text(errno);
        temp_ = tmpl;
        guard_temp(temp_);
        ::fchmod(fd, 0600);
        sync_ = true;
      }
      break;
  }
  file_ = ::fdopen(fd, "w");
  if (file_ == nullptr) {
    const int err = errno;
    ::close(fd);
    abort();
    return errno_text(err);
  }
  // Reports and event streams are written in many small pieces: a 256 KiB buffer instead of stdio's
  // 4 KiB (the file system's block size) makes one write(2) of 64 (an events file of 184 MB took
  // 46,000 of them). The buffer is given: glibc ignores the size when it allocates the buffer itself.
  constexpr std::size_t kBuffer = std::size_t{256} << 10;
  if (!buffer_) buffer_ = std::make_unique_for_overwrite<char[]>(kBuffer);
  std::setvbuf(file_, buffer_.get(), _IOFBF, kBuffer);
  return {};
}

std::string OutputFile::commit() {
  if (file_ == nullptr) return "not open";
  bool failed = std::ferror(file_) != 0;
  int err = failed ? (errno != 0 ? errno : EIO) : 0;
  if (std::fflush(file_) != 0 && !failed) {
    failed = true;
    err = errno;
  }
  if (is_stdout_) {
    file_ = nullptr;
    is_stdout_ = false;
    return failed ? errno_text(err) : std::string();
  }
  if (!failed && sync_ && ::fsync(::fileno(file_)) != 0 && errno != EINVAL) {
    failed = true;
    err = errno;
  }
  if (std::fclose(file_) != 0 && !failed) {
    failed = true;
    err = errno;
  }
  file_ = nullptr;
  sync_ = false;
  if (failed) {
    abort();
    return errno_text(err);
  }
  if (temp_.empty()) return {};
  // rename replaces the directory entry: a symlink planted there since the check is replaced, not followed.
  {
    const BlockSignals blocked;
    if (::rename(temp_.c_str(), path_.c_str()) != 0) {
      err = errno;
      abort();
      return "cannot move the finished file into place: " + errno_text(err);
    }
    unguard_temp(temp_);
    temp_.clear();
  }
  const int dir = ::open(directory_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);  // the rename itself survives a crash
    ::close(dir);
  }
  return {};
}

void OutputFile::abort() noexcept {
  if (file_ != nullptr && !is_stdout_) std::fclose(file_);
  if (is_stdout_) std::fflush(stdout);
  file_ = nullptr;
  is_stdout_ = false;
  sync_ = false;
  if (!temp_.empty()) {
    const BlockSignals blocked;
    ::unlink(temp_.c_str());
    unguard_temp(temp_);
    temp_.clear();
  }
}

}  // namespace flowaudit::core
