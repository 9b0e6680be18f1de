// Destinations: flows grouped by the server side (address, port, transport).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "analysis/flow/flow.h"

namespace flowaudit::analysis::flow {

// What the application layer says about a flow, for grouping (parallel to the flows).
struct FlowLabel {
  std::string_view hostname;
  std::string_view hostname_source;  // "tls-sni", "quic-sni", "http-host", "dns"; empty: none
  std::string_view app_protocol;     // "tls", "http", ...; empty: unknown
  int encrypted = -1;           // 1 TLS/QUIC, 0 plaintext HTTP or DNS, -1 unknown
  // Through a proxy (via_type set): the destination is the requested host and port, reached via
  // the flow's server (the proxy); target_ip only when the client asked by address.
  std::string_view via_type;  // "http-connect", "http-proxy", "socks4", "socks4a", "socks5"
  std::string_view target_host;
  std::uint16_t target_port = 0;
  core::IpAddress target_ip;  // family none: not known
  std::string_view proxy_hostname;  // the proxy's own name (DNS), for its destination
};

struct NameSeen {
  std::string name;
  std::string source;
  std::uint64_t flows = 0;
  std::uint64_t first_flow = 0;  // lowest flow id with this name: names are listed in that order
};

struct Destination {
  core::IpAddress ip;
  std::uint16_t port = 0;
  std::uint8_t protocol = 0;
  std::uint64_t flows = 0;
  std::uint64_t packets_out = 0;
  std::uint64_t packets_in = 0;
  std::uint64_t bytes_out = 0;  // client -> server
  std::uint64_t bytes_in = 0;
  std::uint64_t payload_bytes_out = 0;
  std::uint64_t payload_bytes_in = 0;
  core::TimestampNs first_ns = 0;
  core::TimestampNs last_ns = 0;
  std::uint64_t named_flows = 0;
  std::string hostname;         // the best name: highest-precedence source, then most flows
  std::string hostname_source;
  std::vector<NameSeen> names;  // every name seen for it
  std::string app_protocol;     // when all flows agree; "mixed" otherwise
  int encrypted = -1;           // 1 all flows encrypted, 0 any plaintext, -1 unknown
  // Reached through a proxy: `ip` is the requested address when the client asked by address,
  // else of family none (address_known false: only the proxy's address was on the wire, and
  // the proxy's country is not the server's). The proxy is a destination of its own too, with
  // proxied_flows counting the flows it carried.
  std::string via_type;
  core::IpAddress via_ip;
  std::uint16_t via_port = 0;
  bool address_known = true;
  std::string requested_host;  // the host asked of the proxy, when not by address
  std::uint64_t proxied_flows = 0;
  // Of bytes_out/bytes_in, what those flows carried: a sum over destinations counts them once by
  // leaving out either these or the destinations with via.
  std::uint64_t proxied_bytes_out = 0;
  std::uint64_t proxied_bytes_in = 0;
};

// Destinations are keyed by the server side as the client meant it: a direct flow by its server's
// address, port and transport; a proxied flow by the requested host (name, or address) and port
// and the proxy it went through. Keyed by the wire address, every site reached through one proxy
// would be one destination named after whichever site came first, and the proxy's country
// would stand for all of them.
struct DestinationKey {
  core::IpAddress ip;
  std::uint16_t port = 0;
  std::uint8_t protocol = 0;
  std::string host;  // proxied, requested by name
  core::IpAddress via_ip;
  std::uint16_t via_port = 0;
  friend auto operator<=>(const DestinationKey&, const DestinationKey&) = default;
  friend bool operator==(const DestinationKey&, const DestinationKey&) = default;
};

// Sorted by bytes sent to the destination, largest first (ties by address and port). `labels`,
// when given, is parallel to `flows`. `folded`, when given, holds destinations already aggregated
// from flows whose records were dropped (see DestinationAggregator); they are merged in, so the
// result is the same as if those flows had been in `flows`.
std::vector<Destination> aggregate_destinations(const std::vector<Flow>& flows,
                                                const std::vector<FlowLabel>* labels = nullptr,
                                                std::vector<Destination> folded = {});
// The same over flows held elsewhere (the audit's rows); `labels` parallel to `flows`.
std::vector<Destination> aggregate_destinations(std::span<const Flow* const> flows, std::span<const FlowLabel> labels,
                                                std::vector<Destination> folded = {});

// Destinations aggregated one flow at a time, for flows whose records are dropped to bound memory
// (--max-flow-records). Bounded itself (--max-destinations): add() refuses a new destination past
// the cap, and the caller counts the flow as lost.
class DestinationAggregator {
 public:
  explicit DestinationAggregator(std::size_t max_destinations) : max_(max_destinations) {}
  // Whether add() would take the flow: its destination is known, or there is room for a new one.
  [[nodiscard]] bool accepts(const Flow& f, const FlowLabel& label = {}) const;
  // False: the flow's destination is new and the cap is reached; nothing was added.
  bool add(const Flow& f, const FlowLabel& label);
  [[nodiscard]] std::size_t size() const noexcept { return index_.size(); }
  // Hands the destinations over (unsorted, hostnames not chosen yet), leaving this empty.
  std::vector<Destination> take();

 private:
  struct KeyHash {
    std::size_t operator()(const DestinationKey& k) const noexcept;
  };
  std::size_t max_;
  std::unordered_map<DestinationKey, std::size_t, KeyHash> index_;
  std::vector<Destination> destinations_;
};

// Lower is better: tls-sni and quic-sni, then http-host, then dns.
int name_source_rank(std::string_view source) noexcept;

}  // namespace flowaudit::analysis::flow
