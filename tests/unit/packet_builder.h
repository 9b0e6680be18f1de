// Test-only scaffolding: builds frames, packets and capture files byte by byte, so that every
// header field is spelled out in the test and nothing depends on struct layout or host byte order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ip_address.h"

namespace flowaudit::test {

class Bytes {
 public:
  Bytes() = default;
  Bytes(std::initializer_list<std::uint8_t> init) : v_(init) {}

  Bytes& u8(unsigned v) {
    v_.push_back(static_cast<std::uint8_t>(v & 0xFFu));
    return *this;
  }
  Bytes& u16be(unsigned v) { return u8(v >> 8).u8(v); }
  Bytes& u16le(unsigned v) { return u8(v).u8(v >> 8); }
  Bytes& u32be(std::uint32_t v) { return u16be(v >> 16).u16be(v & 0xFFFFu); }
  Bytes& u32le(std::uint32_t v) { return u16le(v & 0xFFFFu).u16le(v >> 16); }
  Bytes& u64be(std::uint64_t v) {
    return u32be(static_cast<std::uint32_t>(v >> 32)).u32be(static_cast<std::uint32_t>(v));
  }
  Bytes& u64le(std::uint64_t v) {
    return u32le(static_cast<std::uint32_t>(v)).u32le(static_cast<std::uint32_t>(v >> 32));
  }
  Bytes& u16(unsigned v, bool big_endian) { return big_endian ? u16be(v) : u16le(v); }
  Bytes& u32(std::uint32_t v, bool big_endian) { return big_endian ? u32be(v) : u32le(v); }
  Bytes& zeros(std::size_t n) {
    v_.insert(v_.end(), n, 0);
    return *this;
  }
  Bytes& fill(std::size_t n, std::uint8_t value) {
    v_.insert(v_.end(), n, value);
    return *this;
  }
  Bytes& append(std::span<const std::uint8_t> b) {
    v_.insert(v_.end(), b.begin(), b.end());
    return *this;
  }
  Bytes& append(const Bytes& b) { return append(b.span()); }
  Bytes& text(std::string_view s) {
    for (const char c : s) u8(static_cast<unsigned char>(c));
    return *this;
  }
  // The address bytes of an IPv4 or IPv6 literal (4 or 16 bytes).
  Bytes& ip(std::string_view literal) {
    const auto a = core::IpAddress::parse(literal);
    if (!a) return *this;  // the test will fail on lengths; literals in tests are fixed
    return append(std::span<const std::uint8_t>(a->bytes().data(), a->size()));
  }
  Bytes& pad_to_multiple(std::size_t m) {
    while (v_.size() % m != 0) v_.push_back(0);
    return *this;
  }
  void set_u8(std::size_t at, unsigned v) { v_.at(at) = static_cast<std::uint8_t>(v & 0xFFu); }
  void set_u16be(std::size_t at, unsigned v) {
    set_u8(at, v >> 8);
    set_u8(at + 1, v);
  }
  void set_u32(std::size_t at, std::uint32_t v, bool big_endian) {
    for (std::size_t i = 0; i < 4; ++i) {
      const unsigned shift = big_endian ? static_cast<unsigned>(8 * (3 - i)) : static_cast<unsigned>(8 * i);
      set_u8(at + i, v >> shift);
    }
  }

  [[nodiscard]] std::size_t size() const noexcept { return v_.size(); }
  [[nodiscard]] std::span<const std::uint8_t> span() const noexcept { return v_; }
  [[nodiscard]] std::span<const std::uint8_t> prefix(std::size_t n) const noexcept { return span().first(n); }
  [[nodiscard]] const std::vector<std::uint8_t>& vec() const noexcept { return v_; }
  [[nodiscard]] std::vector<std::uint8_t>& vec() noexcept { return v_; }
  [[nodiscard]] std::uint8_t operator[](std::size_t i) const { return v_.at(i); }

