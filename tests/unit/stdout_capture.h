// Runs code with the process's standard output (descriptor 1) sent to a file, then puts it back:
// for writers whose target is "-", /dev/stdout and the like.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

namespace flowaudit::test {

template <typename F>
auto with_stdout_in(const std::filesystem::path& file, F&& f) {
  std::fflush(stdout);
  const int saved = ::dup(1);
  REQUIRE(saved >= 0);
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  ::dup2(fd, 1);
  ::close(fd);
  auto result = f();
  std::fflush(stdout);
  ::dup2(saved, 1);
  ::close(saved);
  return result;
}

}  // namespace flowaudit::test
