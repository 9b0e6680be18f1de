#include "capture/pcap_file_source.h"

#include <fmt/format.h>
#include <pcap/pcap.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>

#include "capture/mapped_file.h"
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
    file_nanosecond_ = info_.format == "pcap-nsec";
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
      // The file's seconds and fraction are unsigned 32-bit values (draft-ietf-opsawg-pcap §4);
      // libpcap 1.10 reads them as signed in a file of the machine's byte order and as unsigned
      // in the other, so the low 32 bits are taken back here (a microsecond file's fraction was
      // scaled to nanoseconds first).
      const auto sec = static_cast<std::uint32_t>(hdr->ts.tv_sec);
      const auto frac = file_nanosecond_ ? static_cast<std::uint32_t>(hdr->ts.tv_usec)
                                         : static_cast<std::uint32_t>(hdr->ts.tv_usec / 1000);
      packet.ts_ns = static_cast<core::TimestampNs>(sec) * core::kNsPerSecond +
                     static_cast<core::TimestampNs>(frac) * (file_nanosecond_ ? 1 : 1000);
      packet.link_type = info_.link_types.front();
      packet.interface_id = 0;
      packet.orig_len = hdr->len;
      packet.data = std::span<const std::uint8_t>(data, hdr->caplen);
      packet.data_offset = offset_ + record_header_;
      ++info_.packets;
      info_.bytes += hdr->caplen;
      // Where the stream is now when it can tell (a file): a record longer than the snapshot
      // length is handed out cut, and its rest was skipped too.
      const long at = std::ftell(pcap_file(pcap_));
      offset_ = at >= 0 ? static_cast<std::uint64_t>(at) : offset_ + record_header_ + hdr->caplen;
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
  bool file_nanosecond_ = false;  // the file's own unit (libpcap hands out nanoseconds either way)
  bool done_ = false;
};

// libpcap's largest captured length for a link type (max_snaplen_for_dlt in libpcap 1.10).
std::uint32_t max_snaplen(std::uint32_t linktype) {
  switch (linktype) {
    case 231: return 128u << 20;  // D-Bus
    case 279: return 8u << 20;    // EBHSCR
    case 249: return 1u << 20;    // USBPcap
    default: return 262144;
  }
}

// Classic pcap (version 2.4, the format every current writer produces, in either byte order, micro-
// or nanoseconds) read in place from a memory map. Written by hand because libpcap reads a file
// only through stdio (a read() call and a copy per record); it accepts and refuses what libpcap
// 1.10 does, with libpcap's messages, and any other pcap variant (older versions, the patched
// record format) still goes through libpcap.
class MappedPcapSource final : public PacketSource {
 public:
  struct Header {
    bool swapped = false;
    bool nanosecond = false;
    std::uint32_t snapshot = 0;
    std::uint32_t linktype = 0;
  };
  // The header of a file that this reader takes, or nullopt (libpcap reads it).
  static std::optional<Header> header(std::span<const std::uint8_t> bytes) {
    core::ByteReader r(bytes);
    std::uint32_t magic = 0;
    if (!r.read_u32le(magic)) return std::nullopt;
    Header h;
    if (magic == kPcapMagicUsec || magic == kPcapMagicNsec) {
      h.swapped = false;
    } else if (__builtin_bswap32(magic) == kPcapMagicUsec || __builtin_bswap32(magic) == kPcapMagicNsec) {
      h.swapped = true;
    } else {
      return std::nullopt;  // the patched format or not pcap
    }
    h.nanosecond = magic == kPcapMagicNsec || __builtin_bswap32(magic) == kPcapMagicNsec;
    const bool be = h.swapped;  // the file is little-endian unless swapped
    std::uint16_t major = 0;
    std::uint16_t minor = 0;
    std::uint32_t zone = 0;
    std::uint32_t sigfigs = 0;
    std::uint32_t snaplen = 0;
    std::uint32_t linktype = 0;
    if (!r.read_u16(major, be) || !r.read_u16(minor, be) || !r.read_u32(zone, be) || !r.read_u32(sigfigs, be) ||
        !r.read_u32(snaplen, be) || !r.read_u32(linktype, be)) {
      return std::nullopt;
    }
    if (major != 2 || minor != 4) return std::nullopt;
    // LINKTYPE_* is the low 26 bits; the rest says things like the FCS length.
    h.linktype = linktype & 0x03FFFFFF;
    h.snapshot = snaplen == 0 || snaplen > 0x7FFFFFFF ? max_snaplen(h.linktype) : snaplen;
    // libpcap rewrites some pseudo-headers in place: the byte order of PFLOG, Linux cooked
    // (netlink), USB and NFLOG headers written by a machine of the other byte order, and the
    // lengths of memory-mapped Linux USB. Those files stay with libpcap (found by pcap_file_fuzz).
    const bool rewritten = h.linktype == 220 || (h.swapped && (h.linktype == 117 || h.linktype == 113 ||
                                                                h.linktype == 276 || h.linktype == 189 ||
                                                                h.linktype == 239));
    if (rewritten) return std::nullopt;
    return h;
  }

  MappedPcapSource(std::unique_ptr<MappedFile> map, Header h, SourceInfo info)
      : map_(std::move(map)), h_(h), info_(std::move(info)) {
    info_.link_types.push_back(h_.linktype);
  }
  [[nodiscard]] std::uint64_t position() const noexcept override { return offset_; }
  [[nodiscard]] const SourceInfo& info() const override { return info_; }

