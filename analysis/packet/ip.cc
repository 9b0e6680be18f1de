#include "analysis/packet/ip.h"

#include <algorithm>

#include "core/byte_reader.h"

namespace flowaudit::analysis::packet {
namespace {

constexpr std::uint8_t kHopByHop = 0;
constexpr std::uint8_t kRouting = 43;
constexpr std::uint8_t kFragment = 44;
constexpr std::uint8_t kAuthHeader = 51;
constexpr std::uint8_t kDestOptions = 60;
constexpr std::uint8_t kMobility = 135;

// The payload the header promises, clipped to what was captured.
std::span<const std::uint8_t> clip(std::span<const std::uint8_t> rest, std::size_t promised, bool& cut) {
  cut = rest.size() < promised;
  return cut ? rest : rest.first(promised);  // bytes past `promised` are link padding
}

// A routing header with segments left (RFC 8200 4.4) sends the packet on to another address: the
// last one of type 0 (deprecated, RFC 5095) and type 2 (Mobile IPv6, RFC 6275), the first of the
// Segment Routing header's list (type 4, RFC 8754, which stores it in reverse). That final
// destination is the real server, and the one TCP and UDP checksums use (RFC 8200 8.1); the flow
// is keyed on it, as tshark's conversations are. Counted, so the report says it happened. Other
// types (RPL's compressed one, RFC 6554) keep the wire destination.
void final_destination(core::ByteReader header, std::uint8_t len_field, IpLayer& out,
                       AnomalyCounters& anomalies) noexcept {
  std::uint8_t type = 0;
  std::uint8_t segments_left = 0;
  std::uint8_t last_entry = 0;
  if (!header.read_u8(type) || !header.read_u8(segments_left) || segments_left == 0) return;
  std::size_t index = 0;  // of the final destination in the address list after the first 8 bytes
  const std::size_t addresses = len_field / 2u;
  if ((type == 0 || type == 2) && len_field % 2 == 0 && addresses > 0 && segments_left <= addresses) {
    index = addresses - 1;
  } else if (type == 4 && header.read_u8(last_entry) && last_entry < addresses) {
    index = 0;
  } else {
    return;
  }
  std::span<const std::uint8_t> address;
  if (!header.skip(type == 4 ? 3 : 4) || !header.skip(16 * index) || !header.read_bytes(16, address)) return;
  out.dst = core::IpAddress::v6(address.first<16>());
  anomalies.add(Anomaly::kIpv6RoutedDestination);
}

}  // namespace

IpStatus decode_ipv4(std::span<const std::uint8_t> bytes, IpLayer& out, AnomalyCounters& anomalies) noexcept {
  out = IpLayer{};
  core::ByteReader r(bytes);
  std::uint8_t ver_ihl = 0;
  std::uint8_t tos = 0;
  std::uint16_t total = 0;
  std::uint16_t id = 0;
  std::uint16_t frag = 0;
  std::uint8_t ttl = 0;
  std::uint16_t checksum = 0;
  std::span<const std::uint8_t> src;
  std::span<const std::uint8_t> dst;
  if (!r.read_u8(ver_ihl) || !r.read_u8(tos) || !r.read_u16be(total) || !r.read_u16be(id) ||
      !r.read_u16be(frag) || !r.read_u8(ttl) || !r.read_u8(out.protocol) || !r.read_u16be(checksum) ||
      !r.read_bytes(4, src) || !r.read_bytes(4, dst)) {
    anomalies.add(Anomaly::kTruncatedIpv4Header);
    return IpStatus::kMalformed;
  }
  if ((ver_ihl >> 4) != 4) {
    anomalies.add(Anomaly::kIpVersionMismatch);
    return IpStatus::kMalformed;
  }
  const std::size_t header_len = static_cast<std::size_t>(ver_ihl & 0x0F) * 4;
  if (header_len < 20) {
    anomalies.add(Anomaly::kBadIpv4HeaderLength);
    return IpStatus::kMalformed;
  }
  if (!r.skip(header_len - 20)) {  // options
    anomalies.add(Anomaly::kTruncatedIpv4Header);
    return IpStatus::kMalformed;
  }
  // TCP segmentation offload leaves total length 0 in captures taken on the sending host.
  std::size_t promised = 0;
  if (total == 0) {
    promised = r.remaining();
    out.total_length = static_cast<std::uint32_t>(header_len + promised);
  } else if (total < header_len) {
    anomalies.add(Anomaly::kBadIpv4TotalLength);
    return IpStatus::kMalformed;
  } else {
    promised = total - header_len;
    out.total_length = total;
  }
  out.src = core::IpAddress::v4(src.first<4>());
  out.dst = core::IpAddress::v4(dst.first<4>());
  out.payload = clip(r.rest(), promised, out.payload_cut);
  out.fragment_id = id;
  out.more_fragments = (frag & 0x2000) != 0;
  out.fragment_offset = static_cast<std::uint32_t>(frag & 0x1FFF) * 8;
  out.is_fragment = out.more_fragments || out.fragment_offset != 0;
  return IpStatus::kOk;
}

IpStatus decode_ipv6(std::span<const std::uint8_t> bytes, IpLayer& out, AnomalyCounters& anomalies) noexcept {
  out = IpLayer{};
  core::ByteReader r(bytes);
  std::uint32_t vtf = 0;
  std::uint16_t payload_len = 0;
  std::uint8_t next = 0;
  std::uint8_t hop_limit = 0;
  std::span<const std::uint8_t> src;
  std::span<const std::uint8_t> dst;
  if (!r.read_u32be(vtf) || !r.read_u16be(payload_len) || !r.read_u8(next) || !r.read_u8(hop_limit) ||
      !r.read_bytes(16, src) || !r.read_bytes(16, dst)) {
    anomalies.add(Anomaly::kTruncatedIpv6Header);
    return IpStatus::kMalformed;
  }
  if ((vtf >> 28) != 6) {
    anomalies.add(Anomaly::kIpVersionMismatch);
    return IpStatus::kMalformed;
  }
  if (payload_len == 0 && next != 59) {
    // Jumbograms (RFC 2675) or TSO captures; take what was captured.
    anomalies.add(Anomaly::kIpv6Jumbogram);
    payload_len = static_cast<std::uint16_t>(std::min<std::size_t>(r.remaining(), 0xFFFF));
  }
  out.src = core::IpAddress::v6(src.first<16>());
  out.dst = core::IpAddress::v6(dst.first<16>());
  out.total_length = 40u + payload_len;
  return walk_ipv6_extensions(next, clip(r.rest(), payload_len, out.payload_cut), out, anomalies);
}

IpStatus walk_ipv6_extensions(std::uint8_t next, std::span<const std::uint8_t> bytes, IpLayer& out,
                              AnomalyCounters& anomalies) noexcept {
  core::ByteReader p(bytes);
  for (int n = 0;; ++n) {
    if (next != kHopByHop && next != kRouting && next != kDestOptions && next != kFragment &&
        next != kAuthHeader && next != kMobility) {
      break;
    }
    if (n >= kMaxIpv6ExtensionHeaders) {
      anomalies.add(Anomaly::kTooManyIpv6Extensions);
      return IpStatus::kMalformed;
    }
    std::uint8_t following = 0;
    std::uint8_t len_field = 0;
    if (!p.read_u8(following) || !p.read_u8(len_field)) {
      anomalies.add(Anomaly::kTruncatedIpv6Extension);
      return IpStatus::kMalformed;
    }
    if (next == kFragment) {
      std::uint16_t off_flags = 0;
      std::uint32_t id = 0;
      if (!p.read_u16be(off_flags) || !p.read_u32be(id)) {
        anomalies.add(Anomaly::kTruncatedIpv6Extension);
        return IpStatus::kMalformed;
      }
      const auto offset = static_cast<std::uint32_t>(off_flags & 0xFFF8);
      const bool more = (off_flags & 1) != 0;
      // An "atomic" fragment (offset 0, no more) is a whole datagram (RFC 6946): read on.
      if (more || offset != 0) {
        if (out.is_fragment) {  // a fragment header inside a reassembled datagram
          anomalies.add(Anomaly::kFragmentOverlap);
          return IpStatus::kMalformed;
        }
        // What follows the fragment header is the fragmentable part (RFC 8200 4.5), possibly
        // starting with more extension headers: reassemble first, walk the rest afterwards.
        out.is_fragment = true;
        out.fragment_offset = offset;
        out.more_fragments = more;
        out.fragment_id = id;
        out.protocol = following;
        out.payload = p.rest();
        return IpStatus::kOk;
      }
    } else {
      const std::size_t total = next == kAuthHeader ? (len_field + 2u) * 4u : (len_field + 1u) * 8u;
      core::ByteReader header;
      if (!p.sub_reader(total - 2, header)) {
        anomalies.add(Anomaly::kTruncatedIpv6Extension);
        return IpStatus::kMalformed;
      }
      if (next == kRouting) final_destination(header, len_field, out, anomalies);
    }
    next = following;
  }
  out.protocol = next;
  out.payload = p.rest();
  return IpStatus::kOk;
}

}  // namespace flowaudit::analysis::packet
