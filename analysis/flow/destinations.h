// Destinations: flows grouped by the server side (address, port, transport).
#pragma once

#include <cstdint>
#include <vector>

#include "analysis/flow/flow.h"

namespace flowaudit::analysis::flow {

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
};

// Sorted by bytes sent to the destination, largest first (ties by address and port).
std::vector<Destination> aggregate_destinations(const std::vector<Flow>& flows);

}  // namespace flowaudit::analysis::flow
