// The values of a flow that flow rules can read besides its destination's, listed once. The rules
// answer their flow fields from here (rules/eval/records.cc), and the memory cap groups dropped
// flows by them (audit_records.cc): a flow group is exactly a set of flows to one destination that
// no flow rule can tell apart. A new rule-visible flow value is a row here and a field in
// rules/lang/fields.cc, and both follow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

#include "analysis/app/flow_details.h"
#include "analysis/flow/flow.h"

namespace flowaudit::analysis {

enum class FlowValue : std::uint8_t {
  kHostname,        // the flow's own name; rules fall back to the destination's
  kHostnameSource,  // likewise
  kAppProtocol,
  kEncrypted,
  kBytesOut,
  kBytesIn,
  kBlindSpot,
  kBlindSpotReason,
  kTlsVersion,        // negotiated version code (the rules spell it)
  kTlsCipher,         // negotiated cipher suite code
  kTlsClientVersion,  // highest version offered, code
  kTlsJa3,
  kTlsJa4,
  kTlsEch,
  kTlsSni,
  kTlsAlpn,
  kTlsCertSubject,
  kTlsCertIssuer,
  kHttpMethod,
  kHttpHost,
  kHttpPath,
  kHttpUserAgent,
  kHttpContentType,
  kHttpContentLength,
  kQuicVersion,
  kUnnamedReason,  // why a flow without a name has none
};
inline constexpr std::size_t kFlowValueCount = static_cast<std::size_t>(FlowValue::kUnnamedReason) + 1;

using FlowValueData = std::variant<std::string_view, std::int64_t, bool>;

// A value of the flow, or nullopt when it has none (an empty string is none).
[[nodiscard]] std::optional<FlowValueData> flow_value(FlowValue v, const flow::Flow& f, const app::FlowName& name,
                                                      const app::FlowDetails* d) noexcept;

}  // namespace flowaudit::analysis
