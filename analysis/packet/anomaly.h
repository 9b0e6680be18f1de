// Malformed or unexpected input becomes a named counter (Zeek's "weird"), never an exception.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace flowaudit::analysis::packet {

enum class Anomaly : std::uint8_t {
  kUnsupportedLinkType,
  kTruncatedLinkHeader,
  kTruncatedVlanTag,
  kTooManyVlanTags,
  kTruncatedIpv4Header,
  kBadIpv4HeaderLength,
  kBadIpv4TotalLength,
  kIpVersionMismatch,
  kTruncatedIpv6Header,
  kTruncatedIpv6Extension,
  kTooManyIpv6Extensions,
  kIpv6Jumbogram,
  kTruncatedTcpHeader,
  kBadTcpHeaderLength,
  kTruncatedUdpHeader,
  kBadUdpLength,
  kSnaplenCutPayload,
  kFragmentOverlap,
  kFragmentTooLarge,
  kFragmentTooMany,
  kFragmentMemoryLimit,
  kFragmentTimeout,
  kTooManyMplsLabels,
  kTooManyLinkHeaders,
  kBadNflogAttribute,
  kBadWlanHeader,
  kTruncatedTunnelHeader,
  kBadTunnelHeader,
  kTunnelTooDeep,
  kIpv6RoutedDestination,  // a routing header's final destination keys the flow (ip.cc)
  kCount
};

inline constexpr std::array<const char*, static_cast<std::size_t>(Anomaly::kCount)> kAnomalyNames = {
    "unsupported_link_type",  "truncated_link_header",  "truncated_vlan_tag",   "too_many_vlan_tags",
    "truncated_ipv4_header",  "bad_ipv4_header_length", "bad_ipv4_total_length", "ip_version_mismatch",
    "truncated_ipv6_header",  "truncated_ipv6_extension", "too_many_ipv6_extensions", "ipv6_jumbogram",
    "truncated_tcp_header",   "bad_tcp_header_length",  "truncated_udp_header", "bad_udp_length",
    "snaplen_cut_payload",    "fragment_overlap",       "fragment_too_large",   "fragment_too_many",
    "fragment_memory_limit",  "fragment_timeout",       "too_many_mpls_labels", "too_many_link_headers",
    "bad_nflog_attribute",    "bad_wlan_header",        "truncated_tunnel_header", "bad_tunnel_header",
    "tunnel_too_deep",        "ipv6_routed_destination",
};

class AnomalyCounters {
 public:
  void add(Anomaly a) noexcept { ++counts_[static_cast<std::size_t>(a)]; }
  [[nodiscard]] std::uint64_t get(Anomaly a) const noexcept { return counts_[static_cast<std::size_t>(a)]; }
  [[nodiscard]] const auto& all() const noexcept { return counts_; }

 private:
  std::array<std::uint64_t, static_cast<std::size_t>(Anomaly::kCount)> counts_{};
};

}  // namespace flowaudit::analysis::packet
