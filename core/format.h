// Small formatting helpers shared by the report writers and the command line's own messages
// (the replay progress line, the capture statistics), so neither reaches into the other.
#pragma once

#include <cstdint>
#include <string>

namespace flowaudit::core {

// Decimal units: "999 B", "1.2 MB", "5.0 GB" (TB is the last unit: "7000.0 TB").
[[nodiscard]] std::string human_bytes(std::uint64_t bytes);

}  // namespace flowaudit::core
