// Personal-data detectors: see detectors.h.
//
// Hand-written where no library does it: the validators (Luhn, base-16 Luhn for MEID, IBAN mod 97,
// E.164 country codes and national lengths, issuer ranges) and the token scanners. Phone numbers:
// the plan named libphonenumber, but Debian 12's libphonenumber-dev depends on libboost-thread-dev
// (Boost 1.74), which conflicts with the libboost1.81-dev the project needs for Boost.JSON; so phone
// numbers are checked here against the ITU-T E.164 country calling codes and plausible national
// lengths, a coarser check than libphonenumber's per-range metadata.
#include "analysis/inspect/detectors.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <new>
#include <optional>

namespace flowaudit::analysis::inspect {
namespace {

// ---------------------------------------------------------------------------------------------
// Characters

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_upper(char c) noexcept { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) noexcept { return c >= 'a' && c <= 'z'; }
bool is_alpha(char c) noexcept { return is_upper(c) || is_lower(c); }
bool is_alnum(char c) noexcept { return is_digit(c) || is_alpha(c); }
bool is_hex(char c) noexcept { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char to_lower(char c) noexcept { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }
char to_upper(char c) noexcept { return is_lower(c) ? static_cast<char>(c - 'a' + 'A') : c; }
int hex_value(char c) noexcept {
  if (is_digit(c)) return c - '0';
  const char l = to_lower(c);
  return (l >= 'a' && l <= 'f') ? l - 'a' + 10 : -1;
}
bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool all_of(std::string_view s, bool (*pred)(char) noexcept) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), [pred](char c) { return pred(c); });
}
bool all_same(std::string_view s) noexcept {
  return !s.empty() && s.find_first_not_of(s[0]) == std::string_view::npos;
}
bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  }
  return true;
}

// The value without surrounding whitespace and quotes, as a span of the original.
struct Span {
  std::size_t begin = 0, end = 0;
};
Span trimmed(std::string_view v) noexcept {
  std::size_t b = 0, e = v.size();
  while (b < e && (is_space(v[b]) || v[b] == '"' || v[b] == '\'')) ++b;
  while (e > b && (is_space(v[e - 1]) || v[e - 1] == '"' || v[e - 1] == '\'')) --e;
  return {b, e};
}

// ---------------------------------------------------------------------------------------------
// Check digits

