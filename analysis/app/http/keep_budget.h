// The memory that request bodies and WebSocket client messages may take while they wait for
// inspection (defined in exchange.cc).
#pragma once

#include <cstddef>
#include <cstdint>

namespace flowaudit::analysis::http {

// What request bodies (and a WebSocket client's messages) may keep in memory for inspection: per
// exchange (Exchange::kMaxKeptBody), per connection, and per process. Past a limit the bytes are
// still counted and decoded, not kept, and the exchange says so (request_body_cut).
struct KeepBudget {
  static constexpr std::uint64_t kPerFlow = 1u << 20;
  static constexpr std::uint64_t kPerRun = 256u << 20;
  std::uint64_t flow_kept = 0;
  // How many of n bytes may be kept now (and takes them from both budgets).
  std::size_t take(std::size_t n) noexcept;
};

}  // namespace flowaudit::analysis::http
