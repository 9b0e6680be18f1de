// Output files that a hostile directory cannot redirect. A report or capture path may sit in a
// directory someone else filled (a CI job in an untrusted checkout): a planted symlink must not
// make flowaudit overwrite or chmod the file it points to, nor create the file a dangling one names.
//
// What a path is decides how it is written:
//   "-" or ""                                   standard output, as it stands
//   /dev/stdout, /dev/stderr, /dev/fd/N,
//   /proc/self/fd/N                             that open descriptor of this process, duplicated
//   a regular file, or no file yet              a new temporary file in the same directory, renamed
//                                               over the path at the end (kReplace), or the path
//                                               itself opened without following a link (kInPlace)
//   a terminal, a pipe, /dev/null, a link to one  opened for writing, never created nor truncated
//   a symlink to a regular file, a dangling
//   symlink, a directory                        refused
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <memory>
#include <string>

namespace flowaudit::core {

enum class OutputKind { kStdout, kDescriptor, kRegular, kSpecial };

struct OutputCheck {
  OutputKind kind = OutputKind::kStdout;
  int fd = -1;             // kStdout, kDescriptor: the descriptor written to
  bool has_identity = false;  // dev/ino hold the file's identity (it exists)
  dev_t dev = 0;
  ino_t ino = 0;
  std::string canonical;   // the resolved path (for a file not there yet: its resolved directory + name)
};

// Classifies `path` and checks, without creating anything, that it can be written: its directory
// exists and is writable for a regular file, the descriptor is open, the device is writable.
// Returns "" or a one-line reason (without the path: the caller names it as the user gave it).
std::string check_output(const std::string& path, OutputCheck& out);

// True when two checked outputs would land in the same file (one would replace the other); a
// device or pipe named twice is not (it takes both).
[[nodiscard]] bool same_output(const OutputCheck& a, const OutputCheck& b) noexcept;

class OutputFile {
 public:
  enum class Mode {
    kReplace,  // regular files: write a temporary file, rename it into place on commit()
    kInPlace,  // regular files: create or truncate the path itself (O_NOFOLLOW); for a stream that
               // must be readable while it grows (capture --write)
    kAppend,   // regular files: create or append to the path itself (O_NOFOLLOW, O_APPEND); for a
               // log that a restart continues (--events)
  };

  OutputFile() = default;
  ~OutputFile();  // an output not committed is closed and its temporary file removed
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // Checks `path` again (it may have changed since check_output) and opens it, mode 0600 for a
  // file it creates. Returns "" or a one-line reason (without the path).
  std::string open(const std::string& path, Mode mode);
  [[nodiscard]] std::FILE* file() const noexcept { return file_; }
  // Flushes, syncs a file to disk and renames a temporary file into place. "" or a reason; on
  // failure the temporary file is removed and the path left as it was.
  std::string commit();
  // Closes without committing: a temporary file is removed.
  void abort() noexcept;

 private:
  std::FILE* file_ = nullptr;
  // stdio's buffer, ours: glibc's setvbuf ignores the size it is given unless it is given the
  // buffer too, and its own is the file system's block size (4 KiB).
  std::unique_ptr<char[]> buffer_;
  bool is_stdout_ = false;
  bool sync_ = false;  // a file on disk: fsync before it counts as written
  std::string path_;
  std::string temp_;  // kReplace on a regular file: the temporary file, until renamed
};

}  // namespace flowaudit::core
