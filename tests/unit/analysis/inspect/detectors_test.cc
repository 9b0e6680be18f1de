// Personal-data detectors (analysis/inspect/detectors.h): per detector, values that must be found
// (with the span) and look-alikes that must not (UUIDs that are not advertising IDs, numbers failing
// Luhn, version strings, timestamps, order IDs, prices, image names). Test numbers are the issuers'
// published test cards, the IMEI and MEID examples of 3GPP TS 23.003 / 3GPP2 S.R0048 (and Luhn-valid
// numbers made for this test), the IBAN examples of the SWIFT IBAN registry, numbers from the
// fictional or documentation ranges where there are such.
#include "analysis/inspect/detectors.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

namespace inspect = flowaudit::analysis::inspect;
using inspect::Hit;
using inspect::PiiType;

namespace {

const inspect::Detectors& detectors() {
  static const inspect::Detectors d;
  return d;
}

std::vector<Hit> scan(std::string_view name, std::string_view value, std::string_view region = "",
                      const std::vector<std::string>& ips = {}) {
  std::vector<Hit> out;
  detectors().scan(name, value, inspect::DetectContext{region, ips}, out);
  return out;
}

struct Case {
  std::string_view name;
  std::string_view value;
  std::string_view expect;  // the text of the hit ("" for the whole value)
  std::string_view region = "";
};

// Every positive yields a hit of `type` on exactly `expect`; returns the count checked.
std::size_t positives(PiiType type, const std::vector<Case>& cases, const std::vector<std::string>& ips = {}) {
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CAPTURE(c.value);
    const std::string_view want = c.expect.empty() ? c.value : c.expect;
    bool found = false;
    for (const Hit& h : scan(c.name, c.value, c.region, ips)) {
      REQUIRE(h.end <= c.value.size());
      if (h.type == type && c.value.substr(h.begin, h.end - h.begin) == want) found = true;
    }
    CHECK(found);
  }
  return cases.size();
}

// No negative yields a hit of `type`.
std::size_t negatives(PiiType type, const std::vector<Case>& cases, const std::vector<std::string>& ips = {}) {
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CAPTURE(c.value);
    for (const Hit& h : scan(c.name, c.value, c.region, ips)) {
      CAPTURE(h.detector);
      CHECK(h.type != type);
    }
  }
  return cases.size();
}

std::vector<Hit> scan_object(const std::vector<inspect::NamedScalar>& members) {
  std::vector<Hit> out;
  detectors().scan_object(members, out);
  return out;
}

}  // namespace