// Luhn (ISO/IEC 7812-1 Annex B) over decimal digits, the last one being the check digit.
bool luhn_ok(std::string_view digits) noexcept {
  int sum = 0;
  bool dbl = false;
  for (std::size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

// MEID check digit (3GPP2 S.R0048: Luhn in base 16 over the 14 hex digits).
int meid_check_digit(std::string_view hex14) noexcept {
  int sum = 0;
  bool dbl = true;  // the rightmost payload digit is doubled
  for (std::size_t i = hex14.size(); i-- > 0;) {
    int d = hex_value(hex14[i]);
    if (dbl) {
      d *= 2;
      if (d > 15) d = d / 16 + d % 16;
    }
    sum += d;
    dbl = !dbl;
  }
  return (16 - sum % 16) % 16;
}

// ---------------------------------------------------------------------------------------------
// Field names: split into lower-case tokens at non-alphanumerics and lower->upper case changes
// ("googleAdID" -> google, ad, id; "x-device-id" -> x, device, id), then compared with keys as
// the whole name, the last token, or any token suffix joined ("user_advertising_id" ends in
// "advertisingid").

enum class NameMatch : std::uint8_t { kExact, kLastToken, kSuffix };

struct NameTokens {
  static constexpr std::size_t kMaxTokens = 8;
  std::array<std::string, kMaxTokens> tokens;
  std::size_t count = 0;
  std::string joined;  // all tokens
  std::array<std::size_t, kMaxTokens> starts{};  // where each token starts in `joined`

  explicit NameTokens(std::string_view name) {
    name = name.substr(0, kMaxNameBytes);
    std::string cur;
    auto flush = [&] {
      if (cur.empty()) return;
      if (count < kMaxTokens) {
        tokens[count++] = cur;
      } else {
        tokens[kMaxTokens - 1] += cur;  // a long name: the last token takes the rest
      }
      cur.clear();
    };
    for (std::size_t i = 0; i < name.size(); ++i) {
      const char c = name[i];
      if (!is_alnum(c)) {
        flush();
        continue;
      }
      if (is_upper(c) && i > 0 && (is_lower(name[i - 1]) || is_digit(name[i - 1]))) flush();
      cur += to_lower(c);
    }
    flush();
    for (std::size_t i = 0; i < count; ++i) {
      starts[i] = joined.size();
      joined += tokens[i];
    }
  }

  bool matches(std::string_view key, NameMatch how) const {
    if (joined == key) return true;
    if (count == 0) return false;
    if (how == NameMatch::kLastToken) return tokens[count - 1] == key;
    if (how == NameMatch::kSuffix) {  // the last tokens, joined (views into `joined`: no allocation)
      for (std::size_t i = count; i-- > 1;) {
        const std::string_view suffix = std::string_view(joined).substr(starts[i]);
        if (suffix == key) return true;
        if (suffix.size() > key.size()) break;
      }
    }
    return false;
  }
};

struct NameKey {
  std::string_view key;
  NameMatch how;
};

template <std::size_t N>
bool name_is(const NameTokens& t, const std::array<NameKey, N>& keys) {
  return std::any_of(keys.begin(), keys.end(), [&](const NameKey& k) { return t.matches(k.key, k.how); });
}

constexpr NameMatch kExact = NameMatch::kExact;
constexpr NameMatch kLast = NameMatch::kLastToken;
constexpr NameMatch kSuffix = NameMatch::kSuffix;

constexpr std::array<NameKey, 17> kPhoneNames = {{
    {"phone", kSuffix}, {"phonenumber", kSuffix}, {"phoneno", kSuffix}, {"phonenum", kSuffix},
    {"tel", kExact}, {"telephone", kSuffix}, {"telnumber", kSuffix}, {"mobile", kSuffix},
    {"mobilenumber", kSuffix}, {"mobileno", kSuffix}, {"mobilephone", kSuffix}, {"msisdn", kSuffix},
    {"cellphone", kSuffix}, {"cellnumber", kSuffix}, {"contactnumber", kSuffix}, {"whatsapp", kSuffix},
    {"phonee164", kSuffix},
}};
constexpr std::array<NameKey, 6> kImeiNames = {{
    {"imei", kSuffix}, {"imei1", kSuffix}, {"imei2", kSuffix}, {"deviceimei", kSuffix},
    {"deviceid", kSuffix}, {"imeinumber", kSuffix},
}};
constexpr std::array<NameKey, 2> kMeidNames = {{{"meid", kSuffix}, {"devicemeid", kSuffix}}};
constexpr std::array<NameKey, 1> kIdfaNames = {{{"idfa", kSuffix}}};
constexpr std::array<NameKey, 2> kGaidNames = {{{"gaid", kSuffix}, {"googleadid", kSuffix}}};
// "adid" as the last token (gps_adid, fire_adid, adid) but not "campaign_ad_id": an ad's own ID.
constexpr std::array<NameKey, 2> kAdidNames = {{{"adid", kLast}, {"adid", kExact}}};
constexpr std::array<NameKey, 1> kOaidNames = {{{"oaid", kSuffix}}};
constexpr std::array<NameKey, 5> kAdvertisingNames = {{
    {"advertisingid", kSuffix}, {"advertiserid", kExact}, {"aaid", kExact}, {"ifa", kLast},
    {"advertisingidentifier", kSuffix},
}};
constexpr std::array<NameKey, 4> kIdfvNames = {{
    {"idfv", kSuffix}, {"vendorid", kSuffix}, {"identifierforvendor", kSuffix}, {"vendoridentifier", kSuffix},
}};
constexpr std::array<NameKey, 2> kAndroidIdNames = {{{"androidid", kSuffix}, {"ssaid", kSuffix}}};
constexpr std::array<NameKey, 7> kSerialNames = {{
    {"serial", kExact}, {"serialno", kSuffix}, {"serialnumber", kExact}, {"hwserial", kSuffix},
    {"deviceserial", kSuffix}, {"buildserial", kSuffix}, {"deviceserialnumber", kSuffix},
}};
constexpr std::array<NameKey, 5> kDeviceIdNames = {{
    {"deviceid", kSuffix}, {"udid", kSuffix}, {"uuid", kExact}, {"deviceuuid", kSuffix}, {"deviceidentifier", kSuffix},
}};
constexpr std::array<NameKey, 7> kMacNames = {{
    {"mac", kLast}, {"macaddress", kSuffix}, {"macaddr", kSuffix}, {"wifimac", kSuffix},
    {"bssid", kSuffix}, {"btmac", kSuffix}, {"bluetoothmac", kSuffix},
}};
constexpr std::array<NameKey, 8> kLocationNames = {{
    {"location", kSuffix}, {"latlng", kSuffix}, {"latlon", kSuffix}, {"latlong", kSuffix},
    {"ll", kExact}, {"coords", kSuffix}, {"coordinates", kSuffix}, {"geo", kExact},
}};

// ---------------------------------------------------------------------------------------------
// E.164 country calling codes. Source: ITU-T, "List of ITU-T Recommendation E.164 assigned country
// codes" (Complement to E.164, Annex to ITU Operational Bulletin), geographic codes only; the
// non-geographic service codes 800, 808, 878, 882, 883, 888 and 979 (freephone, shared cost,
// international networks, premium rate) are left out: they are not a person's number. National
// significant number lengths (min, max) are plausible ranges from the national numbering plans
// notified to the ITU, widened where a plan varies; codes without an entry use 6..10 (3-digit
// codes) or 7..12 (shorter codes). Codes are prefix-free, so a number has at most one.
struct CountryCode {
  std::uint16_t code;
  std::uint8_t min_nsn, max_nsn;
};
constexpr CountryCode kCountryCodes[] = {
    {1, 10, 10},   {7, 10, 10},   {20, 8, 10},   {27, 9, 9},    {30, 10, 10},  {31, 9, 9},    {32, 8, 9},
    {33, 9, 9},    {34, 9, 9},    {36, 8, 9},    {39, 6, 11},   {40, 9, 9},    {41, 9, 9},    {43, 7, 13},
    {44, 9, 10},   {45, 8, 8},    {46, 7, 10},   {47, 8, 8},    {48, 9, 9},    {49, 7, 13},   {51, 8, 9},
    {52, 10, 10},  {53, 8, 8},    {54, 10, 11},  {55, 10, 11},  {56, 9, 9},    {57, 10, 10},  {58, 10, 10},
    {60, 8, 10},   {61, 9, 9},    {62, 8, 12},   {63, 8, 10},   {64, 8, 10},   {65, 8, 8},    {66, 8, 9},
    {81, 9, 10},   {82, 8, 10},   {84, 9, 10},   {86, 9, 11},   {90, 10, 10},  {91, 10, 10},  {92, 9, 10},
    {93, 9, 9},    {94, 9, 9},    {95, 7, 10},   {98, 10, 10},
    // Zone 2
    {211, 9, 9},   {212, 9, 9},   {213, 8, 9},   {216, 8, 8},   {218, 8, 9},   {220, 7, 7},   {221, 9, 9},
    {222, 8, 8},   {223, 8, 8},   {224, 8, 9},   {225, 8, 10},  {226, 8, 8},   {227, 8, 8},   {228, 8, 8},
    {229, 8, 10},  {230, 7, 8},   {231, 7, 9},   {232, 8, 8},   {233, 9, 9},   {234, 8, 10},  {235, 8, 8},
    {236, 8, 8},   {237, 8, 9},   {238, 7, 7},   {239, 7, 7},   {240, 9, 9},   {241, 7, 8},   {242, 9, 9},
    {243, 9, 9},   {244, 9, 9},   {245, 7, 9},   {246, 7, 7},   {247, 4, 5},   {248, 7, 7},   {249, 9, 9},
    {250, 9, 9},   {251, 9, 9},   {252, 7, 9},   {253, 8, 8},   {254, 9, 10},  {255, 9, 9},   {256, 9, 9},
    {257, 8, 8},   {258, 8, 9},   {260, 9, 9},   {261, 9, 9},   {262, 9, 9},   {263, 9, 10},  {264, 8, 9},
    {265, 7, 9},   {266, 8, 8},   {267, 7, 8},   {268, 8, 8},   {269, 7, 7},   {290, 4, 5},   {291, 7, 7},
    {297, 7, 7},   {298, 6, 6},   {299, 6, 6},
    // Zone 3
    {350, 8, 8},   {351, 9, 9},   {352, 6, 11},  {353, 7, 9},   {354, 7, 9},   {355, 8, 9},   {356, 8, 8},
    {357, 8, 8},   {358, 6, 11},  {359, 8, 9},   {370, 8, 8},   {371, 8, 8},   {372, 7, 8},   {373, 8, 8},
    {374, 8, 8},   {375, 9, 9},   {376, 6, 9},   {377, 8, 9},   {378, 6, 10},  {379, 6, 10},  {380, 9, 9},
    {381, 8, 9},   {382, 8, 8},   {383, 8, 9},   {385, 8, 9},   {386, 8, 8},   {387, 8, 9},   {389, 8, 8},
    // Zone 4
    {420, 9, 9},   {421, 9, 9},   {423, 7, 9},
    // Zone 5
    {500, 5, 5},   {501, 7, 7},   {502, 8, 8},   {503, 8, 8},   {504, 8, 8},   {505, 8, 8},   {506, 8, 8},
    {507, 7, 8},   {508, 6, 6},   {509, 8, 8},   {590, 9, 9},   {591, 8, 8},   {592, 7, 7},   {593, 8, 9},
    {594, 9, 9},   {595, 9, 9},   {596, 9, 9},   {597, 6, 7},   {598, 8, 8},   {599, 7, 8},
    // Zone 6
    {670, 7, 8},   {672, 6, 6},   {673, 7, 7},   {674, 7, 7},   {675, 7, 8},   {676, 5, 7},   {677, 5, 7},
    {678, 5, 7},   {679, 7, 7},   {680, 7, 7},   {681, 6, 6},   {682, 5, 5},   {683, 4, 4},   {685, 5, 7},
    {686, 5, 8},   {687, 6, 6},   {688, 5, 6},   {689, 6, 8},   {690, 4, 4},   {691, 7, 7},   {692, 7, 7},
    // Zone 8 (870 Inmarsat and 881 satellite phones are personal numbers too)
    {850, 8, 10},  {852, 8, 8},   {853, 8, 8},   {855, 8, 9},   {856, 8, 10},  {870, 9, 9},   {880, 8, 10},
    {881, 8, 9},   {886, 8, 9},
    // Zone 9
    {960, 7, 7},   {961, 7, 8},   {962, 8, 9},   {963, 9, 9},   {964, 10, 10}, {965, 8, 8},   {966, 9, 9},
    {967, 7, 9},   {968, 8, 8},   {970, 9, 9},   {971, 8, 9},   {972, 8, 9},   {973, 8, 8},   {974, 8, 8},
    {975, 7, 8},   {976, 8, 8},   {977, 8, 10},  {992, 9, 9},   {993, 8, 8},   {994, 9, 9},   {995, 9, 9},
    {996, 9, 9},   {998, 9, 9},
};

const CountryCode* country_code(unsigned code) noexcept {
  for (const auto& cc : kCountryCodes) {
    if (cc.code == code) return &cc;
  }
  return nullptr;
}

// NANP (+1): NPA-NXX-XXXX, NPA and NXX starting 2-9, NPA not N11 and not N9X (reserved).
bool nanp_ok(std::string_view d10) noexcept {
  if (d10.size() != 10) return false;
  if (d10[0] < '2' || d10[3] < '2') return false;
  if (d10[1] == '1' && d10[2] == '1') return false;
  if (d10[1] == '9') return false;
  return true;
}

// Digits of an international number (country code first, no '+'): the country code's length, or 0
// if it does not validate.
std::size_t e164_ok(std::string_view digits) noexcept {
  if (digits.size() < 8 || digits.size() > 15 || digits[0] == '0') return 0;
  unsigned code = 0;
  for (std::size_t len = 1; len <= 3; ++len) {
    code = code * 10 + static_cast<unsigned>(digits[len - 1] - '0');
    const CountryCode* cc = country_code(code);
    if (cc == nullptr) {
      if (len == 3) return 0;
      continue;
    }
    const std::string_view nsn = digits.substr(len);
    if (nsn.size() < cc->min_nsn || nsn.size() > cc->max_nsn) return 0;
    if (all_same(nsn)) return 0;
    if (code == 1 && !nanp_ok(nsn)) return 0;
    return len;
  }
  return 0;
}

// Regions whose national form is a trunk prefix 0 followed by the national significant number,
// with their country code (ITU-T E.164 list above; trunk prefixes from the national plans).
struct TrunkZeroRegion {
  char region[3];
  std::uint16_t code;
};
constexpr TrunkZeroRegion kTrunkZero[] = {
    {"GB", 44}, {"DE", 49}, {"FR", 33}, {"NL", 31}, {"BE", 32},  {"AT", 43},  {"CH", 41}, {"SE", 46},
    {"FI", 358}, {"IE", 353}, {"JP", 81}, {"KR", 82}, {"AU", 61}, {"NZ", 64}, {"IN", 91}, {"TR", 90},
    {"ZA", 27}, {"IL", 972}, {"TH", 66}, {"MY", 60}, {"ID", 62}, {"PH", 63}, {"EG", 20}, {"NG", 234},
    {"KE", 254}, {"PK", 92}, {"BD", 880}, {"VN", 84}, {"TW", 886}, {"AR", 54}, {"UA", 380}, {"PE", 51},
};
// NANP members (ITU-T E.164: country code 1).
constexpr std::string_view kNanpRegions[] = {"US", "CA", "PR", "GU", "VI", "AS", "MP", "AG", "AI", "BB", "BM", "BS",
                                             "DM", "DO", "GD", "JM", "KN", "KY", "LC", "MS", "SX", "TC", "TT", "VC",
                                             "VG"};

enum class NationalPlan : std::uint8_t { kUnknown, kValid, kInvalid };

// Digits of a number in the national form of `region`.
NationalPlan national_ok(std::string_view region, std::string_view digits) noexcept {
  if (region.size() != 2) return NationalPlan::kUnknown;
  const char r[2] = {to_upper(region[0]), to_upper(region[1])};
  const std::string_view reg(r, 2);
  for (const auto n : kNanpRegions) {
    if (n == reg) {
      if (digits.size() == 11 && digits[0] == '1') digits.remove_prefix(1);
      return nanp_ok(digits) && !all_same(digits.substr(3)) ? NationalPlan::kValid : NationalPlan::kInvalid;
    }
  }
  if (reg == "CN") {  // mobile 1[3-9] + 9 digits; fixed 0 + area code + number (10..11 digits after 0)
    if (digits.size() == 11 && digits[0] == '1' && digits[1] >= '3') {
      return all_same(digits.substr(3)) ? NationalPlan::kInvalid : NationalPlan::kValid;
    }
    if (digits.size() >= 10 && digits.size() <= 12 && digits[0] == '0' && digits[1] != '0') return NationalPlan::kValid;
    return NationalPlan::kInvalid;
  }
  for (const auto& t : kTrunkZero) {
    if (reg == std::string_view(t.region, 2)) {
      if (digits.size() < 2 || digits[0] != '0' || digits[1] == '0') return NationalPlan::kInvalid;
      const CountryCode* cc = country_code(t.code);
      const std::string_view nsn = digits.substr(1);
      if (cc == nullptr || nsn.size() < cc->min_nsn || nsn.size() > cc->max_nsn || all_same(nsn.substr(1))) {
        return NationalPlan::kInvalid;
      }
      return NationalPlan::kValid;
    }
  }
  return NationalPlan::kUnknown;
}

// ---------------------------------------------------------------------------------------------
// Payment cards: issuer prefixes and lengths (ISO/IEC 7812 IINs as the networks publish them:
// Visa 4; Mastercard 51-55, 2221-2720; Amex 34, 37; Discover 6011, 644-649, 65; JCB 3528-3589;
// UnionPay 62; Diners Club 36, 38, 300-305).
bool card_issuer_ok(std::string_view d) noexcept {
  const std::size_t n = d.size();
  auto prefix = [&](std::size_t len) {
    unsigned v = 0;
    for (std::size_t i = 0; i < len && i < n; ++i) v = v * 10 + static_cast<unsigned>(d[i] - '0');
    return v;
  };
  if (d[0] == '4') return n == 13 || n == 16 || n == 19;                        // Visa
  const unsigned p2 = prefix(2), p3 = prefix(3), p4 = prefix(4);
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n == 16;    // Mastercard
  if (p2 == 34 || p2 == 37) return n == 15;                                     // American Express
  if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649)) return n >= 16 && n <= 19;  // Discover
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19;                      // JCB
  if (p2 == 62) return n >= 16 && n <= 19;                                      // UnionPay
  if (p2 == 36) return n >= 14 && n <= 19;                                      // Diners Club International
  if (p2 == 38 || (p3 >= 300 && p3 <= 305)) return n >= 14 && n <= 19;          // Diners Club
  return false;
}

