// A capture file read through a memory map (issue 18): records are read in place, with no read()
// call and no copy per record, and stay valid for as long as the map (the multi-threaded audit
// hands packets to workers without copying them).
//
// A file that shrinks while it is mapped (truncated by another program) would kill the process
// with SIGBUS on the first access past its new end. A SIGBUS handler, installed once, catches
// faults inside any live map, maps a page of zeros over the faulting page so that the access
// completes, and marks the map: the reader checks shrank() after each record and stops with an
// error naming the file and the offset. Faults anywhere else keep their default action.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace flowaudit::capture {

class MappedFile {
 public:
  // Maps the regular file open on `fd` (which the caller still owns and may close) of `size`
  // bytes; null when it cannot be mapped (then read it another way). Never throws.
  static std::unique_ptr<MappedFile> map(int fd, std::size_t size) noexcept;
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept { return {data_, size_}; }
  // How much of the file stays mapped in behind the reader, and the step in which pages are given
  // back and mapped in ahead: about three windows are resident at once (4-12 MiB; with 16 MiB the
  // file's pages added ~30 MB to the peak RSS of the bench mix).
  static constexpr std::size_t kWindow = std::size_t{4} << 20;
  // The reader is at `position`: gives back the pages more than kWindow behind it (a mapped file's
  // pages count in the process's resident memory otherwise; reading them again still works, they
  // come back from the page cache, so a view kept into them stays valid) and maps in the pages
  // ahead. Cheap to call per record: it acts every kWindow bytes.
  void reader_at(std::size_t position) noexcept {
    release_before(position > kWindow ? position - kWindow : 0);
  }
  // True once an access found the file shorter than when it was mapped: what was read since may
  // be zeros.
  [[nodiscard]] bool shrank() const noexcept;

  // Live maps the SIGBUS handler knows at once (a multi-input audit maps its inputs one by one).
  static constexpr std::size_t kMaxLive = 16;

 private:
  void release_before(std::size_t offset) noexcept;
  MappedFile(const std::uint8_t* data, std::size_t size, std::size_t slot) : data_(data), size_(size), slot_(slot) {}
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t slot_;
  std::size_t released_ = 0;   // pages before this offset were given back
  std::size_t populated_ = 0;  // pages before this offset were mapped in ahead of the reader
};

}  // namespace flowaudit::capture
