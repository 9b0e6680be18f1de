// The bytes of a capture file in order, from a memory map (a regular file: no copy) or a stdio
// stream (a pipe, standard input, or where mapping failed: read into one reusable buffer).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <vector>

#include "capture/mapped_file.h"

namespace flowaudit::capture {

class ByteInput {
 public:
  explicit ByteInput(std::FILE* file) : file_(file) { buffer_.reserve(64 * 1024); }  // owns it (not stdin)
  explicit ByteInput(std::unique_ptr<MappedFile> map) : map_(std::move(map)) {}
  ~ByteInput() {
    if (file_ != nullptr && file_ != stdin) std::fclose(file_);
  }
  ByteInput(const ByteInput&) = delete;
  ByteInput& operator=(const ByteInput&) = delete;

  // The next n bytes, valid until the next call for a stream (for a map: as long as the map);
  // fewer, possibly none, at the end of the input or on a read error.
  std::span<const std::uint8_t> take(std::size_t n) {
    if (map_) {
      const auto all = map_->bytes();
      const std::size_t got = std::min(n, all.size() - pos_);
      const auto out = all.subspan(pos_, got);
      pos_ += got;
      map_->reader_at(pos_);
      return out;
    }
    buffer_.resize(n);
    const std::size_t got = std::fread(buffer_.data(), 1, n, file_);
    pos_ += got;
    return std::span<const std::uint8_t>(buffer_).first(got);
  }
  // A read error (stream), or the mapped file shrank under us (what was taken since may be zeros).
  [[nodiscard]] bool error() const noexcept { return map_ ? map_->shrank() : std::ferror(file_) != 0; }
  [[nodiscard]] bool mapped() const noexcept { return map_ != nullptr; }

 private:
  std::FILE* file_ = nullptr;
  std::unique_ptr<MappedFile> map_;
  std::vector<std::uint8_t> buffer_;
  std::size_t pos_ = 0;
};

}  // namespace flowaudit::capture