// IMEI TAC: the first two digits are a GSMA reporting body identifier.
bool tac_prefix_ok(std::string_view d) noexcept {
  static constexpr std::array<std::string_view, 17> kReportingBodies = {
      "01", "10", "30", "33", "35", "44", "45", "49", "50", "51", "52", "53", "54", "86", "91", "98", "99"};
  const std::string_view p = d.substr(0, 2);
  return std::find(kReportingBodies.begin(), kReportingBodies.end(), p) != kReportingBodies.end();
}

// ---------------------------------------------------------------------------------------------
// IBAN lengths per country. Source: SWIFT, "IBAN Registry" (ISO 13616), the IBAN length of every
// listed country (release 2024).
struct IbanCountry {
  char cc[3];
  std::uint8_t length;
};
constexpr IbanCountry kIbanCountries[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22}, {"BH", 22},
    {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27},
    {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FK", 18}, {"FO", 18}, {"FR", 27},
    {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22},
    {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32},
    {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19},
    {"MN", 20}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24}, {"SC", 31},
    {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23}, {"ST", 25}, {"SV", 28}, {"TL", 23},
    {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
};

std::size_t iban_length(char a, char b) noexcept {
  for (const auto& c : kIbanCountries) {
    if (c.cc[0] == to_upper(a) && c.cc[1] == to_upper(b)) return c.length;
  }
  return 0;
}

// ISO 13616 / ISO 7064 MOD 97-10 over the compact IBAN (no spaces): == 1.
bool iban_mod97_ok(std::string_view iban) noexcept {
  unsigned rem = 0;
  auto feed = [&rem](char c) {
    if (is_digit(c)) {
      rem = (rem * 10 + static_cast<unsigned>(c - '0')) % 97;
    } else {
      const unsigned v = static_cast<unsigned>(to_upper(c) - 'A' + 10);
      rem = (rem * 100 + v) % 97;
    }
  };
  for (std::size_t i = 4; i < iban.size(); ++i) feed(iban[i]);
  for (std::size_t i = 0; i < 4; ++i) feed(iban[i]);
  return rem == 1;
}

// ---------------------------------------------------------------------------------------------
// Value shapes

bool is_uuid(std::string_view v) noexcept {
  if (v.size() != 36) return false;
  for (std::size_t i = 0; i < 36; ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? v[i] != '-' : !is_hex(v[i])) return false;
  }
  return true;
}
bool zero_id(std::string_view v) noexcept {  // all zeros, dashes allowed: "limit ad tracking"
  return v.find_first_not_of("0-") == std::string_view::npos;
}
bool is_hex_run(std::string_view v, std::size_t min, std::size_t max) noexcept {
  return v.size() >= min && v.size() <= max && all_of(v, is_hex);
}

