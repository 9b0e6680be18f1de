// IEEE 802.11 frames, bare or behind a radiotap or PPI header: data frames with an LLC/SNAP header
// are read; protected (encrypted) frames, management and control frames, null data and later
// fragments are counted by NetworkLayer::note, never parsed.
#pragma once

#include <cstdint>
#include <span>

#include "analysis/packet/anomaly.h"
#include "analysis/packet/link_layer.h"

namespace flowaudit::analysis::packet {

// link_type: linktype::kIeee80211, kRadiotap or kPpi.
LinkStatus decode_wireless(std::uint32_t link_type, std::span<const std::uint8_t> frame, NetworkLayer& out,
                           AnomalyCounters& anomalies) noexcept;

}  // namespace flowaudit::analysis::packet