 private:
  std::vector<std::uint8_t> v_;
};

inline Bytes payload_bytes(std::size_t n, std::uint8_t seed = 0) {
  Bytes b;
  for (std::size_t i = 0; i < n; ++i) b.u8(static_cast<unsigned>((i * 7 + seed) & 0xFF));
  return b;
}

// ---- Transport ---------------------------------------------------------------------------------

struct TcpSpec {
  std::uint16_t src_port = 50000;
  std::uint16_t dst_port = 443;
  std::uint32_t seq = 1000;
  std::uint32_t ack = 0;
  std::uint8_t flags = 0x02;       // SYN
  std::size_t option_words = 0;    // 32-bit words of options (NOPs), data offset = 5 + this
  int data_offset_override = -1;   // raw value for the data-offset nibble when >= 0
};

inline Bytes tcp_segment(const TcpSpec& s, std::span<const std::uint8_t> payload = {}) {
  const std::size_t words = 5 + s.option_words;
  const unsigned offset_nibble =
      s.data_offset_override >= 0 ? static_cast<unsigned>(s.data_offset_override) : static_cast<unsigned>(words);
  Bytes b;
  b.u16be(s.src_port).u16be(s.dst_port).u32be(s.seq).u32be(s.ack);
  b.u8(offset_nibble << 4).u8(s.flags).u16be(65535).u16be(0 /* checksum */).u16be(0 /* urgent */);
  for (std::size_t i = 0; i < s.option_words; ++i) b.u8(1).u8(1).u8(1).u8(1);  // NOP options
  b.append(payload);
  return b;
}

struct UdpSpec {
  std::uint16_t src_port = 53000;
  std::uint16_t dst_port = 53;
  int length_override = -1;  // raw UDP length field when >= 0
};

inline Bytes udp_datagram(const UdpSpec& s, std::span<const std::uint8_t> payload = {}) {
  const unsigned length =
      s.length_override >= 0 ? static_cast<unsigned>(s.length_override) : static_cast<unsigned>(8 + payload.size());
  Bytes b;
  b.u16be(s.src_port).u16be(s.dst_port).u16be(length).u16be(0);
  b.append(payload);
  return b;
}

// ---- Network -----------------------------------------------------------------------------------

struct Ipv4Spec {
  std::string src = "10.0.0.2";
  std::string dst = "93.184.216.34";
  std::uint8_t protocol = 6;
  std::uint16_t id = 0x1234;
  bool dont_fragment = false;
  bool more_fragments = false;
  std::uint32_t fragment_offset = 0;  // bytes, a multiple of 8
  std::size_t option_words = 0;       // IHL = 5 + this
  int ihl_override = -1;              // raw IHL nibble when >= 0
  int total_length_override = -1;     // raw total length when >= 0
  int version = 4;
};

inline Bytes ipv4_packet(const Ipv4Spec& s, std::span<const std::uint8_t> payload) {
  const std::size_t header = 20 + 4 * s.option_words;
  const unsigned ihl = s.ihl_override >= 0 ? static_cast<unsigned>(s.ihl_override) : static_cast<unsigned>(header / 4);
  const unsigned total = s.total_length_override >= 0 ? static_cast<unsigned>(s.total_length_override)
                                                      : static_cast<unsigned>(header + payload.size());
  unsigned frag = (s.fragment_offset / 8) & 0x1FFFu;
  if (s.more_fragments) frag |= 0x2000u;
  if (s.dont_fragment) frag |= 0x4000u;
  Bytes b;
  b.u8((static_cast<unsigned>(s.version) << 4) | (ihl & 0x0Fu)).u8(0).u16be(total);
  b.u16be(s.id).u16be(frag).u8(64).u8(s.protocol).u16be(0 /* checksum, not verified */);
  b.ip(s.src).ip(s.dst);
  for (std::size_t i = 0; i < s.option_words; ++i) b.u8(1).u8(1).u8(1).u8(1);  // NOP options
  b.append(payload);
  return b;
}

struct Ipv6Spec {
  std::string src = "2001:db8::2";
  std::string dst = "2606:4700::1111";
  std::uint8_t next_header = 6;
  int payload_length_override = -1;
  int version = 6;
};

// `after_fixed` is everything after the fixed 40-byte header: extension headers and upper layer.
inline Bytes ipv6_packet(const Ipv6Spec& s, std::span<const std::uint8_t> after_fixed) {
  const unsigned plen = s.payload_length_override >= 0 ? static_cast<unsigned>(s.payload_length_override)
                                                       : static_cast<unsigned>(after_fixed.size());
  Bytes b;
  b.u32be(static_cast<std::uint32_t>(s.version) << 28).u16be(plen).u8(s.next_header).u8(64);
  b.ip(s.src).ip(s.dst);
  b.append(after_fixed);
  return b;
}

// A generic extension header (hop-by-hop, routing, destination options): 8 * (len + 1) bytes.
inline Bytes ipv6_ext(std::uint8_t next, std::size_t len_units) {
  Bytes b;
  b.u8(next).u8(static_cast<unsigned>(len_units)).zeros(6 + 8 * len_units);
  return b;
}

inline Bytes ipv6_fragment_header(std::uint8_t next, std::uint32_t offset_bytes, bool more, std::uint32_t id) {
  Bytes b;
  b.u8(next).u8(0).u16be((offset_bytes & 0xFFF8u) | (more ? 1u : 0u)).u32be(id);
  return b;
}

// ---- Link --------------------------------------------------------------------------------------

struct VlanTag {
  std::uint16_t tpid;
  std::uint16_t vid;
};

inline Bytes ethernet_frame(std::uint16_t ether_type, std::span<const std::uint8_t> payload,
                            std::initializer_list<VlanTag> tags = {}) {
  Bytes b;
  b.u8(0x02).u8(0x00).u8(0x00).u8(0x00).u8(0x00).u8(0x01);  // destination MAC
  b.u8(0x02).u8(0x00).u8(0x00).u8(0x00).u8(0x00).u8(0x02);  // source MAC
  for (const VlanTag& t : tags) b.u16be(t.tpid).u16be(0x2000u | t.vid);  // PCP 1, the VID
  b.u16be(ether_type);
  b.append(payload);
  return b;
}

// ---- Capture files -----------------------------------------------------------------------------

struct PcapRecord {
  std::uint32_t ts_sec = 0;
  std::uint32_t ts_frac = 0;  // microseconds or nanoseconds, as the file's magic says
  Bytes data;
  int orig_len_override = -1;
};

// A classic pcap file (little-endian unless told otherwise).
inline Bytes pcap_file(std::uint32_t link_type, const std::vector<PcapRecord>& records, bool nanosecond = false,
                       bool big_endian = false, std::uint32_t snaplen = 262144) {
  Bytes b;
  b.u32(nanosecond ? 0xA1B23C4Du : 0xA1B2C3D4u, big_endian);
  b.u16(2, big_endian).u16(4, big_endian);
  b.u32(0, big_endian).u32(0, big_endian);
  b.u32(snaplen, big_endian).u32(link_type, big_endian);
  for (const PcapRecord& r : records) {
    const auto caplen = static_cast<std::uint32_t>(r.data.size());
    b.u32(r.ts_sec, big_endian).u32(r.ts_frac, big_endian).u32(caplen, big_endian);
    b.u32(r.orig_len_override >= 0 ? static_cast<std::uint32_t>(r.orig_len_override) : caplen, big_endian);
    b.append(r.data);
  }
  return b;
}

// pcapng blocks; `be` selects the section's byte order.
struct Pcapng {
  bool be = false;
  Bytes out;