TEST_SUITE("analysis.inspect.detectors") {

TEST_CASE("detectors: names of the types") {
  CHECK(std::string_view(inspect::to_string(PiiType::kEmail)) == "email");
  CHECK(std::string_view(inspect::to_string(PiiType::kAdvertisingId)) == "advertising-id");
  CHECK(std::string_view(inspect::to_string(PiiType::kMacAddress)) == "mac-address");
  CHECK(std::string_view(inspect::to_string(PiiType::kPaymentCard)) == "payment-card");
  CHECK(std::string_view(inspect::to_string(PiiType::kFingerprint)) == "fingerprint");
}

TEST_CASE("detectors: email") {
  positives(PiiType::kEmail, {
      {"email", "alice@example.com", ""},
      {"text", "contact: bob.smith+news@mail.example.co.uk.", "bob.smith+news@mail.example.co.uk"},
      {"q", "x=1&to=jane_doe@sub.example.org&y=2", "jane_doe@sub.example.org"},
      {"to", "Carol <carol@example.net>", "carol@example.net"},
      {"body", "\xc3\x84 dave@example.de", "dave@example.de"},
      {"user", "first.last@example.museum", ""},
      {"u", "u@ex-ample.io", ""},
      {"login", "\"Someone.Else@Example.COM\"", "Someone.Else@Example.COM"},
      {"href", "mailto:alice@example.com", "alice@example.com"},
      {"path", "/api/users/alice@example.com/profile", "alice@example.com"},
      {"text", "email:alice@example.com", "alice@example.com"},
  });
  negatives(PiiType::kEmail, {
      {"src", "icon@2x.png", ""},
      {"src", "/img/logo@3x.webp", ""},
      {"user", "user@localhost", ""},
      {"x", "a@b.c", ""},
      {"x", "name@domain.123", ""},
      {"dep", "lodash@4.17.21", ""},
      {"handle", "@username", ""},
      {"x", "a..b@example.com", ""},
      {"x", "user@example.com123", ""},
      {"remote", "git+ssh://git@example.com/repo.git", ""},
      {"url", "https://user:secret@example.com/", ""},
      {"url", "ftp://anonymous@ftp.example.org/pub", ""},
  });
}

TEST_CASE("detectors: phone, E.164") {
  positives(PiiType::kPhone, {
      {"note", "+1 415 555 2671", ""},
      {"x", "+14155552671", ""},
      {"x", "call +44 20 7946 0958 now", "+44 20 7946 0958"},
      {"x", "+49 (0)30 12345678", ""},
      {"x", "+86 138 0013 8000", ""},
      {"x", "+33 6 12 34 56 78", ""},
      {"x", "+91-98765-43210", ""},
      {"x", "tel:+81-90-1234-5678", "+81-90-1234-5678"},
      {"x", "(+7) 912 345-67-89", ""},
      {"x", "(+44) 20 7946 0958", ""},
      {"x", "{\"p\":\"+351912345678\"}", "+351912345678"},
  });
  negatives(PiiType::kPhone, {
      {"x", "+1 123 456 7890", ""},    // NANP area codes never start with 1
      {"x", "+0123456789", ""},
      {"x", "+12", ""},
      {"x", "2+2=4", ""},
      {"x", "abc+4915112345678", ""},  // inside base64
      {"x", "+2024-01-15", ""},        // a date
      {"x", "UTC+0100", ""},
      {"x", "+800 1234 5678", ""},     // international freephone, nobody's number
      {"x", "+44 12", ""},
      {"x", "+1 555 555 5555 555", ""},
      {"x", "+15.99", ""},             // a price change
      {"x", "+1.2.3", ""},             // a version
      {"x", "+1 911 555 1234", ""},    // N11 area code
      {"x", "+44 1111111111", ""},     // one digit repeated
  });
}

TEST_CASE("detectors: phone, national form only under a phone name or with the region") {
  positives(PiiType::kPhone, {
      {"phone", "0151 23456789", "", "DE"},
      {"mobile", "13800138000", ""},
      {"mobile", "138 0013 8000", "", "CN"},
      {"msisdn", "4915112345678", ""},
      {"phoneNumber", "(415) 555-2671", "", "US"},
      {"tel", "0044 20 7946 0958", ""},
      {"note", "call (415) 555-2671 today", "(415) 555-2671", "US"},
      {"note", "ring 030 1234 5678", "030 1234 5678", "DE"},
      {"phone", "Tel: (415) 555-2671", "(415) 555-2671", "US"},
  });
  negatives(PiiType::kPhone, {
      {"note", "call (415) 555-2671 today", ""},  // no region: national form not read
      {"order", "order 4155552671", "", "US"},    // a bare run of digits
      {"date", "2024-01-15", "", "US"},
      {"ip", "10.0.0.1", "", "US"},
      {"version", "1.2.3456789", "", "US"},
      {"phone", "n/a", ""},
      {"phone", "0", ""},
      {"phone", "1111111", ""},
      {"phone", "123 456 7890", "", "US"},        // invalid NANP area code
      {"hotel", "4155552671", ""},
      {"phone_model", "2201117TG", ""},
      {"phone_count", "12345678", ""},
      {"ts", "1700000000", "", "US"},
      {"amount", "1 234 567,89", "", "DE"},
  });
}

TEST_CASE("detectors: IMEI") {
  positives(PiiType::kImei, {
      {"x", "490154203237518", ""},
      {"x", "35-209900-176148-1", ""},  // 3GPP TS 23.003 presentation AA-BBBBBB-CCCCCC-D
      {"q", "imei=356938035643809&x=1", "356938035643809"},
      {"imei", "123456789012347", ""},  // not a TAC prefix, but the name says it
      {"device_id", "123456789012347", ""},
      {"x", "860123456789014", ""},
      {"x", "990001234567899", ""},
  });
  negatives(PiiType::kImei, {
      {"x", "490154203237519", ""},   // Luhn fails
      {"x", "123456789012347", ""},   // no TAC prefix, no name
      {"x", "1490154203237518", ""},  // 16 digits
      {"x", "0.490154203237518", ""},
      {"x", "4901542032375180", ""},
      {"ts", "1700000000000", ""},
      {"x", "order-49015420323751", ""},
  });
}

TEST_CASE("detectors: MEID") {
  positives(PiiType::kMeid, {
      {"meid", "A0000000002329", ""},
      {"meid", "AF0123450ABCDEC", ""},  // with its check digit (3GPP2 S.R0048 example)
      {"x", "id AF0123450ABCDEC.", "AF0123450ABCDEC"},
  });
  negatives(PiiType::kMeid, {
      {"meid", "A000000000232", ""},     // 13 digits
      {"meid", "0A000000002329", ""},    // below A0: an ESN-range value
      {"x", "AF0123450ABCDE1", ""},      // wrong check digit
      {"x", "A0000000002329", ""},       // no name, no check digit
      {"sha", "af0123450abcdec7e9", ""}, // part of a longer hex string
      {"token", "af0123450abcdec", ""},     // lower case: a hash or ID, not how MEIDs are printed
  });
}

TEST_CASE("detectors: advertising IDs only under their names, never the all-zero ID") {
  positives(PiiType::kAdvertisingId, {
      {"idfa", "6D92078A-8246-4BA4-AE5B-76104861E7DC", ""},
      {"gaid", "38400000-8cf0-11bd-b23e-10b96e40000d", ""},
      {"advertisingId", "38400000-8cf0-11bd-b23e-10b96e40000d", ""},
      {"advertising_id", "38400000-8cf0-11bd-b23e-10b96e40000d", ""},
      {"google_ad_id", "38400000-8cf0-11bd-b23e-10b96e40000d", ""},
      {"gps_adid", "38400000-8cf0-11bd-b23e-10b96e40000d", ""},
      {"adid", "38400000-8cf0-11bd-b23e-10b96e40000d", ""},
      {"ifa", "6D92078A-8246-4BA4-AE5B-76104861E7DC", ""},
      {"x-idfa", " 6D92078A-8246-4BA4-AE5B-76104861E7DC ", "6D92078A-8246-4BA4-AE5B-76104861E7DC"},
      {"oaid", "1fe3b8e4c7a2d9f0", ""},
      {"OAID", "c0c5b8d5-6b2e-4f7d-9f8e-3a6b1c2d4e5f", ""},
  });
  negatives(PiiType::kAdvertisingId, {
      {"idfa", "00000000-0000-0000-0000-000000000000", ""},  // limit ad tracking
      {"gaid", "00000000-0000-0000-0000-000000000000", ""},
      {"request_id", "6D92078A-8246-4BA4-AE5B-76104861E7DC", ""},
      {"session", "38400000-8cf0-11bd-b23e-10b96e40000d", ""},
      {"x", "6D92078A-8246-4BA4-AE5B-76104861E7DC", ""},
      {"idfa", "not-a-uuid", ""},
      {"campaign_ad_id", "38400000-8cf0-11bd-b23e-10b96e40000d", ""},
      {"paid", "38400000-8cf0-11bd-b23e-10b96e40000d", ""},
      {"trace_id", "38400000-8cf0-11bd-b23e-10b96e40000d", ""},
      {"idfa", "6D92078A82464BA4AE5B76104861E7DC", ""},      // not in UUID form
      {"oaid", "0000000000000000", ""},
      {"idfv", "6D92078A-8246-4BA4-AE5B-76104861E7DC", ""},  // a vendor ID: device-id
  });
}

TEST_CASE("detectors: device IDs only under their names") {
  positives(PiiType::kDeviceId, {
      {"android_id", "9774d56d682e549c", ""},
      {"androidId", "3512345678901234", ""},  // decimal-looking, not a card
      {"ssaid", "a1b2c3d4e5f60718", ""},
      {"idfv", "6D92078A-8246-4BA4-AE5B-76104861E7DC", ""},
      {"identifierForVendor", "6D92078A-8246-4BA4-AE5B-76104861E7DC", ""},
      {"serial", "R58M12ABCDE", ""},
      {"hw_serial", "ZY22345KLM", ""},
      {"device_id", "a1b2c3d4e5f60718", ""},
      {"deviceId", "6D92078A-8246-4BA4-AE5B-76104861E7DC", ""},
      {"udid", "00008030001A35E22E68802E00000000000000AB", ""},
      {"uuid", "6D92078A-8246-4BA4-AE5B-76104861E7DC", ""},
  });
  negatives(PiiType::kDeviceId, {
      {"android_id", "0000000000000000", ""},
      {"android_id", "xyz", ""},
      {"serial", "unknown", ""},
      {"serial", "ABC", ""},
      {"serial", "ABCDEFGHIJ", ""},  // no digit: a word
      {"order_serial_number", "SN12345678", ""},
      {"device_id", "12", ""},
      {"user_id", "6D92078A-8246-4BA4-AE5B-76104861E7DC", ""},
      {"request_uuid", "6D92078A-8246-4BA4-AE5B-76104861E7DC", ""},
      {"device_id", "00000000-0000-0000-0000-000000000000", ""},
      {"device_model", "a1b2c3d4e5f60718", ""},
      {"aid", "a1b2c3d4e5f60718", ""},  // an app ID as often as an Android ID
  });
}

TEST_CASE("detectors: MAC addresses") {
  positives(PiiType::kMacAddress, {
      {"x", "3c:22:fb:12:34:56", ""},
      {"x", "3C-22-FB-12-34-56", ""},
      {"q", "mac=a4:83:e7:01:02:03;", "a4:83:e7:01:02:03"},
      {"wifi_mac", "a483e7010203", ""},
      {"bssid", "a483e7010203", ""},
      {"x", "da:a1:19:12:34:56", ""},  // locally administered (randomised): still reported
  });
  negatives(PiiType::kMacAddress, {
      {"x", "00:00:00:00:00:00", ""},
      {"x", "ff:ff:ff:ff:ff:ff", ""},
      {"x", "02:00:00:00:00:00", ""},      // what Android gives apps
      {"x", "15-01-24-10-30-00", ""},      // a date and time
      {"x", "2001:db8:aa:bb:cc:dd:ee:ff", ""},
      {"x", "12:34:56", ""},
      {"x", "aa:bb:cc:dd:ee:ff:11", ""},
      {"x", "3c:22:fb:12:34", ""},
      {"x", "a483e7010203", ""},          // 12 hex without a MAC name
      {"x", "3c:22:fb-12:34:56", ""},     // mixed separators
  });
}

TEST_CASE("detectors: the device's own IP addresses") {
  const std::vector<std::string> ips = {"192.168.1.23", "2001:db8::1234"};
  positives(PiiType::kIpAddress, {
      {"ip", "192.168.1.23", ""},
      {"xff", "192.168.1.23, 10.0.0.1", "192.168.1.23"},
      {"x", "{\"local\":\"2001:DB8::1234\"}", "2001:DB8::1234"},
      {"x", "addr=192.168.1.23.", "192.168.1.23"},
  }, ips);
  negatives(PiiType::kIpAddress, {
      {"ip", "192.168.1.234", ""},
      {"ip", "1192.168.1.23", ""},
      {"ip", "192.168.1.23.5", ""},
      {"ip", "2001:db8::12345", ""},
      {"ip", "10.0.0.1", ""},
  }, ips);
  CHECK(scan("ip", "192.168.1.23").empty());  // no addresses in the context
}

TEST_CASE("detectors: payment cards") {
  positives(PiiType::kPaymentCard, {
      {"x", "4111111111111111", ""},
      {"x", "4111 1111 1111 1111", ""},
      {"x", "5555-5555-5555-4444", ""},
      {"x", "378282246310005", ""},
      {"x", "3782 822463 10005", ""},
      {"x", "6011111111111117", ""},
      {"x", "3530111333300000", ""},
      {"x", "30569309025904", ""},
      {"x", "2223003122003222", ""},
      {"x", "6200000000000005", ""},
      {"x", "qty 2 4111 1111 1111 1111", "4111 1111 1111 1111"},
      {"cc", "card=4111111111111111&exp=12/30", "4111111111111111"},
      {"cards", "[1,4111111111111111]", "4111111111111111"},
      {"cards", "4111111111111111,5555555555554444", "5555555555554444"},
  });
  negatives(PiiType::kPaymentCard, {
      {"x", "4111111111111112", ""},   // Luhn fails
      {"x", "1234567812345670", ""},   // Luhn passes, no issuer
      {"x", "0000 0000 0000 0000", ""},
      {"ts", "1700000000000", ""},
      {"ts_us", "1700000000000000", ""},
      {"amount", "4111111111111111.50", ""},
      {"amount", "4111111111111111,50", ""},
      {"price", "4111.11", ""},
      {"v", "v4.1111111111111111", ""},
      {"x", "+4111111111111111", ""},
      {"order", "ORD4111111111111111", ""},
      {"x", "41111 11111 11111 1", ""},  // not grouped like a card
      {"x", "4111 1111-1111 1111", ""},  // mixed separators
      {"x", "41111111111111111111", ""}, // 20 digits
      {"x", "3782822463100050", ""},     // Amex prefix with 16 digits
  });
}

TEST_CASE("detectors: IBAN") {
  positives(PiiType::kIban, {
      {"x", "DE89370400440532013000", ""},
      {"x", "DE89 3704 0044 0532 0130 00", ""},
      {"x", "GB82WEST12345698765432", ""},
      {"x", "FR1420041010050500013M02606", ""},
      {"x", "NL91ABNA0417164300", ""},
      {"x", "be68539007547034", ""},
      {"x", "iban: CH9300762011623852957.", "CH9300762011623852957"},
      {"x", "NO9386011117947", ""},
  });
  negatives(PiiType::kIban, {
      {"x", "DE89370400440532013001", ""},   // mod 97 fails
      {"x", "DE8937040044053201300", ""},    // too short for DE
      {"x", "XX89370400440532013000", ""},   // no such country
      {"x", "DE89370400440532013000123", ""},
      {"x", "ISBN 978-3-16-148410-0", ""},
      {"x", "De89370400440532013000", ""},
      {"x", "DE89 3704 0044 0532 013 000", ""},  // broken grouping
  });
}

TEST_CASE("detectors: location in one value under a location name") {
  positives(PiiType::kLocation, {
      {"location", "52.520008,13.404954", ""},
      {"ll", "40.7128, -74.0060", ""},
  });
  negatives(PiiType::kLocation, {
      {"location", "52.5,13.4", ""},
      {"location", "Berlin", ""},
      {"location", "0.000,0.000", ""},
      {"location", "95.123,13.404", ""},
      {"x", "52.520008,13.404954", ""},
      {"version", "52.520008,13.404954", ""},
  });
}

TEST_CASE("detectors: latitude/longitude pairs in one object") {
  auto hits = scan_object({{"id", "7"}, {"lat", "52.520008"}, {"lng", "13.404954"}});
  REQUIRE(hits.size() == 2);
  CHECK(hits[0].type == PiiType::kLocation);
  CHECK(hits[0].member == 1);
  CHECK(hits[1].member == 2);
  CHECK(hits[1].end == 9);
  CHECK(std::string_view(hits[0].detector) == "lat-lng-pair");
  CHECK(scan_object({{"latitude", "-33.8688"}, {"longitude", "151.2093"}}).size() == 2);
  CHECK(scan_object({{"pickup_lat", "\"48.8566\""}, {"pickup_lng", "2.3522"}, {"name", "x"}}).size() == 2);
  CHECK(scan_object({{"lat", "52.520"}, {"lon", "13.405"}}).size() == 2);

  CHECK(scan_object({{"lat", "52.5"}, {"lng", "13.4"}}).empty());        // fewer than 3 decimals
  CHECK(scan_object({{"lat", "0.000"}, {"lng", "0.000"}}).empty());      // null island
  CHECK(scan_object({{"lat", "95.123"}, {"lng", "13.404"}}).empty());    // out of range
  CHECK(scan_object({{"lat", "52.520"}, {"alt", "13.404"}}).empty());
  CHECK(scan_object({{"lat", "52.520"}, {"pickup_lng", "13.405"}}).empty());
  CHECK(scan_object({{"lat", "52.520"}, {"lng", "abc"}}).empty());
  CHECK(scan_object({{"version", "52.520"}, {"build", "13.405"}}).empty());
}

TEST_CASE("detectors: fingerprint attribute groups in one object") {
  auto hits = scan_object({{"screen", "1920x1080"},
                           {"timezone", "Europe/Berlin"},
                           {"languages", "en-US,de"},
                           {"plugins", "PDF Viewer"},
                           {"page", "/home"}});
  REQUIRE(hits.size() == 4);
  for (const Hit& h : hits) CHECK(h.type == PiiType::kFingerprint);
  CHECK(hits[3].member == 3);
  CHECK(scan_object({{"hardwareConcurrency", "8"}, {"deviceMemory", "8"}, {"canvasHash", "a1b2"}}).size() == 3);
  CHECK(scan_object({{"webglRenderer", "ANGLE"}, {"tz", "-60"}, {"colorDepth", "24"}}).size() == 3);

  CHECK(scan_object({{"screen", "1920x1080"}, {"timezone", "UTC"}}).empty());
  CHECK(scan_object({{"screen_width", "1920"}, {"screen_height", "1080"}, {"tz", "UTC"}}).empty());  // 2 attributes
  CHECK(scan_object({{"name", "x"}, {"price", "1.00"}, {"currency", "EUR"}}).empty());
}

TEST_CASE("detectors: hits are ordered, within the value, and a by-name ID hides content hits in it") {
  const std::string v = "a@example.com 4111111111111111 +14155552671 DE89370400440532013000";
  const auto hits = scan("body", v);
  REQUIRE(hits.size() == 4);
  for (std::size_t i = 1; i < hits.size(); ++i) CHECK(hits[i - 1].begin <= hits[i].begin);
  CHECK(hits[0].type == PiiType::kEmail);
  CHECK(hits[1].type == PiiType::kPaymentCard);
  CHECK(hits[2].type == PiiType::kPhone);
  CHECK(hits[3].type == PiiType::kIban);
  const auto android = scan("android_id", "3530111333300000");  // also a JCB test card
  REQUIRE(android.size() == 1);
  CHECK(android[0].type == PiiType::kDeviceId);
}

TEST_CASE("detectors: limits and hostile values") {
  std::string many;
  for (int i = 0; i < 200; ++i) many += "a@example.com ";
  CHECK(scan("x", many).size() == inspect::kMaxHitsPerValue);
  CHECK(scan("x", std::string(100000, '4')).empty());
  CHECK(scan("x", std::string(100000, '+')).empty());
  CHECK(scan(std::string(1000, 'a'), std::string("\0\xff\x80@\x01", 5)).empty());
  CHECK(scan("", "").empty());
}

TEST_CASE("detectors: mask") {
  using inspect::mask;
  CHECK(mask(PiiType::kEmail, "alice@example.com") == "a***@example.com");
  CHECK(mask(PiiType::kPhone, "+86 138 0013 8012") == "+86 138 **** **12");
  CHECK(mask(PiiType::kPhone, "+14155552671") == "+1415*****71");
  CHECK(mask(PiiType::kPhone, "0151 23456789") == "015* ******89");
  CHECK(mask(PiiType::kImei, "490154203237518") == "49*********7518");
  CHECK(mask(PiiType::kPaymentCard, "4111 1111 1111 1234") == "****1234");
  CHECK(mask(PiiType::kIban, "DE89 3704 0044 0532 0130 00") == "DE** **** **** **** **30 00");
  CHECK(mask(PiiType::kAdvertisingId, "6D92078A-8246-4BA4-AE5B-76104861E7DC") == "6D92***");
  CHECK(mask(PiiType::kDeviceId, "9774d56d682e549c") == "9774***");
  CHECK(mask(PiiType::kMacAddress, "3c:22:fb:12:34:56") == "3c:22:fb:**:**:**");
  CHECK(mask(PiiType::kIpAddress, "192.168.1.23") == "192.168.*.*");
  CHECK(mask(PiiType::kIpAddress, "2001:db8::1234") == "2001:db8:***");
  CHECK(mask(PiiType::kLocation, "52.520008") == "52.5*****");
  CHECK(mask(PiiType::kLocation, "52.520008,13.404954") == "52.5*****,13.4*****");
  CHECK(mask(PiiType::kEmail, std::string("\x01\xff@x", 4)) == "?***@x");
  CHECK(mask(PiiType::kDeviceId, "") == "***");
  CHECK(mask(PiiType::kImei, "12") == "**");  // too short to show 6 and hide anything: all hidden
  CHECK(mask(PiiType::kEmail, std::string(100000, 'a')).size() <= 4096);
}

}  // TEST_SUITE
