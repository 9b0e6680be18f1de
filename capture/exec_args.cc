#include "capture/exec_args.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

extern char** environ;

namespace flowaudit::capture {

ExecArgs::ExecArgs(std::vector<std::string> args, const std::vector<std::string>& add) : args_(std::move(args)) {
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const auto name = entry.substr(0, entry.find('=') + 1);
    bool replaced = false;
    for (const auto& a : add) replaced = replaced || std::string_view(a).starts_with(name);
    if (!replaced) env_.emplace_back(entry);
  }
  env_.insert(env_.end(), add.begin(), add.end());
  for (auto& a : args_) argv_.push_back(a.data());
  argv_.push_back(nullptr);
  for (auto& e : env_) envp_.push_back(e.data());
  envp_.push_back(nullptr);
}

int read_exec_errno(int fd) {
  int err = 0;
  ssize_t got;
  do {
    got = ::read(fd, &err, sizeof err);
  } while (got < 0 && errno == EINTR);
  return got == static_cast<ssize_t>(sizeof err) ? err : 0;
}

std::vector<std::string> keylog_environment(const std::string& path) {
  const char* node = std::getenv("NODE_OPTIONS");
  return {"SSLKEYLOGFILE=" + path, fmt::format("NODE_OPTIONS={}{}--tls-keylog={}", node != nullptr ? node : "",
                                               node != nullptr && *node != '\0' ? " " : "", path)};
}

}  // namespace flowaudit::capture