// A decimal coordinate with >= 3 decimals: optional sign, 1..3 integer digits, '.', 3..15 digits.
std::optional<double> coordinate(std::string_view v) noexcept {
  std::size_t i = 0;
  bool neg = false;
  if (i < v.size() && (v[i] == '-' || v[i] == '+')) neg = v[i++] == '-';
  const std::size_t int_begin = i;
  while (i < v.size() && is_digit(v[i])) ++i;
  const std::size_t int_len = i - int_begin;
  if (int_len == 0 || int_len > 3 || i >= v.size() || v[i] != '.') return std::nullopt;
  ++i;
  const std::size_t frac_begin = i;
  while (i < v.size() && is_digit(v[i])) ++i;
  const std::size_t frac_len = i - frac_begin;
  if (i != v.size() || frac_len < 3 || frac_len > 15) return std::nullopt;
  double x = 0;
  for (std::size_t k = int_begin; k < int_begin + int_len; ++k) x = x * 10 + (v[k] - '0');
  double scale = 0.1;
  for (std::size_t k = frac_begin; k < frac_begin + frac_len; ++k, scale /= 10) x += (v[k] - '0') * scale;
  return neg ? -x : x;
}

// ---------------------------------------------------------------------------------------------
// The RE2::Set prefilter: which scanners may find something. Each pattern is a loose superset of
// what its scanner accepts (the scanners decide).
enum Candidate : int {
  kCandEmail,    // local@domain.
  kCandPlus,     // '+' then a digit: E.164
  kCandDigits7,  // 7 digits with separators: national phone numbers
  kCandDigits13, // 13 digits with single separators: cards, IMEI
  kCandHex14,    // 14 hex digits: MEID
  kCandMac,      // six hex pairs
  kCandIban,     // CC99XXXX
  kCandCount,
};
constexpr std::array<const char*, kCandCount> kCandidatePatterns = {
    R"([A-Za-z0-9._%+\-]@[A-Za-z0-9])",
    R"(\+[ (]?[1-9])",
    R"([0-9](?:[ ().\-/]{0,2}[0-9]){6})",
    R"([0-9](?:[ \-]?[0-9]){12})",
    R"([0-9A-Fa-f]{14})",
    R"([0-9A-Fa-f]{2}[:\-][0-9A-Fa-f]{2}[:\-][0-9A-Fa-f]{2}[:\-][0-9A-Fa-f]{2}[:\-][0-9A-Fa-f]{2}[:\-][0-9A-Fa-f]{2})",
    R"([A-Za-z]{2}[0-9]{2} ?[A-Za-z0-9]{4})",
};

// Email: RFC 5322 dot-atom-ish local part (the characters addresses use in practice) and a domain
// of LDH labels ending in a TLD of 2..24 letters.
constexpr const char* kEmailPattern =
    R"([A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)"
    R"((?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24})";
constexpr const char* kMacPattern =
    R"([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){5})";

// File extensions that look like TLDs after '@' in asset names ("icon@2x.png"); none is a TLD.
constexpr std::array<std::string_view, 26> kFileExtensions = {
    "png", "jpg", "jpeg", "gif", "webp", "svg", "bmp", "ico", "tif", "tiff", "avif", "heic", "css",
    "js",  "json", "html", "htm", "xml", "txt", "pdf", "mp3", "mp4", "webm", "woff", "woff2", "ttf"};

constexpr std::int64_t kSetMaxMem = 4 << 20;
constexpr std::int64_t kPatternMaxMem = 1 << 20;

re2::RE2::Options re2_options(std::int64_t max_mem) {
  re2::RE2::Options o;
  o.set_encoding(re2::RE2::Options::EncodingLatin1);
  o.set_log_errors(false);
  o.set_max_mem(max_mem);
  o.set_never_capture(true);
  o.set_case_sensitive(true);
  return o;
}

// Collects hits of one scan: bounded, then sorted.
struct Collector {
  std::vector<Hit> hits;
  bool full() const noexcept { return hits.size() >= kMaxHitsPerValue; }
  void add(PiiType type, std::size_t b, std::size_t e, const char* detector) {
    if (!full() && b < e) hits.push_back(Hit{type, b, e, detector, 0});
  }
};

// A token boundary: the byte before `b` and at `e` do not continue an alphanumeric token.
bool bounded(std::string_view v, std::size_t b, std::size_t e) noexcept {
  return (b == 0 || !is_alnum(v[b - 1])) && (e >= v.size() || !is_alnum(v[e]));
}

// ---------------------------------------------------------------------------------------------
// Scanners. Each is linear in the value: positions only move forward.

// Whether position b is inside the authority of a URL ("scheme://" before it in the same token,
// and no '/' after that): there "x@host" is a user name, not an address. Looks back at most 256 bytes.
bool in_url_authority(std::string_view v, std::size_t b) noexcept {
  const std::size_t from = b > 256 ? b - 256 : 0;
  std::size_t k = b;
  while (k > from && !is_space(v[k - 1]) && v[k - 1] != '"' && v[k - 1] != '\'' && v[k - 1] != '<') --k;
  const std::string_view token = v.substr(k, b - k);
  const std::size_t scheme = token.find("://");
  return scheme != std::string_view::npos && token.find('/', scheme + 3) == std::string_view::npos;
}

void find_emails(const re2::RE2& re, std::string_view v, Collector& out) {
  std::size_t pos = 0;
  re2::StringPiece m;
  const re2::StringPiece text(v.data(), v.size());
  while (pos < v.size() && !out.full() &&
         re.Match(text, pos, v.size(), re2::RE2::UNANCHORED, &m, 1)) {
    const std::size_t b = static_cast<std::size_t>(m.data() - v.data());
    const std::size_t e = b + m.size();
    pos = e > b ? e : b + 1;
    // Not inside a longer token (a local part longer than 64, user:pass@host, a@b@c), not
    // followed by more domain.
    if (b > 0) {
      const char p = v[b - 1];
      if (is_alnum(p) || std::strchr("._%+-@", p) != nullptr) continue;
      if ((p == ':' || p == '/') && in_url_authority(v, b)) continue;  // user:secret@host, ssh://git@host
    }
    if (e < v.size() && (is_alnum(v[e]) || v[e] == '@' || v[e] == '_' || v[e] == '-' ||
                         (v[e] == '.' && e + 1 < v.size() && is_alnum(v[e + 1])))) {
      continue;
    }
    const std::string_view addr = v.substr(b, e - b);
    const std::size_t at = addr.find('@');
    const std::string_view local = addr.substr(0, at);
    if (local.back() == '.' || local.find("..") != std::string_view::npos) continue;
    const std::string_view tld = addr.substr(addr.rfind('.') + 1);
    bool file = false;
    for (const auto ext : kFileExtensions) file = file || iequals(tld, ext);
    if (file) continue;  // icon@2x.png, logo@3x.webp
    out.add(PiiType::kEmail, b, e, "email");
  }
}

// Whether the byte before a '+' lets it start a number ('+' inside base64 or an expression does not).
bool phone_may_start_after(char p) noexcept {
  return is_space(p) || std::strchr("\"'(:;,=<>[]{}", p) != nullptr;
}

// A run of digit groups from `i`: digits with single separators (space . - /) or parenthesised
// groups between them. Returns the end and the digits (at most 20 kept; more means not a phone).
struct DigitRun {
  std::size_t end = 0;
  std::string digits;
  bool separated = false;
  bool too_long = false;
};
DigitRun digit_run(std::string_view v, std::size_t i, int open = 0) {
  DigitRun r;
  std::size_t last_digit_end = i;
  while (i < v.size()) {
    const char c = v[i];
    if (is_digit(c)) {
      if (r.digits.size() >= 20) {
        r.too_long = true;
      } else {
        r.digits += c;
      }
      ++i;
      last_digit_end = i;
      continue;
    }
    // a separator must be followed by a digit or '(' (one space may precede '(' or follow ')')
    if (c == '(' && open == 0 && i + 1 < v.size() && is_digit(v[i + 1])) {
      ++open;
      ++i;
      r.separated = true;
      continue;
    }
    if (c == ')' && open == 1 && i > 0 && is_digit(v[i - 1])) {
      --open;
      ++i;
      if (i < v.size() && v[i] == ' ') ++i;
      r.separated = true;
      continue;
    }
    if ((c == ' ' || c == '-' || c == '.' || c == '/') && open == 0 && i + 1 < v.size() &&
        (is_digit(v[i + 1]) || (c == ' ' && v[i + 1] == '('))) {
      ++i;
      r.separated = true;
      continue;
    }
    break;
  }
  r.end = last_digit_end;
  if (open != 0 && r.end < v.size() && v[r.end] == ')') ++r.end;
  return r;
}

