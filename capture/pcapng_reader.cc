#include "capture/pcapng_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "capture/pcapng_format.h"
#include "core/byte_reader.h"

namespace flowaudit::capture {
namespace {

using namespace pcapng;  // block types and option codes

std::uint32_t swap32(std::uint32_t v) { return __builtin_bswap32(v); }

// 128-bit intermediate so that unit conversion cannot overflow; __extension__ keeps -Wpedantic quiet.
__extension__ typedef __int128 Int128;

}  // namespace

PcapngReader::PcapngReader(std::FILE* file, SourceInfo info) : input_(file), info_(std::move(info)) {}

PcapngReader::PcapngReader(std::unique_ptr<MappedFile> map, SourceInfo info)
    : input_(std::move(map)), info_(std::move(info)) {}

bool PcapngReader::fail(const char* what, std::uint64_t at) {
  info_.error = fmt::format("{}: {} at offset {}", info_.path, what, at);
  info_.complete = false;
  done_ = true;
  return false;
}

ReadStatus PcapngReader::next(RawPacket& packet) {
  while (!done_) {
    switch (read_block(packet)) {
      case BlockResult::kPacket:
        ++info_.packets;
        info_.bytes += packet.data.size();
        return ReadStatus::kPacket;
      case BlockResult::kSkipped:
        continue;
      case BlockResult::kEnd:
        done_ = true;
        if (input_.error()) {
          fail(input_.mapped() ? "file shrank while it was read" : "read error", offset_);
          return ReadStatus::kError;
        }
        info_.complete = true;
        return ReadStatus::kEnd;
      case BlockResult::kError:
        return ReadStatus::kError;
    }
  }
  return info_.error.empty() ? ReadStatus::kEnd : ReadStatus::kError;
}

bool PcapngReader::read_rest_of_block(std::uint32_t len, std::uint32_t already_read, std::uint64_t at,
                                      bool section_header) {
  // The rest of the block after the bytes already read, ending with the repeated total length.
  body_ = input_.take(len - already_read);
  if (body_.size() != len - already_read) {
    if (input_.error()) return fail("read error", at);
    return fail(section_header ? "capture cut off inside a section header" : "capture cut off in the middle of a block",
                at);
  }
  offset_ += len;
  std::uint32_t trailer = 0;
  core::ByteReader tr(body_.last(4));
  tr.read_u32(trailer, big_endian_);
  // Checked after the block's last bytes were read: a fault there is when a map finds the file shorter.
  if (input_.error()) return fail(input_.mapped() ? "file shrank while it was read" : "read error", at);
  if (trailer != len) {
    return fail(section_header ? "section header lengths disagree" : "block lengths disagree (corrupt block)", at);
  }
  return true;
}

PcapngReader::BlockResult PcapngReader::read_block(RawPacket& packet) {
  const std::uint64_t at = offset_;
  const std::span<const std::uint8_t> head = input_.take(8);
  const std::size_t got = head.size();
  if (got == 0 && !input_.error()) {
    if (!in_section_) {
      fail("empty pcapng file", at);
      return BlockResult::kError;
    }
    return BlockResult::kEnd;
  }
  if (got < 8) {
    fail(input_.error() ? "read error" : "capture cut off inside a block header", at);
    return BlockResult::kError;
  }
  core::ByteReader hr(head);
  std::uint32_t type = 0;
  std::uint32_t raw_len = 0;
  hr.read_u32le(type);
  hr.read_u32le(raw_len);

  if (type == kSectionHeader) {
    // The byte order of a section is only known once its byte-order magic is read.
    const std::span<const std::uint8_t> bom = input_.take(4);
    if (bom.size() != 4) {
      fail("capture cut off inside a section header", at);
      return BlockResult::kError;
    }
    std::uint32_t magic = 0;
    core::ByteReader(bom).read_u32le(magic);
    if (magic == kByteOrderMagic) {
      big_endian_ = false;
    } else if (swap32(magic) == kByteOrderMagic) {
      big_endian_ = true;
    } else {
      fail("bad pcapng byte-order magic", at + 8);
      return BlockResult::kError;
    }
    const std::uint32_t len = big_endian_ ? swap32(raw_len) : raw_len;
    if (len < 28 || len % 4 != 0 || len > kMaxBlockLength) {
      fail(fmt::format("bad section header length {}", len).c_str(), at);
      return BlockResult::kError;
    }
    if (!read_rest_of_block(len, 12, at, true)) return BlockResult::kError;
    interfaces_.clear();
    in_section_ = true;
    return BlockResult::kSkipped;
  }

  if (!in_section_) {
    fail("not a pcapng file (no section header)", at);
    return BlockResult::kError;
  }
  if (big_endian_) {
    type = swap32(type);
    raw_len = swap32(raw_len);
  }
  const std::uint32_t len = raw_len;
  if (len < 12 || len % 4 != 0 || len > kMaxBlockLength) {
    fail(fmt::format("bad block length {} (block type {})", len, type).c_str(), at);
    return BlockResult::kError;
  }
  if (!read_rest_of_block(len, 8, at, false)) return BlockResult::kError;
  const auto body = body_.first(len - 12);
  switch (type) {
    case kInterfaceDescription:
      return parse_interface(body, at) ? BlockResult::kSkipped : BlockResult::kError;
    case kEnhancedPacket:
    case kSimplePacket:
    case kObsoletePacket:
      return parse_packet(type, body, at, packet);
    case kDecryptionSecrets:
      return parse_secrets(body, at) ? BlockResult::kSkipped : BlockResult::kError;
    default:
      return BlockResult::kSkipped;  // name resolution, statistics, custom blocks: not needed
  }
}

// A Decryption Secrets Block: secrets type, length, data (pcapng draft §4.7). TLS key log lines go
// to the sink; other types (WireGuard, ZigBee, SSH) are not read.
bool PcapngReader::parse_secrets(std::span<const std::uint8_t> body, std::uint64_t at) {
  core::ByteReader r(body);
  std::uint32_t type = 0;
  std::uint32_t length = 0;
  std::span<const std::uint8_t> data;
  if (!r.read_u32(type, big_endian_) || !r.read_u32(length, big_endian_) || !r.read_bytes(length, data)) {
    return fail("decryption secrets block shorter than its secrets length", at);
  }
  ++info_.secrets_blocks;
  if (type == kSecretsTlsKeyLog && secrets_) secrets_(data, at);
  return true;
}

bool PcapngReader::parse_interface(std::span<const std::uint8_t> body, std::uint64_t at) {
  core::ByteReader r(body);
  std::uint16_t link_type = 0;
  std::uint16_t reserved = 0;
  Interface itf;
  if (!r.read_u16(link_type, big_endian_) || !r.read_u16(reserved, big_endian_) ||
      !r.read_u32(itf.snaplen, big_endian_)) {
    return fail("interface description block too short", at);
  }
  itf.link_type = link_type;
  // Options: code, length, value padded to 4 bytes. Only resolution and offset matter here.
  while (r.remaining() >= 4) {
    std::uint16_t code = 0;
    std::uint16_t olen = 0;
    r.read_u16(code, big_endian_);
    r.read_u16(olen, big_endian_);
    if (code == kOptEnd) break;
    std::span<const std::uint8_t> value;
    if (!r.read_bytes(olen, value) || !r.skip((4 - olen % 4) % 4)) {
      return fail("interface option runs past its block", at);
    }
    if (code == kIfTsresol && olen >= 1) {
      itf.binary_resolution = (value[0] & 0x80) != 0;
      itf.resolution_exponent = value[0] & 0x7F;
      if ((itf.binary_resolution && itf.resolution_exponent > 63) ||
          (!itf.binary_resolution && itf.resolution_exponent > 18)) {
        return fail("interface timestamp resolution out of range", at);
      }
    } else if (code == kIfTsoffset && olen >= 8) {
      std::uint64_t off = 0;
      core::ByteReader vr(value);
      big_endian_ ? vr.read_u64be(off) : vr.read_u64le(off);
      itf.offset_seconds = static_cast<std::int64_t>(off);
    }
  }
  if (interfaces_.size() >= kMaxInterfaces) return fail("too many interfaces in one section", at);
  interfaces_.push_back(itf);
  if (std::find(info_.link_types.begin(), info_.link_types.end(), itf.link_type) == info_.link_types.end()) {
    info_.link_types.push_back(itf.link_type);
  }
  return true;
}

core::TimestampNs PcapngReader::to_ns(const Interface& itf, std::uint64_t units) const {
  Int128 ns = 0;
  const unsigned e = itf.resolution_exponent;
  if (itf.binary_resolution) {
    ns = (static_cast<Int128>(units) * core::kNsPerSecond) >> e;
  } else if (e <= 9) {
    Int128 mul = 1;
    for (unsigned i = e; i < 9; ++i) mul *= 10;
    ns = static_cast<Int128>(units) * mul;
  } else {
    Int128 div = 1;
    for (unsigned i = 9; i < e; ++i) div *= 10;
    ns = static_cast<Int128>(units) / div;
  }
  ns += static_cast<Int128>(itf.offset_seconds) * core::kNsPerSecond;
  constexpr auto kMax = static_cast<Int128>(std::numeric_limits<std::int64_t>::max());
  constexpr auto kMin = static_cast<Int128>(std::numeric_limits<std::int64_t>::min());
  return static_cast<core::TimestampNs>(std::clamp(ns, kMin, kMax));
}

PcapngReader::BlockResult PcapngReader::parse_packet(std::uint32_t type, std::span<const std::uint8_t> body,
                                                     std::uint64_t at, RawPacket& packet) {
  core::ByteReader r(body);
  std::uint32_t interface_id = 0;
  std::uint32_t ts_high = 0;
  std::uint32_t ts_low = 0;
  std::uint32_t caplen = 0;
  std::uint32_t origlen = 0;
  bool have_ts = true;
  if (type == kEnhancedPacket) {
    if (!r.read_u32(interface_id, big_endian_) || !r.read_u32(ts_high, big_endian_) ||
        !r.read_u32(ts_low, big_endian_) || !r.read_u32(caplen, big_endian_) || !r.read_u32(origlen, big_endian_)) {
      fail("enhanced packet block too short", at);
      return BlockResult::kError;
    }
  } else if (type == kObsoletePacket) {
    std::uint16_t id16 = 0;
    std::uint16_t drops = 0;
    if (!r.read_u16(id16, big_endian_) || !r.read_u16(drops, big_endian_) || !r.read_u32(ts_high, big_endian_) ||
        !r.read_u32(ts_low, big_endian_) || !r.read_u32(caplen, big_endian_) || !r.read_u32(origlen, big_endian_)) {
      fail("packet block too short", at);
      return BlockResult::kError;
    }
    interface_id = id16;
  } else {  // simple packet block: interface 0, no timestamp, captured length implied
    have_ts = false;
    if (!r.read_u32(origlen, big_endian_)) {
      fail("simple packet block too short", at);
      return BlockResult::kError;
    }
    caplen = static_cast<std::uint32_t>(std::min<std::size_t>(origlen, r.remaining()));
    if (!interfaces_.empty() && interfaces_[0].snaplen != 0) caplen = std::min(caplen, interfaces_[0].snaplen);
  }
  if (interface_id >= interfaces_.size()) {
    fail(fmt::format("packet names interface {} which was not described", interface_id).c_str(), at);
    return BlockResult::kError;
  }
  std::span<const std::uint8_t> data;
  if (!r.read_bytes(caplen, data)) {
    fail(fmt::format("packet claims {} captured bytes, more than its block holds", caplen).c_str(), at);
    return BlockResult::kError;
  }
  const Interface& itf = interfaces_[interface_id];
  if (have_ts) last_ts_ = to_ns(itf, (static_cast<std::uint64_t>(ts_high) << 32) | ts_low);
  packet.ts_ns = last_ts_;
  packet.link_type = itf.link_type;
  packet.interface_id = interface_id;
  packet.orig_len = std::max(origlen, caplen);
  packet.data = data;
  // The block's body is body_, which starts 8 bytes (type and length) into the block.
  packet.data_offset = at + 8 + static_cast<std::uint64_t>(data.data() - body_.data());
  packet.comment = {};
  if (type == kEnhancedPacket) {
    // Options after the data (padded to 4): only the first opt_comment is kept. A malformed option
    // list is ignored, not an error: the packet itself is fine.
    std::span<const std::uint8_t> pad;
    if (r.read_bytes((4 - caplen % 4) % 4, pad)) {
      for (int i = 0; i < 64 && r.remaining() >= 4; ++i) {
        std::uint16_t code = 0;
        std::uint16_t length = 0;
        std::span<const std::uint8_t> value;
        if (!r.read_u16(code, big_endian_) || !r.read_u16(length, big_endian_) || code == 0) break;
        if (!r.read_bytes(length, value) || !r.read_bytes((4 - length % 4) % 4, pad)) break;
        if (code == kOptComment) {
          packet.comment = std::string_view(reinterpret_cast<const char*>(value.data()), value.size());
          break;
        }
      }
    }
  }
  return BlockResult::kPacket;
}

}  // namespace flowaudit::capture
