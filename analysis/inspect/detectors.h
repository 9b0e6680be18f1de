// Personal-data detectors (issue 17, docs/inspection-plan.md module 2): what kind of personal data
// one field value holds (with its field name), and what one object's scalar members hold together
// (latitude/longitude pairs, fingerprint attribute groups).
//
// Precision first: a detector reports only what a validator confirms (Luhn, mod 97, the ITU country
// calling codes, issuer ranges, TAC prefixes), and the identifiers that have no check of their own
// (advertising IDs, Android IDs, serial numbers, vendor IDs) only under a field name that says what
// they are. Everything runs in time linear in the value: one pass of an RE2::Set says which
// detectors may match, then each candidate's own RE2 or hand-written scanner finds the spans.
//
// Never on the packet path: the inspector calls this for fields of reconstructed requests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/inspect/named_scalar.h"

namespace re2 {
class RE2;
}

namespace flowaudit::analysis::inspect {

enum class PiiType : std::uint8_t {
  kEmail,
  kPhone,
  kImei,
  kMeid,
  kAdvertisingId,
  kDeviceId,
  kMacAddress,
  kIpAddress,
  kLocation,
  kPaymentCard,
  kIban,
  kFingerprint,
};

// "email", "phone", "imei", "meid", "advertising-id", "device-id", "mac-address", "ip-address",
// "location", "payment-card", "iban", "fingerprint" (the names reports and policies use).
const char* to_string(PiiType type) noexcept;

struct Hit {
  PiiType type = PiiType::kEmail;
  // Byte offsets within the value scanned: [begin, end). From scan_object, within the value of
  // members[member].
  std::size_t begin = 0;
  std::size_t end = 0;
  // Which rule found it, a string literal: "email", "phone-e164", "phone-national", "phone-by-name",
  // "imei-luhn", "meid-by-name", "meid-check", "idfa-by-name", "gaid-by-name", "adid-by-name",
  // "oaid-by-name", "advertising-id-by-name", "idfv-by-name", "android-id-by-name",
  // "serial-by-name", "device-id-by-name", "mac-address", "mac-by-name", "device-ip",
  // "card-luhn", "iban-mod97", "latlng-by-name", "lat-lng-pair", "fingerprint-group".
  const char* detector = "";
  // scan_object only: the index in `members` of the member this hit is in (0 from scan).
  std::size_t member = 0;
};

struct DetectContext {
  std::string_view device_region;                  // ISO 3166-1 alpha-2 ("US", "de"), or "" when unknown
  std::span<const std::string> device_addresses;  // the device's own IP addresses as text
};


// Limits: only the first kMaxScanBytes of a value are scanned (the inspector's budgets come first;
// a value longer than this is one the caller should count as cut), at most kMaxHitsPerValue hits are
// reported per scan() call (and per scan_object() call), at most kMaxDeviceAddresses addresses of
// the context are looked for, only the first kMaxNameBytes of a field name are classified, and
// scan_object() looks at the first kMaxObjectMembers members.
inline constexpr std::size_t kMaxScanBytes = 1 << 20;
inline constexpr std::size_t kMaxHitsPerValue = 64;
inline constexpr std::size_t kMaxDeviceAddresses = 16;
inline constexpr std::size_t kMaxNameBytes = 64;
inline constexpr std::size_t kMaxObjectMembers = 256;

class Detectors {
 public:
  // Compiles the candidate RE2::Set (all detectors' prefilter patterns, Latin-1: every byte one
  // character, so invalid UTF-8 from the wire is scanned like anything else; memory bounded) and
  // the span patterns once. Construction cannot fail on the built-in patterns (a failure to compile
  // them is a programming error, caught by the unit tests: scan() then falls back to running every
  // scanner, which gives the same hits).
  Detectors();
  ~Detectors();
  Detectors(const Detectors&) = delete;
  Detectors& operator=(const Detectors&) = delete;
  Detectors(Detectors&&) noexcept;
  Detectors& operator=(Detectors&&) noexcept;

  // Appends the hits in `value` (field `name`, any case and spelling: "advertisingId",
  // "x-device-id", "IDFA") to `out`, ordered by begin then end, spans within `value`. One pass of
  // the RE2::Set over the value says which detectors may match; each candidate's own pattern or
  // scanner finds the spans and validators confirm them. Thread-safe (const); never throws except
  // std::bad_alloc from `out`.
  void scan(std::string_view name, std::string_view value, const DetectContext& ctx, std::vector<Hit>& out) const;

  // Pairs and groups among one object's scalar members: latitude/longitude (names lat/latitude and
  // lng/lon/long/longitude with the same prefix, e.g. pickup_lat + pickup_lng; both with >= 3
  // decimals, in range, not both zero) -> kLocation "lat-lng-pair", one hit per member of the pair;
  // fingerprint group (>= 3 distinct attributes among screen/resolution, timezone/tz, fonts,
  // battery, canvas, webgl, languages, plugins, hardwareConcurrency, deviceMemory, maxTouchPoints,
  // colorDepth, devicePixelRatio) -> kFingerprint "fingerprint-group", one hit per attribute
  // member. Hits are ordered by member, then begin. Members' own values are scanned with scan().
  void scan_object(std::span<const NamedScalar> members, std::vector<Hit>& out) const;

 private:
  struct Compiled;
  std::unique_ptr<Compiled> c_;
};

// The value of a hit as reports show it unless --no-redact (the caller decides, and passes the
// hit's span, value.substr(begin, end - begin)):
//   email         a***@example.com (first character of the local part, the domain)
//   phone         +86 138 **** **12 (the country code and 3 digits, the last 2; separators kept)
//   imei          35*********0123 (first 2, last 4)
//   payment card  ****1234
//   iban          DE** **** **** **** **30 00 (the country, the last 4)
//   mac address   3c:22:fb:**:**:** (the manufacturer's OUI)
//   ip address    203.0.*.* / 2001:db8:*** (the first two parts)
//   location      52.5***** (one decimal, ~10 km)
//   other ids     first 4 + *** (advertising and device IDs, MEID, fingerprint values)
// Bytes that are not printable ASCII become '?'; the result is at most value.size() + 8 bytes
// (and at most 4 KiB).
std::string mask(PiiType type, std::string_view value);

}  // namespace flowaudit::analysis::inspect