void find_e164(std::string_view v, Collector& out) {
  std::size_t from = 0;
  while (!out.full()) {
    const std::size_t start = v.find('+', from);
    if (start == std::string_view::npos) break;
    from = start + 1;
    if (start > 0 && !phone_may_start_after(v[start - 1])) continue;
    std::size_t j = start + 1;
    if (j < v.size() && v[j] == ' ') ++j;
    if (j >= v.size() || !(is_digit(v[j]) || v[j] == '(')) continue;
    // "(+7) 912 ...": the parenthesis opened before the '+' closes after the country code
    const bool paren = start > 0 && v[start - 1] == '(';
    const DigitRun r = digit_run(v, j, paren ? 1 : 0);
    if (r.end <= j) continue;
    from = r.end;
    if (r.too_long || r.digits.empty()) continue;
    // "+49 (0)151 ...": a trunk prefix in parentheses after the country code is dropped
    std::string digits = r.digits;
    if (const std::size_t z = v.substr(j, r.end - j).find("(0)"); z != std::string_view::npos) {
      std::size_t before = 0;
      for (std::size_t k = j; k < j + z; ++k) before += is_digit(v[k]) ? 1 : 0;
      if (before >= 1 && before <= 3 && before < digits.size()) digits.erase(before, 1);
    }
    const std::size_t e = r.end;
    if (e < v.size() && (is_alnum(v[e]) || v[e] == '+' || v[e] == '_')) continue;
    if (e + 1 < v.size() && (v[e] == '.' || v[e] == ',') && is_digit(v[e + 1])) continue;  // a decimal
    if (e164_ok(digits) == 0) continue;
    const bool closed = paren && v.substr(start, e - start).find(')') != std::string_view::npos;
    out.add(PiiType::kPhone, closed ? start - 1 : start, e, "phone-e164");
  }
}

// A whole value under a phone-like field name: digits with separators only (a leading '+' is the
// E.164 scanner's). "00" + country code is the international prefix; otherwise the device's
// region decides, and without a region (or for a region without a plan here) 7..15 digits do.
void phone_by_name(std::string_view v, const DetectContext& ctx, Collector& out) {
  const Span t = trimmed(v);
  if (t.begin >= t.end || v[t.begin] == '+') return;
  const DigitRun r = digit_run(v, t.begin);
  if (r.end != t.end || r.too_long) return;
  const std::string& d = r.digits;
  if (d.size() < 7 || d.size() > 15 || all_same(d)) return;
  if (d.size() > 2 && d[0] == '0' && d[1] == '0') {
    if (e164_ok(std::string_view(d).substr(2)) != 0) out.add(PiiType::kPhone, t.begin, t.end, "phone-by-name");
    return;
  }
  if (e164_ok(d) != 0 && d[0] != '0') {  // an MSISDN: international digits without '+'
    out.add(PiiType::kPhone, t.begin, t.end, "phone-by-name");
    return;
  }
  switch (national_ok(ctx.device_region, d)) {
    case NationalPlan::kValid: out.add(PiiType::kPhone, t.begin, t.end, "phone-national"); return;
    case NationalPlan::kInvalid: return;
    case NationalPlan::kUnknown: out.add(PiiType::kPhone, t.begin, t.end, "phone-by-name"); return;
  }
}

// National numbers in any field, only with the device's region, and only written with separators
// ("(415) 555-2671", "030 1234 5678", "138 0013 8000"): a bare run of digits is far more often an
// ID, a timestamp or an amount than a phone number.
void find_national(std::string_view v, const DetectContext& ctx, Collector& out) {
  std::size_t i = 0;
  while (i < v.size() && !out.full()) {
    const bool start = (is_digit(v[i]) || (v[i] == '(' && i + 1 < v.size() && is_digit(v[i + 1]))) &&
                       (i == 0 || !(is_alnum(v[i - 1]) || std::strchr("+.-/_:,", v[i - 1]) != nullptr));
    if (!start) {
      ++i;
      continue;
    }
    const DigitRun r = digit_run(v, i);
    const std::size_t e = std::max(r.end, i + 1);
    const bool end_ok = e >= v.size() || !(is_alnum(v[e]) || std::strchr("+_-/", v[e]) != nullptr ||
                                           ((v[e] == '.' || v[e] == ',' || v[e] == ':') && e + 1 < v.size() &&
                                            is_digit(v[e + 1])));
    if (end_ok && r.separated && !r.too_long && r.digits.size() >= 7 && r.digits.size() <= 12 &&
        v.substr(i, e - i).find_first_of("./") == std::string_view::npos &&  // dates, versions, IPs
        national_ok(ctx.device_region, r.digits) == NationalPlan::kValid) {
      out.add(PiiType::kPhone, i, e, "phone-national");
    }
    i = e;
  }
}

// Digit tokens for cards and IMEI: digits with single spaces or dashes between groups; a token is
// bounded by non-alphanumerics and is not part of a decimal number ("0.4111...", "4111....5").
struct Group {
  std::size_t begin, end;  // in the value
  char sep_before;         // '\0' for the first group
};

bool card_groups_ok(const std::vector<Group>& g, std::size_t a, std::size_t b) {  // groups [a, b)
  const std::size_t n = b - a;
  if (n == 1) return true;
  for (std::size_t k = a + 2; k < b; ++k) {
    if (g[k].sep_before != g[a + 1].sep_before) return false;
  }
  std::array<std::size_t, 8> len{};
  if (n > len.size()) return false;
  for (std::size_t k = 0; k < n; ++k) len[k] = g[a + k].end - g[a + k].begin;
  if (len[0] != 4) return false;
  if (n == 3 && len[1] == 6 && (len[2] == 4 || len[2] == 5)) return true;  // Amex 4-6-5, Diners 4-6-4
  for (std::size_t k = 1; k + 1 < n; ++k) {
    if (len[k] != 4) return false;
  }
  return len[n - 1] >= 1 && len[n - 1] <= 4;  // 4-4-4-4, 4-4-4-4-3, 4-4-4-1 ...
}
bool imei_groups_ok(const std::vector<Group>& g, std::size_t a, std::size_t b) {
  const std::size_t n = b - a;
  if (n == 1) return true;
  if (n != 4) return false;
  return g[a].end - g[a].begin == 2 && g[a + 1].end - g[a + 1].begin == 6 && g[a + 2].end - g[a + 2].begin == 6 &&
         g[a + 3].end - g[a + 3].begin == 1;  // AA-BBBBBB-CCCCCC-D (3GPP TS 23.003 presentation)
}

void check_digit_window(std::string_view v, const std::vector<Group>& g, std::size_t a, std::size_t b, bool imei_name,
                        Collector& out) {
  std::string d;
  for (std::size_t k = a; k < b; ++k) d.append(v.substr(g[k].begin, g[k].end - g[k].begin));
  if (d.size() < 13 || d.size() > 19 || all_same(d) || !luhn_ok(d)) return;
  const std::size_t begin = g[a].begin, end = g[b - 1].end;
  if (d.size() == 15 && imei_groups_ok(g, a, b) && (imei_name || tac_prefix_ok(d))) {
    out.add(PiiType::kImei, begin, end, "imei-luhn");
    return;
  }
  if (card_groups_ok(g, a, b) && card_issuer_ok(d)) out.add(PiiType::kPaymentCard, begin, end, "card-luhn");
}

// Whether a number ending at e goes on as a decimal or with thousands: ".5", ",50", ",000" (but not
// ",4111...", the next item of a list).
bool decimal_tail(std::string_view v, std::size_t e) noexcept {
  if (e + 1 >= v.size() || !is_digit(v[e + 1])) return false;
  if (v[e] == '.') return true;
  if (v[e] != ',') return false;
  std::size_t k = e + 1;
  while (k < v.size() && k - e <= 4 && is_digit(v[k])) ++k;
  return k - e <= 4;
}

