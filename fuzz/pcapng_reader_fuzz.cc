// Fuzz target: the hand-written pcapng block reader. The input is a whole pcapng stream, given to
// PcapngReader through fmemopen so that the reader's real stdio path (short reads, EOF inside a
// block) is what runs.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "capture/pcapng_reader.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using flowaudit::capture::PcapngReader;
  using flowaudit::capture::RawPacket;
  using flowaudit::capture::SourceInfo;

  // fmemopen wants a writable buffer and, in older glibc, a non-zero size; a private copy gives
  // both (the stream is opened read-only, so the copy is never written).
  std::vector<std::uint8_t> copy(size == 0 ? 1 : size);
  if (size > 0) std::memcpy(copy.data(), data, size);
  std::FILE* file = fmemopen(copy.data(), copy.size(), "rb");
  if (file == nullptr) return 0;
  if (size == 0) std::fgetc(file);  // consume the padding byte: the reader sees an empty stream

  SourceInfo in;
  in.path = "fuzz.pcapng";
  in.format = "pcapng";
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  const SourceInfo out = PcapngReader::read_all(file, in, [&](const RawPacket& p) {
    ++packets;
    bytes += p.data.size();
    FUZZ_CHECK(p.orig_len >= p.data.size());
    flowaudit::fuzz::touch(p.data.data(), p.data.size());
  });
  // read_all owned (and closed) the stream.
  FUZZ_CHECK(out.packets == packets);
  FUZZ_CHECK(out.bytes == bytes);
  FUZZ_CHECK(out.complete == out.error.empty());
  FUZZ_CHECK(out.bytes <= size);
  return 0;
}
