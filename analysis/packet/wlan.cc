#include "analysis/packet/wlan.h"

#include "core/byte_reader.h"

namespace flowaudit::analysis::packet {
namespace {

constexpr std::uint8_t kTypeData = 2;
constexpr std::uint8_t kFlagToDs = 0x01;
constexpr std::uint8_t kFlagFromDs = 0x02;
constexpr std::uint8_t kFlagProtected = 0x40;
constexpr std::uint8_t kFlagOrder = 0x80;
constexpr std::uint8_t kRadiotapFlagFcs = 0x10;      // the frame ends with its 4-byte FCS
constexpr std::uint8_t kRadiotapFlagDataPad = 0x20;  // padding after the 802.11 header to 4 bytes
constexpr int kMaxRadiotapPresentWords = 8;

LinkStatus malformed(AnomalyCounters& anomalies, Anomaly a) {
  anomalies.add(a);
  return LinkStatus::kMalformed;
}

LinkStatus decode_80211(std::span<const std::uint8_t> frame, bool data_pad, NetworkLayer& out,
                        AnomalyCounters& anomalies) {
  core::ByteReader r(frame);
  std::uint8_t fc0 = 0;
  std::uint8_t flags = 0;
  if (!r.read_u8(fc0) || !r.read_u8(flags)) return malformed(anomalies, Anomaly::kTruncatedLinkHeader);
  if ((fc0 & 0x03) != 0) return malformed(anomalies, Anomaly::kBadWlanHeader);  // protocol version 0 only
  const auto type = static_cast<std::uint8_t>((fc0 >> 2) & 0x03);
  const auto subtype = static_cast<std::uint8_t>(fc0 >> 4);
  // Management, control, and data subtypes without a body (null, CF-Ack/Poll only).
  if (type != kTypeData || (subtype & 0x04) != 0) {
    out.note = LinkNote::kWlanNonData;
    return LinkStatus::kOk;
  }
  const bool qos = (subtype & 0x08) != 0;
  const bool four_addresses = (flags & kFlagToDs) != 0 && (flags & kFlagFromDs) != 0;
  std::size_t header = four_addresses ? 30 : 24;
  if (qos) header += 2;
  if (qos && (flags & kFlagOrder) != 0) header += 4;  // HT control
  if (data_pad) header = (header + 3) & ~std::size_t{3};
  std::uint16_t seq_ctl = 0;
  core::ByteReader at_seq(frame);
  if (!r.skip(header - 2) || !at_seq.skip(22) || !at_seq.read_u16le(seq_ctl)) {
    return malformed(anomalies, Anomaly::kTruncatedLinkHeader);
  }
  if ((flags & kFlagProtected) != 0) {
    out.note = LinkNote::kWlanProtected;
    return LinkStatus::kOk;
  }
  if ((seq_ctl & 0x000F) != 0) {  // not the first fragment: no LLC header to read
    out.note = LinkNote::kWlanFragment;
    return LinkStatus::kOk;
  }
  std::uint16_t qos_ctl = 0;
  if (qos) {
    core::ByteReader at_qos(frame);
    at_qos.skip(four_addresses ? 30 : 24);
    at_qos.read_u16le(qos_ctl);
  }
  if ((qos_ctl & 0x0080) != 0) {
    // A-MSDU: subframes of destination, source, length, LLC. Read the first, as Wireshark shows it first.
    if (!r.skip(12 + 2)) return malformed(anomalies, Anomaly::kTruncatedLinkHeader);
  }
  std::span<const std::uint8_t> llc;
  std::uint16_t ether_type = 0;
  if (!r.read_bytes(6, llc) || !r.read_u16be(ether_type)) {
    return malformed(anomalies, Anomaly::kTruncatedLinkHeader);
  }
  // SNAP (AA AA 03) with an RFC 1042 or bridge-tunnel OUI: an EtherType follows. Other LLC: not IP.
  if (llc[0] != 0xAA || llc[1] != 0xAA || llc[2] != 0x03) {
    out.ether_type = 0;
    return LinkStatus::kOk;
  }
  return decode_ether_payload(ether_type, r.rest(), out, anomalies);
}

// Radiotap: version, pad, length, present bitmaps (chained by bit 31), fields. Only the flags
// field matters here (FCS at the end, padding after the header); it follows the 8-aligned TSFT.
LinkStatus decode_radiotap(std::span<const std::uint8_t> frame, NetworkLayer& out, AnomalyCounters& anomalies) {
  core::ByteReader r(frame);
  std::uint8_t version = 0;
  std::uint8_t pad = 0;
  std::uint16_t length = 0;
  std::uint32_t present = 0;
  if (!r.read_u8(version) || !r.read_u8(pad) || !r.read_u16le(length) || !r.read_u32le(present)) {
    return malformed(anomalies, Anomaly::kTruncatedLinkHeader);
  }
  if (version != 0 || length < 8) return malformed(anomalies, Anomaly::kBadWlanHeader);
  if (length > frame.size()) return malformed(anomalies, Anomaly::kTruncatedLinkHeader);
  const std::uint32_t first_present = present;
  for (int n = 1; (present & 0x80000000u) != 0; ++n) {
    if (n >= kMaxRadiotapPresentWords || !r.read_u32le(present)) return malformed(anomalies, Anomaly::kBadWlanHeader);
  }
  std::size_t offset = r.offset();
  std::uint8_t rt_flags = 0;
  if ((first_present & 0x01) != 0) offset = ((offset + 7) & ~std::size_t{7}) + 8;  // TSFT
  if ((first_present & 0x02) != 0 && offset < length) rt_flags = frame[offset];
  auto body = frame.subspan(length);
  if ((rt_flags & kRadiotapFlagFcs) != 0) {
    if (body.size() < 4) return malformed(anomalies, Anomaly::kTruncatedLinkHeader);
    body = body.first(body.size() - 4);
  }
  return decode_80211(body, (rt_flags & kRadiotapFlagDataPad) != 0, out, anomalies);
}

// PPI: version, flags, length, the link type of what follows (802.11 or Ethernet), then fields.
LinkStatus decode_ppi(std::span<const std::uint8_t> frame, NetworkLayer& out, AnomalyCounters& anomalies) {
  core::ByteReader r(frame);
  std::uint8_t version = 0;
  std::uint8_t flags = 0;
  std::uint16_t length = 0;
  std::uint32_t dlt = 0;
  if (!r.read_u8(version) || !r.read_u8(flags) || !r.read_u16le(length) || !r.read_u32le(dlt)) {
    return malformed(anomalies, Anomaly::kTruncatedLinkHeader);
  }
  if (version != 0 || length < 8) return malformed(anomalies, Anomaly::kBadWlanHeader);
  if (length > frame.size()) return malformed(anomalies, Anomaly::kTruncatedLinkHeader);
  const auto body = frame.subspan(length);
  if (dlt == linktype::kIeee80211) return decode_80211(body, false, out, anomalies);
  if (dlt == linktype::kEthernet) return decode_ethernet(body, out, anomalies);
  anomalies.add(Anomaly::kUnsupportedLinkType);
  return LinkStatus::kUnsupported;
}

}  // namespace

LinkStatus decode_wireless(std::uint32_t link_type, std::span<const std::uint8_t> frame, NetworkLayer& out,
                           AnomalyCounters& anomalies) noexcept {
  switch (link_type) {
    case linktype::kRadiotap: return decode_radiotap(frame, out, anomalies);
    case linktype::kPpi: return decode_ppi(frame, out, anomalies);
    default: return decode_80211(frame, false, out, anomalies);
  }
}

}  // namespace flowaudit::analysis::packet
