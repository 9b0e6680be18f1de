// Where a writer's bytes go: an open stream (a report file being written, standard output) or a
// string (a report rendered in memory: diff reading back an audit, tests). Write errors surface
// where the stream is committed (core::OutputFile), not here.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace flowaudit::report {

class Output {
 public:
  explicit Output(std::FILE* file) noexcept : file_(file) {}
  explicit Output(std::string& text) noexcept : text_(&text) {}

  void write(std::string_view bytes) {
    if (text_ != nullptr) {
      text_->append(bytes);
    } else if (!bytes.empty()) {
      std::fwrite(bytes.data(), 1, bytes.size(), file_);
    }
  }

 private:
  std::FILE* file_ = nullptr;
  std::string* text_ = nullptr;
};

}  // namespace flowaudit::report
