#include "capture/pcap_file_source.h"

#include <fmt/format.h>
#include <pcap/pcap.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "capture/pcapng_reader.h"
#include "core/byte_reader.h"

namespace flowaudit::capture {
namespace {

constexpr std::uint32_t kPcapMagicUsec = 0xA1B2C3D4;
constexpr std::uint32_t kPcapMagicNsec = 0xA1B23C4D;
constexpr std::uint32_t kPcapMagicModified = 0xA1B2CD34;  // Kuznetzov's patched format, libpcap reads it
constexpr std::uint32_t kPcapngMagic = 0x0A0D0D0A;
constexpr std::size_t kPcapFileHeader = 24;
constexpr std::size_t kPcapRecordHeader = 16;
constexpr std::size_t kPatchedPcapRecordHeader = 24;  // adds ifindex, protocol, packet type

// A stdio stream that first returns bytes already read from `inner` (to sniff the format of a pipe,
// which cannot be rewound) and then reads on from `inner`. glibc's fopencookie does the plumbing.
struct PrefixedStream {
  std::FILE* inner;
  unsigned char prefix[8];
  std::size_t prefix_len;
  std::size_t prefix_pos;
};

ssize_t prefixed_read(void* cookie, char* buf, std::size_t size) {
  auto* s = static_cast<PrefixedStream*>(cookie);
  std::size_t n = 0;
  while (n < size && s->prefix_pos < s->prefix_len) buf[n++] = static_cast<char>(s->prefix[s->prefix_pos++]);
  if (n < size) n += std::fread(buf + n, 1, size - n, s->inner);
  if (n == 0 && std::ferror(s->inner) != 0) return -1;
  return static_cast<ssize_t>(n);
}

int prefixed_close(void* cookie) {
  auto* s = static_cast<PrefixedStream*>(cookie);
  if (s->inner != stdin) std::fclose(s->inner);
  delete s;
  return 0;
}

std::FILE* reopen_with_prefix(std::FILE* inner, const unsigned char* prefix, std::size_t len) {
  auto* s = new PrefixedStream{inner, {}, len, 0};
  std::memcpy(s->prefix, prefix, len);
  cookie_io_functions_t io{};
  io.read = prefixed_read;
  io.close = prefixed_close;
  std::FILE* f = fopencookie(s, "r", io);
  if (f == nullptr) delete s;
  return f;
}


class LibpcapFileSource final : public PacketSource {
 public:
  LibpcapFileSource(pcap_t* p, SourceInfo info, std::size_t record_header)
      : pcap_(p), info_(std::move(info)), record_header_(record_header) {
    info_.link_types.push_back(dlt_to_linktype(pcap_datalink(pcap_)));
    nanosecond_ = pcap_get_tstamp_precision(pcap_) == PCAP_TSTAMP_PRECISION_NANO;
  }
  ~LibpcapFileSource() override { pcap_close(pcap_); }
  LibpcapFileSource(const LibpcapFileSource&) = delete;
  LibpcapFileSource& operator=(const LibpcapFileSource&) = delete;
  [[nodiscard]] std::uint64_t position() const noexcept override { return offset_; }

  ReadStatus next(RawPacket& packet) override {
    if (done_) return info_.error.empty() ? ReadStatus::kEnd : ReadStatus::kError;
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(pcap_, &hdr, &data);
    if (rc == 1) {
      packet.ts_ns = static_cast<core::TimestampNs>(hdr->ts.tv_sec) * core::kNsPerSecond +
                     static_cast<core::TimestampNs>(hdr->ts.tv_usec) * (nanosecond_ ? 1 : 1000);
      packet.link_type = info_.link_types.front();
      packet.interface_id = 0;
      packet.orig_len = hdr->len;
      packet.data = std::span<const std::uint8_t>(data, hdr->caplen);
      packet.data_offset = offset_ + record_header_;
      ++info_.packets;
      info_.bytes += hdr->caplen;
      offset_ += record_header_ + hdr->caplen;
      return ReadStatus::kPacket;
    }
    done_ = true;
    if (rc == PCAP_ERROR_BREAK) {
      info_.complete = true;
      return ReadStatus::kEnd;
    }
    // libpcap's message says what was wrong ("truncated dump file; tried to read ...",
    // "invalid packet capture length ..."); add the file and where the bad record starts.
    info_.error = fmt::format("{}: bad or cut-off packet record at offset {}: {}", info_.path, offset_,
                              pcap_geterr(pcap_));
    return ReadStatus::kError;
  }
  [[nodiscard]] const SourceInfo& info() const override { return info_; }