void find_digit_tokens(std::string_view v, bool imei_name, Collector& out) {
  std::size_t i = 0;
  std::vector<Group> groups;
  while (i < v.size() && !out.full()) {
    if (!is_digit(v[i]) || (i > 0 && (is_alnum(v[i - 1]) || v[i - 1] == '.' || v[i - 1] == '+' || v[i - 1] == '_'))) {
      ++i;
      continue;
    }
    groups.clear();
    std::size_t j = i;
    char sep = '\0';
    bool too_many = false;
    while (true) {
      const std::size_t gb = j;
      while (j < v.size() && is_digit(v[j])) ++j;
      if (groups.size() >= 8 || j - gb > 19) too_many = true;
      if (!too_many) groups.push_back(Group{gb, j, sep});
      if (j + 1 < v.size() && (v[j] == ' ' || v[j] == '-') && is_digit(v[j + 1])) {
        sep = v[j];
        ++j;
        continue;
      }
      break;
    }
    const std::size_t e = j;
    i = e;
    if (too_many) continue;
    if (e < v.size() && (is_alnum(v[e]) || v[e] == '_' || decimal_tail(v, e))) continue;
    // Every window of whole groups (a card after a quantity: "2 4111 1111 1111 1111"), longest first;
    // windows never overlap a hit already taken.
    std::size_t taken_until = 0;
    for (std::size_t a = 0; a < groups.size(); ++a) {
      if (groups[a].begin < taken_until) continue;
      for (std::size_t b = groups.size(); b > a; --b) {
        const std::size_t before = out.hits.size();
        check_digit_window(v, groups, a, b, imei_name, out);
        if (out.hits.size() != before) {
          taken_until = groups[b - 1].end;
          break;
        }
      }
    }
  }
}

