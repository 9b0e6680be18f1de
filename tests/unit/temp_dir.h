// Test-only: a private temporary directory, removed with everything in it when the test ends.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>

namespace flowaudit::test {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "flowaudit-unit-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] bool ok() const { return !path_.empty(); }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

  // Writes `bytes` to a file named `name` in the directory and returns its path.
  std::string write(const std::string& name, std::span<const std::uint8_t> bytes) const {
    const std::string p = (path_ / name).string();
    std::FILE* f = std::fopen(p.c_str(), "wb");
    if (f != nullptr) {
      if (!bytes.empty()) std::fwrite(bytes.data(), 1, bytes.size(), f);
      std::fclose(f);
    }
    return p;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace flowaudit::test