 private:
  pcap_t* pcap_;
  SourceInfo info_;
  std::size_t record_header_;  // 16 bytes, 24 in the patched format
  std::uint64_t offset_ = kPcapFileHeader;
  bool nanosecond_ = false;
  bool done_ = false;
};

OpenResult open_error(SourceInfo info, std::string message) {
  info.error = fmt::format("{}: {}", info.path, message);
  info.complete = false;
  return OpenResult{nullptr, std::move(info)};
}

}  // namespace

// libpcap reports DLT_* values; the rest of the code speaks LINKTYPE_* (what files store).
std::uint32_t dlt_to_linktype(int dlt) {
  switch (dlt) {
    case DLT_RAW:
#if defined(DLT_RAW) && DLT_RAW != 14
    case 14:
#endif
      return 101;
    default:
      return static_cast<std::uint32_t>(dlt);
  }
}

OpenResult open_capture_file(const std::string& path) {
  SourceInfo info;
  info.path = path;
  std::FILE* f = nullptr;
  if (path == "-") {
    f = stdin;
  } else {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return open_error(std::move(info), std::strerror(errno));
    if (S_ISDIR(st.st_mode)) return open_error(std::move(info), "is a directory, not a capture file");
    f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return open_error(std::move(info), std::strerror(errno));
  }
  unsigned char magic_bytes[4];
  const std::size_t got = std::fread(magic_bytes, 1, 4, f);
  if (got == 0) {
    const bool err = std::ferror(f) != 0;
    if (f != stdin) std::fclose(f);
    return open_error(std::move(info), err ? std::strerror(errno) : "empty file, not a capture");
  }
  std::uint32_t le = 0;
  core::ByteReader(std::span<const std::uint8_t>(magic_bytes, 4)).read_u32le(le);
  if (got < 4) {
    if (f != stdin) std::fclose(f);
    return open_error(std::move(info), fmt::format("only {} bytes long, not a capture", got));
  }

  // Rewind a regular file; wrap a pipe so the sniffed bytes are read again.
  std::FILE* stream = f;
  if (std::fseek(f, 0, SEEK_SET) != 0) {
    stream = reopen_with_prefix(f, magic_bytes, 4);
    if (stream == nullptr) {
      if (f != stdin) std::fclose(f);
      return open_error(std::move(info), "cannot set up the input stream");
    }
  }

  if (le == kPcapngMagic) {
    info.format = "pcapng";
    return OpenResult{std::make_unique<PcapngReader>(stream, info), info};
  }
  const std::uint32_t be = __builtin_bswap32(le);
  const bool is_pcap = le == kPcapMagicUsec || be == kPcapMagicUsec || le == kPcapMagicNsec ||
                       be == kPcapMagicNsec || le == kPcapMagicModified || be == kPcapMagicModified;
  if (!is_pcap) {
    if (stream != stdin) std::fclose(stream);
    return open_error(std::move(info),
                      fmt::format("not a pcap or pcapng file (starts with 0x{:08x}) at offset 0", be));
  }
  info.format = (le == kPcapMagicNsec || be == kPcapMagicNsec) ? "pcap-nsec" : "pcap";
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  // Ask for nanoseconds: libpcap scales microsecond files up, so one conversion fits both.
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(stream, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (p == nullptr) {
    if (stream != stdin) std::fclose(stream);
    return open_error(std::move(info), fmt::format("bad pcap header at offset 0: {}", errbuf));
  }
  const bool patched = le == kPcapMagicModified || be == kPcapMagicModified;
  return OpenResult{
      std::make_unique<LibpcapFileSource>(p, info, patched ? kPatchedPcapRecordHeader : kPcapRecordHeader), info};
}

}  // namespace flowaudit::capture