// MEID with its check digit: 15 upper-case hex digits, the first two A0..FF (3GPP2 S.R0048), the
// last the base-16 Luhn check digit of the other 14. Without a name this is still the weakest rule:
// 1 in 16 upper-case 15-hex-digit tokens starting A..F pass the check digit by chance.
void find_meid_check(std::string_view v, Collector& out) {
  std::size_t i = 0;
  while (i < v.size() && !out.full()) {
    if (!is_hex(v[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < v.size() && is_hex(v[j])) ++j;
    // upper case, as MEIDs are printed (a lower-case hex token is far more often a hash or an ID)
    const std::string_view tok = v.substr(i, j - i);
    if (j - i == 15 && bounded(v, i, j) && hex_value(v[i]) >= 10 &&
        std::none_of(tok.begin(), tok.end(), [](char c) { return is_lower(c); }) &&
        meid_check_digit(v.substr(i, 14)) == hex_value(v[i + 14])) {
      out.add(PiiType::kMeid, i, j, "meid-check");
    }
    i = j;
  }
}

// MAC addresses in colon or dash form (IEEE 802 canonical text), any field. Not the all-zero and
// broadcast addresses, not Android's 02:00:00:00:00:00 (what apps read since Android 6), not six
// decimal pairs with dashes (dates and times: 15-01-24-10-30-00). Locally administered
// (randomised) addresses are kept: they still identify a device on one network for a while.
void find_macs(const re2::RE2& re, std::string_view v, Collector& out) {
  std::size_t pos = 0;
  re2::StringPiece m;
  const re2::StringPiece text(v.data(), v.size());
  while (pos < v.size() && !out.full() && re.Match(text, pos, v.size(), re2::RE2::UNANCHORED, &m, 1)) {
    const std::size_t b = static_cast<std::size_t>(m.data() - v.data());
    const std::size_t e = b + m.size();
    pos = e;
    if (b > 0 && (is_alnum(v[b - 1]) || v[b - 1] == ':' || v[b - 1] == '-' || v[b - 1] == '.')) continue;
    if (e < v.size() && (is_alnum(v[e]) || ((v[e] == ':' || v[e] == '-' || v[e] == '.') && e + 1 < v.size() &&
                                            is_hex(v[e + 1])))) {
      continue;
    }
    const std::string_view mac = v.substr(b, e - b);
    std::string hex;
    for (const char c : mac) {
      if (is_hex(c)) hex += to_lower(c);
    }
    if (hex == "000000000000" || hex == "ffffffffffff" || hex == "020000000000") continue;
    if (mac[2] == '-' && all_of(hex, is_digit)) continue;
    out.add(PiiType::kMacAddress, b, e, "mac-address");
  }
}

// IBAN: country code, 2 check digits, BBAN; compact or in groups of 4 separated by one space; the
// length the SWIFT registry gives for the country; MOD 97-10 == 1.
void find_ibans(std::string_view v, Collector& out) {
  for (std::size_t i = 0; i + 4 <= v.size() && !out.full(); ++i) {
    if (!is_alpha(v[i]) || !is_alpha(v[i + 1]) || !is_digit(v[i + 2]) || !is_digit(v[i + 3])) continue;
    if (i > 0 && is_alnum(v[i - 1])) continue;
    const std::size_t want = iban_length(v[i], v[i + 1]);
    if (want == 0) continue;
    // both letters of one case (a lower-case IBAN is accepted, "De89..." is not)
    if (is_upper(v[i]) != is_upper(v[i + 1])) continue;
    std::string compact;
    std::size_t j = i;
    bool spaced = false;
    while (j < v.size() && compact.size() < want) {
      if (is_alnum(v[j])) {
        compact += to_upper(v[j]);
        ++j;
      } else if (v[j] == ' ' && compact.size() % 4 == 0 && compact.size() > 0 && j + 1 < v.size() &&
                 is_alnum(v[j + 1]) && (spaced || compact.size() == 4)) {
        spaced = true;
        ++j;
      } else {
        break;
      }
    }
    if (compact.size() != want || (j < v.size() && is_alnum(v[j]))) continue;
    if (!iban_mod97_ok(compact)) continue;
    out.add(PiiType::kIban, i, j, "iban-mod97");
    i = j - 1;
  }
}

// The device's own addresses, as text, anywhere in the value (IPv6 compared without case), not as
// part of a longer address or number.
void find_device_ips(std::string_view v, const DetectContext& ctx, Collector& out) {
  const std::size_t n = std::min(ctx.device_addresses.size(), kMaxDeviceAddresses);
  for (std::size_t k = 0; k < n && !out.full(); ++k) {
    const std::string_view ip = ctx.device_addresses[k];
    if (ip.size() < 2 || ip.size() > 64 || ip.size() > v.size()) continue;
    const bool v6 = ip.find(':') != std::string_view::npos;
    for (std::size_t b = 0; b + ip.size() <= v.size() && !out.full(); ++b) {
      if (!(v6 ? iequals(v.substr(b, ip.size()), ip) : v.substr(b, ip.size()) == ip)) continue;
      const std::size_t e = b + ip.size();
      bool ok;
      if (v6) {
        ok = (b == 0 || !(is_hex(v[b - 1]) || v[b - 1] == ':')) &&
             (e >= v.size() || !(is_hex(v[e]) || (v[e] == ':' && e + 1 < v.size() && is_hex(v[e + 1])) ||
                                 (v[e] == '.' && e + 1 < v.size() && is_digit(v[e + 1]))));
      } else {
        ok = (b == 0 || !(is_alnum(v[b - 1]) || v[b - 1] == '.')) &&
             (e >= v.size() || !(is_alnum(v[e]) || (v[e] == '.' && e + 1 < v.size() && is_digit(v[e + 1]))));
      }
      if (ok) {
        out.add(PiiType::kIpAddress, b, e, "device-ip");
        b = e - 1;
      }
    }
  }
}

// Identifiers that only their field name reveals: the whole (trimmed) value must have the
// identifier's form. Returns whether it reported one (the content scanners then leave the span).
bool ids_by_name(const NameTokens& name, std::string_view v, Collector& out) {
  const Span t = trimmed(v);
  const std::string_view s = v.substr(t.begin, t.end - t.begin);
  if (s.empty()) return false;
  const auto add = [&](PiiType type, const char* detector) {
    out.add(type, t.begin, t.end, detector);
    return true;
  };
  const bool uuid = is_uuid(s);
  // The all-zero UUID is what iOS and Android send when the user limited ad tracking: not a hit.
  if (uuid && zero_id(s)) return false;
  if (name_is(name, kIdfaNames)) return uuid && add(PiiType::kAdvertisingId, "idfa-by-name");
  if (name_is(name, kGaidNames)) return uuid && add(PiiType::kAdvertisingId, "gaid-by-name");
  if (name_is(name, kOaidNames)) {  // MSA OAID: a UUID or 16..64 hex digits
    return (uuid || (is_hex_run(s, 16, 64) && !zero_id(s) && !all_same(s))) &&
           add(PiiType::kAdvertisingId, "oaid-by-name");
  }
  if (name_is(name, kAdidNames)) return uuid && add(PiiType::kAdvertisingId, "adid-by-name");
  if (name_is(name, kAdvertisingNames)) return uuid && add(PiiType::kAdvertisingId, "advertising-id-by-name");
  if (name_is(name, kIdfvNames)) return uuid && add(PiiType::kDeviceId, "idfv-by-name");
  if (name_is(name, kAndroidIdNames)) {
    return is_hex_run(s, 16, 16) && !all_same(s) && add(PiiType::kDeviceId, "android-id-by-name");
  }
  if (name_is(name, kMeidNames)) {
    const bool meid = (s.size() == 14 || s.size() == 15) && all_of(s, is_hex) && hex_value(s[0]) >= 10 &&
                      (s.size() == 14 || meid_check_digit(s.substr(0, 14)) == hex_value(s[14]));
    return meid && add(PiiType::kMeid, "meid-by-name");
  }
  if (name_is(name, kSerialNames)) {
    const bool serial = s.size() >= 8 && s.size() <= 20 && all_of(s, is_alnum) && !all_same(s) &&
                        s.find_first_of("0123456789") != std::string_view::npos && !iequals(s, "unknown");
    return serial && add(PiiType::kDeviceId, "serial-by-name");
  }
  if (name_is(name, kMacNames)) {
    const bool mac = is_hex_run(s, 12, 12) && !zero_id(s) && !iequals(s, "ffffffffffff") && s != "020000000000";
    return mac && add(PiiType::kMacAddress, "mac-by-name");
  }
  if (name_is(name, kDeviceIdNames)) {
    // 15 decimal digits under device_id are the IMEI scanner's
    if (s.size() == 15 && all_of(s, is_digit)) return false;
    return (uuid || (is_hex_run(s, 16, 40) && !all_same(s))) && add(PiiType::kDeviceId, "device-id-by-name");
  }
  if (name_is(name, kLocationNames)) {  // "52.520008,13.404954"
    const std::size_t comma = s.find_first_of(",;");
    if (comma == std::string_view::npos) return false;
    std::string_view lat = s.substr(0, comma), lng = s.substr(comma + 1);
    while (!lng.empty() && lng.front() == ' ') lng.remove_prefix(1);
    const auto a = coordinate(lat), o = coordinate(lng);
    return a && o && *a >= -90 && *a <= 90 && *o >= -180 && *o <= 180 && !(*a == 0 && *o == 0) &&
           add(PiiType::kLocation, "latlng-by-name");
  }
  return false;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct Detectors::Compiled {
  std::unique_ptr<re2::RE2::Set> set;
  std::unique_ptr<re2::RE2> email;
  std::unique_ptr<re2::RE2> mac;
  bool set_ok = false;
};

Detectors::Detectors() : c_(std::make_unique<Compiled>()) {
  c_->set = std::make_unique<re2::RE2::Set>(re2_options(kSetMaxMem), re2::RE2::UNANCHORED);
  bool ok = true;
  for (int k = 0; k < kCandCount; ++k) ok = ok && c_->set->Add(kCandidatePatterns[static_cast<std::size_t>(k)], nullptr) == k;
  c_->set_ok = ok && c_->set->Compile();
  c_->email = std::make_unique<re2::RE2>(kEmailPattern, re2_options(kPatternMaxMem));
  c_->mac = std::make_unique<re2::RE2>(kMacPattern, re2_options(kPatternMaxMem));
}
Detectors::~Detectors() = default;
Detectors::Detectors(Detectors&&) noexcept = default;
Detectors& Detectors::operator=(Detectors&&) noexcept = default;

void Detectors::scan(std::string_view name, std::string_view value, const DetectContext& ctx,
                     std::vector<Hit>& out) const {
  if (!c_) return;
  value = value.substr(0, kMaxScanBytes);
  std::array<bool, kCandCount> cand{};
  std::vector<int> matched;
  re2::RE2::Set::ErrorInfo err{re2::RE2::Set::kNoError};
  if (c_->set_ok && c_->set->Match(re2::StringPiece(value.data(), value.size()), &matched, &err)) {
    for (const int k : matched) {
      if (k >= 0 && k < kCandCount) cand[static_cast<std::size_t>(k)] = true;
    }
  } else if (!c_->set_ok || err.kind != re2::RE2::Set::kNoError) {
    cand.fill(true);  // the set failed (its DFA ran out of memory): every scanner runs
  }

  const NameTokens tokens(name);
  Collector by_name;
  ids_by_name(tokens, value, by_name);
  const bool phone_name = name_is(tokens, kPhoneNames);
  Collector c;
  if (cand[kCandEmail] && c_->email->ok()) find_emails(*c_->email, value, c);
  if (cand[kCandPlus]) find_e164(value, c);
  if (cand[kCandDigits7]) {
    const std::size_t before = c.hits.size();
    if (phone_name && before == 0) phone_by_name(value, ctx, c);
    const bool whole = phone_name && c.hits.size() != before;
    // under a phone name, numbers inside a longer text ("Tel: (415) 555-2671") as anywhere else
    if (!whole && !ctx.device_region.empty()) find_national(value, ctx, c);
  }
  if (cand[kCandDigits13]) find_digit_tokens(value, name_is(tokens, kImeiNames), c);
  if (cand[kCandHex14]) find_meid_check(value, c);
  if (cand[kCandMac] && c_->mac->ok()) find_macs(*c_->mac, value, c);
  if (cand[kCandIban]) find_ibans(value, c);
  find_device_ips(value, ctx, c);

  // An identifier found by its name covers its value: content hits inside it are dropped (an
  // Android ID of 16 decimal digits is not also a card).
  std::vector<Hit> hits = std::move(by_name.hits);
  for (const Hit& h : c.hits) {
    const bool covered = std::any_of(hits.begin(), hits.end(), [&](const Hit& n) {
      return std::strstr(n.detector, "-by-name") != nullptr && h.begin < n.end && n.begin < h.end;
    });
    if (!covered && hits.size() < kMaxHitsPerValue) hits.push_back(h);
  }
  std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  out.insert(out.end(), hits.begin(), hits.end());
}

namespace {

// Fingerprint attributes (the browser properties fingerprinting scripts collect), as categories:
// several names of one attribute count once.
struct FingerprintName {
  std::string_view key;
  NameMatch how;
  std::uint8_t category;
};
constexpr FingerprintName kFingerprintNames[] = {
    {"screen", kSuffix, 0},        {"screenresolution", kSuffix, 0}, {"resolution", kSuffix, 0},
    {"screenwidth", kSuffix, 0},   {"screenheight", kSuffix, 0},     {"screensize", kSuffix, 0},
    {"screenres", kSuffix, 0},     {"timezone", kSuffix, 1},         {"tz", kExact, 1},
    {"timezoneoffset", kSuffix, 1}, {"tzoffset", kSuffix, 1},         {"fonts", kSuffix, 2},
    {"fontlist", kSuffix, 2},      {"battery", kSuffix, 3},          {"batterylevel", kSuffix, 3},
    {"canvas", kSuffix, 4},        {"canvashash", kSuffix, 4},       {"canvasfingerprint", kSuffix, 4},
    {"webgl", kSuffix, 5},         {"webglvendor", kSuffix, 5},      {"webglrenderer", kSuffix, 5},
    {"webglhash", kSuffix, 5},     {"languages", kSuffix, 6},        {"plugins", kSuffix, 7},
    {"hardwareconcurrency", kSuffix, 8}, {"devicememory", kSuffix, 9}, {"maxtouchpoints", kSuffix, 10},
    {"colordepth", kSuffix, 11},   {"pixeldepth", kSuffix, 11},      {"devicepixelratio", kSuffix, 12},
    {"pixelratio", kSuffix, 12},
};
constexpr std::size_t kFingerprintCategories = 13;
constexpr std::size_t kFingerprintThreshold = 3;

int fingerprint_category(const NameTokens& t) {
  for (const auto& f : kFingerprintNames) {
    if (t.matches(f.key, f.how)) return f.category;
  }
  return -1;
}

// lat/latitude or lng/lon/long/longitude as the last token; the tokens before it are the pair's key.
int coordinate_role(const NameTokens& t, std::string& prefix) {
  if (t.count == 0) return 0;
  const std::string& last = t.tokens[t.count - 1];
  int role = 0;
  if (last == "lat" || last == "latitude") role = 1;
  if (last == "lng" || last == "lon" || last == "long" || last == "longitude") role = 2;
  if (role == 0) return 0;
  prefix.clear();
  for (std::size_t i = 0; i + 1 < t.count; ++i) prefix += t.tokens[i];
  return role;
}

}  // namespace

void Detectors::scan_object(std::span<const NamedScalar> members, std::vector<Hit>& out) const {
  members = members.subspan(0, std::min(members.size(), kMaxObjectMembers));
  std::vector<Hit> hits;
  // latitude/longitude pairs
  struct Coord {
    std::size_t member;
    int role;
    std::string prefix;
    double value;
    Span span;
  };
  std::vector<Coord> coords;
  std::array<std::vector<std::size_t>, kFingerprintCategories> fp;
  for (std::size_t m = 0; m < members.size(); ++m) {
    const NameTokens t(members[m].name);
    const std::string_view v = members[m].value;
    const Span s = trimmed(v);
    if (s.begin >= s.end) continue;
    std::string prefix;
    if (const int role = coordinate_role(t, prefix); role != 0 && coords.size() < 32) {
      if (const auto x = coordinate(v.substr(s.begin, s.end - s.begin))) {
        if ((role == 1 && *x >= -90 && *x <= 90) || (role == 2 && *x >= -180 && *x <= 180)) {
          coords.push_back(Coord{m, role, std::move(prefix), *x, s});
        }
      }
      continue;
    }
    if (const int cat = fingerprint_category(t); cat >= 0) {
      auto& list = fp[static_cast<std::size_t>(cat)];
      if (list.size() < 4) list.push_back(m);
    }
  }
  for (const Coord& lat : coords) {
    if (lat.role != 1) continue;
    for (const Coord& lng : coords) {
      if (lng.role != 2 || lng.prefix != lat.prefix || (lat.value == 0 && lng.value == 0)) continue;
      hits.push_back(Hit{PiiType::kLocation, lat.span.begin, lat.span.end, "lat-lng-pair", lat.member});
      hits.push_back(Hit{PiiType::kLocation, lng.span.begin, lng.span.end, "lat-lng-pair", lng.member});
      break;
    }
  }
  const std::size_t categories =
      static_cast<std::size_t>(std::count_if(fp.begin(), fp.end(), [](const auto& l) { return !l.empty(); }));
  if (categories >= kFingerprintThreshold) {
    for (const auto& list : fp) {
      for (const std::size_t m : list) {
        const Span s = trimmed(members[m].value);
        hits.push_back(Hit{PiiType::kFingerprint, s.begin, s.end, "fingerprint-group", m});
      }
    }
  }
  std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
    return a.member != b.member ? a.member < b.member : a.begin < b.begin;
  });
  if (hits.size() > kMaxHitsPerValue) hits.resize(kMaxHitsPerValue);
  out.insert(out.end(), hits.begin(), hits.end());
}

// ---------------------------------------------------------------------------------------------
// Masking

namespace {

constexpr std::size_t kMaxMaskInput = 4096 - 8;

char printable(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return (u >= 0x20 && u < 0x7F) ? c : '?';
}

std::string keep_first(std::string_view v, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < v.size() && i < n; ++i) s += printable(v[i]);
  return s + "***";
}

// Every alphanumeric outside the first `head` and last `tail` alphanumerics becomes '*'; other
// bytes (separators) are kept.
std::string mask_alnum(std::string_view v, std::size_t head, std::size_t tail) {
  const std::size_t total =
      static_cast<std::size_t>(std::count_if(v.begin(), v.end(), [](char c) { return is_alnum(c); }));
  if (head + tail >= total) {  // too short to show that much: show only the last quarter
    head = 0;
    tail = total / 4;
  }
  std::string s;
  std::size_t k = 0;
  for (const char c : v) {
    if (is_alnum(c)) {
      s += (k < head || k >= total - tail) ? c : '*';
      ++k;
    } else {
      s += printable(c);
    }
  }
  return s;
}

}  // namespace