  // A block: type, total length, body padded to 4, total length again.
  Pcapng& block(std::uint32_t type, const Bytes& body) {
    Bytes padded = body;
    padded.pad_to_multiple(4);
    const auto len = static_cast<std::uint32_t>(12 + padded.size());
    out.u32(type, be).u32(len, be).append(padded).u32(len, be);
    return *this;
  }
  Pcapng& section_header() {
    Bytes body;
    body.u32(0x1A2B3C4Du, be).u16(1, be).u16(0, be).u64le(0xFFFFFFFFFFFFFFFFull);  // length unknown
    return block(0x0A0D0D0Au, body);
  }
  // if_tsresol: -1 for none; otherwise the raw option byte (bit 7 set: power of two).
  Pcapng& interface(std::uint16_t link_type, std::uint32_t snaplen = 0, int tsresol = -1,
                    std::int64_t tsoffset = 0) {
    Bytes body;
    body.u16(link_type, be).u16(0, be).u32(snaplen, be);
    if (tsresol >= 0) body.u16(9, be).u16(1, be).u8(static_cast<unsigned>(tsresol)).zeros(3);
    if (tsoffset != 0) {
      body.u16(14, be).u16(8, be);
      const auto v = static_cast<std::uint64_t>(tsoffset);
      if (be) {
        body.u64be(v);
      } else {
        body.u64le(v);
      }
    }
    if (tsresol >= 0 || tsoffset != 0) body.u16(0, be).u16(0, be);  // opt_endofopt
    return block(1, body);
  }
  Pcapng& enhanced_packet(std::uint32_t interface_id, std::uint64_t ts_units, const Bytes& data,
                          int orig_len_override = -1) {
    Bytes body;
    body.u32(interface_id, be).u32(static_cast<std::uint32_t>(ts_units >> 32), be);
    body.u32(static_cast<std::uint32_t>(ts_units), be).u32(static_cast<std::uint32_t>(data.size()), be);
    body.u32(orig_len_override >= 0 ? static_cast<std::uint32_t>(orig_len_override)
                                    : static_cast<std::uint32_t>(data.size()),
             be);
    body.append(data);
    return block(6, body);
  }
  Pcapng& simple_packet(const Bytes& data, int orig_len_override = -1) {
    Bytes body;
    body.u32(orig_len_override >= 0 ? static_cast<std::uint32_t>(orig_len_override)
                                    : static_cast<std::uint32_t>(data.size()),
             be);
    body.append(data);
    return block(3, body);
  }
};

}  // namespace flowaudit::test