  ReadStatus next(RawPacket& packet) override {
    if (done_) return info_.error.empty() ? ReadStatus::kEnd : ReadStatus::kError;
    const std::span<const std::uint8_t> all = map_->bytes();
    const std::size_t left = all.size() - offset_;
    if (left == 0) {
      done_ = true;
      info_.complete = true;
      return ReadStatus::kEnd;
    }
    if (left < kPcapRecordHeader) {
      return fail(fmt::format("truncated dump file; tried to read {} header bytes, only got {}", kPcapRecordHeader,
                              left));
    }
    core::ByteReader r(all.subspan(offset_, kPcapRecordHeader));
    std::uint32_t sec = 0;
    std::uint32_t frac = 0;
    std::uint32_t caplen = 0;
    std::uint32_t len = 0;
    r.read_u32(sec, h_.swapped);
    r.read_u32(frac, h_.swapped);
    r.read_u32(caplen, h_.swapped);
    r.read_u32(len, h_.swapped);
    // After reading: a fault there is how a map finds the file shorter than when it was mapped.
    if (map_->shrank()) return fail("file shrank while it was read");
    const std::uint32_t most = max_snaplen(h_.linktype);
    if (caplen > most) {
      return fail(caplen > h_.snapshot
                      ? fmt::format("invalid packet capture length {}, bigger than snaplen of {}", caplen, h_.snapshot)
                      : fmt::format("invalid packet capture length {}, bigger than maximum of {}", caplen, most));
    }
    // Past the snapshot length libpcap hands out the snapshot length's worth and skips the rest.
    const std::uint32_t keep = std::min(caplen, h_.snapshot);
    if (left - kPcapRecordHeader < caplen) {
      return fail(fmt::format("truncated dump file; tried to read {} captured bytes, only got {}",
                              keep < caplen && left - kPcapRecordHeader < keep ? keep : caplen,
                              left - kPcapRecordHeader));
    }
    // Unsigned 32-bit seconds and fraction (draft-ietf-opsawg-pcap §4), as the libpcap path reads them.
    packet.ts_ns = static_cast<core::TimestampNs>(sec) * core::kNsPerSecond +
                   static_cast<core::TimestampNs>(frac) * (h_.nanosecond ? 1 : 1000);
    packet.link_type = h_.linktype;
    packet.interface_id = 0;
    packet.orig_len = len;
    packet.data = all.subspan(offset_ + kPcapRecordHeader, keep);
    packet.comment = {};
    packet.data_offset = offset_ + kPcapRecordHeader;
    ++info_.packets;
    info_.bytes += keep;
    offset_ += kPcapRecordHeader + caplen;
    // The next record, into the cache while this packet is analysed: its header's first read was
    // most of this function's time (a miss to memory per packet, issue 18), paid again by every
    // worker with --threads. Four lines cover the header and the headers of the packet after it.
    if (offset_ < all.size()) {
      const std::uint8_t* next = all.data() + offset_;
      const std::size_t ahead = std::min<std::size_t>(all.size() - offset_, 256);
      for (std::size_t at = 0; at < ahead; at += 64) __builtin_prefetch(next + at);
    }
    // Keep the last window resident: a packet handed out is read before the reader moves on that
    // far (and would be read again from the page cache if not).
    map_->reader_at(offset_);
    return ReadStatus::kPacket;
  }

 private:
  ReadStatus fail(const std::string& why) {
    done_ = true;
    info_.complete = false;
    info_.error = fmt::format("{}: bad or cut-off packet record at offset {}: {}", info_.path, offset_, why);
    return ReadStatus::kError;
  }

  std::unique_ptr<MappedFile> map_;
  Header h_;
  SourceInfo info_;
  std::uint64_t offset_ = kPcapFileHeader;
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

OpenResult open_capture_file(const std::string& path, bool map_file) {
  SourceInfo info;
  info.path = path;
  std::FILE* f = nullptr;
  std::unique_ptr<MappedFile> map;
  if (path == "-") {
    f = stdin;
  } else {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return open_error(std::move(info), std::strerror(errno));
    if (S_ISDIR(st.st_mode)) return open_error(std::move(info), "is a directory, not a capture file");
    f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return open_error(std::move(info), std::strerror(errno));
    // A regular file is read through a memory map where its format allows (its size as opened:
    // fstat, not the earlier stat, in case the path was replaced in between).
    struct stat opened {};
    if (map_file && ::fstat(fileno(f), &opened) == 0 && S_ISREG(opened.st_mode) && opened.st_size > 0 &&
        static_cast<std::uint64_t>(opened.st_size) <= std::numeric_limits<std::size_t>::max()) {
      map = MappedFile::map(fileno(f), static_cast<std::size_t>(opened.st_size));
    }
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
    if (map) {
      std::fclose(stream);
      return OpenResult{std::make_unique<PcapngReader>(std::move(map), info), info};
    }
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
  if (map) {
    if (const auto header = MappedPcapSource::header(map->bytes())) {
      std::fclose(stream);
      return OpenResult{std::make_unique<MappedPcapSource>(std::move(map), *header, info), info};
    }
    map.reset();  // libpcap reads it
  }
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