std::string mask(PiiType type, std::string_view value) {
  value = value.substr(0, kMaxMaskInput);
  switch (type) {
    case PiiType::kEmail: {
      const std::size_t at = value.rfind('@');
      if (at == std::string_view::npos || at == 0) return keep_first(value, 1);
      std::string s(1, printable(value[0]));
      s += "***@";
      for (const char c : value.substr(at + 1)) s += printable(c);
      return s;
    }
    case PiiType::kPhone: {
      std::string digits;
      for (const char c : value) {
        if (is_digit(c)) digits += c;
      }
      std::size_t head = 3;
      if (!value.empty() && value[0] == '+') {
        head += e164_ok(digits) != 0 ? e164_ok(digits) : 2;
      }
      return mask_alnum(value, digits.size() >= head + 2 + 3 ? head : 0, 2);
    }
    case PiiType::kImei: return mask_alnum(value, 2, 4);
    case PiiType::kPaymentCard: {
      std::string last;
      for (std::size_t i = value.size(); i-- > 0 && last.size() < 4;) {
        if (is_digit(value[i])) last.insert(last.begin(), value[i]);
      }
      return "****" + last;
    }
    case PiiType::kIban: return mask_alnum(value, 2, 4);
    case PiiType::kMacAddress: {
      if (value.size() == 17) return mask_alnum(value, 6, 0);
      return keep_first(value, 4);
    }
    case PiiType::kIpAddress: {
      const bool v6 = value.find(':') != std::string_view::npos;
      const char sep = v6 ? ':' : '.';
      std::string s;
      std::size_t parts = 0;
      for (const char c : value) {
        if (c == sep && ++parts == 2) break;
        s += printable(c);
      }
      return s + (v6 ? ":***" : ".*.*");
    }
    case PiiType::kLocation: {
      std::string s;
      std::size_t after_dot = 0;
      bool dot = false;
      for (const char c : value) {
        if (dot && is_digit(c) && ++after_dot > 1) {
          s += '*';
          continue;
        }
        if (c == '.') dot = true;
        if (c == ',' || c == ';' || c == ' ') {
          dot = false;
          after_dot = 0;
        }
        s += printable(c);
      }
      return s;
    }
    case PiiType::kMeid:
    case PiiType::kAdvertisingId:
    case PiiType::kDeviceId:
    case PiiType::kFingerprint: return keep_first(value, 4);
  }
  return keep_first(value, 0);
}

const char* to_string(PiiType type) noexcept {
  switch (type) {
    case PiiType::kEmail: return "email";
    case PiiType::kPhone: return "phone";
    case PiiType::kImei: return "imei";
    case PiiType::kMeid: return "meid";
    case PiiType::kAdvertisingId: return "advertising-id";
    case PiiType::kDeviceId: return "device-id";
    case PiiType::kMacAddress: return "mac-address";
    case PiiType::kIpAddress: return "ip-address";
    case PiiType::kLocation: return "location";
    case PiiType::kPaymentCard: return "payment-card";
    case PiiType::kIban: return "iban";
    case PiiType::kFingerprint: return "fingerprint";
  }
  return "unknown";
}

}  // namespace flowaudit::analysis::inspect
