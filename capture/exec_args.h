// What `run` hands to execvpe, built before the fork (no allocation between fork and exec), in one
// place for both ways of running the command (capture/netns_sandbox.h, capture/pasta_runner.h).
#pragma once

#include <string>
#include <vector>

namespace flowaudit::capture {

// argv and envp for execvpe; envp is this process's environment with `add` ("NAME=value") added,
// replacing a variable of the same name. Owns the strings the pointers point into.
class ExecArgs {
 public:
  ExecArgs(std::vector<std::string> args, const std::vector<std::string>& add);
  ExecArgs(const ExecArgs&) = delete;
  ExecArgs& operator=(const ExecArgs&) = delete;
  [[nodiscard]] char* const* argv() noexcept { return argv_.data(); }
  [[nodiscard]] char* const* envp() noexcept { return envp_.data(); }

 private:
  std::vector<std::string> args_, env_;
  std::vector<char*> argv_, envp_;
};

// Reads the close-on-exec pipe a child writes its errno to when exec fails: that errno, or 0 once
// the exec succeeded (the pipe closed without a word).
int read_exec_errno(int fd);

// The variables that make TLS libraries write their keys to `path`: SSLKEYLOGFILE, and Node's
// --tls-keylog added to whatever NODE_OPTIONS the user set.
std::vector<std::string> keylog_environment(const std::string& path);

}  // namespace flowaudit::capture
