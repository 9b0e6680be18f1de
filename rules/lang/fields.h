// The fields a condition may name: one table, name -> type, scope and a one-line description. The
// compiler checks conditions against it; `flowaudit rules fields` prints it; a Record binds a
// FieldId to a value from a report object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "analysis/flow_values.h"

namespace flowaudit::rules::lang {

enum class FieldType : std::uint8_t {
  kString,
  kInteger,
  kBoolean,
  kAddress,  // an IP address; literals are addresses or CIDR prefixes
  kCountry,  // ISO 3166-1 alpha-2, two upper-case letters
  kList,     // a list of strings; a Record gives it as one string with items separated by '\0'
};

// What a rule is evaluated on. A field of a wider scope is visible from a narrower one: a flow sees
// its destination's fields, everything sees the capture's.
// kRequest: one reconstructed HTTP request (decrypted TLS or plaintext HTTP); it sees its flow's and
// its destination's fields.
// kContent is not a rule scope: it marks the fields of what left (pii.*, canary.*, data.evidence),
// which a request rule reads from the request, a flow rule from the flow's server name and a DNS rule
// from the query name.
enum class Scope : std::uint8_t { kDestination, kFlow, kDns, kCapture, kRequest, kContent };

enum class FieldId : std::uint16_t {
  kHostname,
  kHostnameSource,
  kIp,
  kPort,
  kTransport,
  kAppProtocol,
  kEncrypted,
  kGeoCountry,
  kGeoAsn,
  kGeoAsOrg,
  kGeoSpecial,
  kServiceId,
  kServiceName,
  kServiceCategory,
  kServiceOperator,
  kServiceJurisdiction,
  kBytesOut,
  kBytesIn,
  kFlows,
  kBlindSpot,
  kTlsVersion,
  kTlsCipher,
  kTlsJa3,
  kTlsJa4,
  kTlsEch,
  kTlsSni,
  kTlsAlpn,
  kHttpMethod,
  kHttpHost,
  kHttpPath,
  kHttpUserAgent,
  kQuicVersion,
  kDnsQuery,
  kDnsQtype,
  kDnsAnswers,
  kDnsEncrypted,
  kCaptureCoverage,
  kCapturePackets,
  kCaptureFlows,
  kCaptureComplete,
  // Added after the first release of the table; kept at the end so ids stay stable.
  kServiceParent,
  kTlsClientVersion,
  kTlsCertSubject,
  kTlsCertIssuer,
  kHttpContentType,
  kHttpContentLength,
  kDnsRcode,
  kDnsServer,
  kBlindSpotReason,
  kCaptureCapped,
  kUnnamedReason,
  kServiceParentJurisdiction,
  kRequestMethod,
  kRequestScheme,
  kRequestAuthority,
  kRequestPath,
  kRequestStatus,
  kRequestContentType,
  kRequestBodyBytes,
  kRequestDecrypted,
  kRequestResponseContentType,
  kRequestResponseBodyBytes,
  // What left in a request (issue 17): analysis/inspect/.
  kServiceAiOperator,
  kPiiTypes,
  kPiiFields,
  kPiiEvidence,
  kCanaryFound,
  kCanaryEncodings,
  kCanaryFields,
  kCanaryEvidence,
  kPromptBytes,
  kPromptService,
  kDataEvidence,
  kCount,  // not a field: the number of fields
};

inline constexpr std::size_t kFieldCount = static_cast<std::size_t>(FieldId::kCount);

struct FieldInfo {
  FieldId id;
  std::string_view name;
  FieldType type;
  Scope scope;
  std::string_view description;
  // The flow's own value, for the fields a flow has (analysis/flow_values.h): flow rules read it
  // first. Rows without it are destination or capture values only.
  std::optional<analysis::FlowValue> flow{};
  // A request target (an HTTP path): quoted in a finding message it is redacted (core/redact.h).
  bool request_target = false;
};

[[nodiscard]] std::span<const FieldInfo> all_fields() noexcept;
[[nodiscard]] const FieldInfo& field_info(FieldId id) noexcept;
[[nodiscard]] std::optional<FieldId> find_field(std::string_view name) noexcept;
[[nodiscard]] std::string_view field_type_name(FieldType type) noexcept;
[[nodiscard]] std::string_view scope_name(Scope scope) noexcept;
// Whether a rule of scope `rule` can read a field of scope `field`.
[[nodiscard]] bool field_visible(Scope field, Scope rule) noexcept;

}  // namespace flowaudit::rules::lang
