// Destinations: flows grouped by the server side (address, port, transport).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/flow/flow.h"

namespace flowaudit::analysis::flow {

// What the application layer says about a flow, for grouping (parallel to the flows).
struct FlowLabel {
  std::string_view hostname;
  std::string_view hostname_source;  // "tls-sni", "quic-sni", "http-host", "dns"; empty: none
  std::string_view app_protocol;     // "tls", "http", ...; empty: unknown
  int encrypted = -1;           // 1 TLS/QUIC, 0 plaintext HTTP or DNS, -1 unknown
};

struct NameSeen {
  std::string name;
  std::string source;
  std::uint64_t flows = 0;
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
};

// Sorted by bytes sent to the destination, largest first (ties by address and port). `labels`,
// when given, is parallel to `flows`.
std::vector<Destination> aggregate_destinations(const std::vector<Flow>& flows,
                                                const std::vector<FlowLabel>* labels = nullptr);

// Lower is better: tls-sni and quic-sni, then http-host, then dns.
int name_source_rank(std::string_view source) noexcept;

}  // namespace flowaudit::analysis::flow
