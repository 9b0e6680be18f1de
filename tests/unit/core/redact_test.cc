#include "core/redact.h"

#include <doctest/doctest.h>

namespace flowaudit::core {

TEST_SUITE("core.redact") {

TEST_CASE("request targets keep their shape, lose their identifiers") {
  CHECK(redact_target("/service/2/device_register/") == "/service/2/device_register/");
  CHECK(redact_target("/api/v0/chat/completion") == "/api/v0/chat/completion");
  CHECK(redact_target("/collect?device_id=abc123&os=ios&flag") == "/collect?device_id=REDACTED&os=REDACTED&flag");
  CHECK(redact_target("/u/3f2a9c4e5b6d7e8f90a1/profile") == "/u/REDACTED/profile");
  CHECK(redact_target("/u/123e4567-e89b-12d3-a456-426614174000") == "/u/REDACTED");
  CHECK(redact_target("/mail/alice@example.com/x") == "/mail/REDACTED/x");
  CHECK(redact_target("/t/eyJhbGciOiJIUzI1NiJ9abc123XYZ_-") == "/t/REDACTED");
  CHECK(redact_target("/s/x.woff2#section") == "/s/x.woff2");
  CHECK(redact_target("/a?empty=&k=v") == "/a?empty=&k=REDACTED");
  CHECK(redact_target("http://gator.volces.com/service/2/x?id=7") == "http://gator.volces.com/service/2/x?id=REDACTED");
  CHECK(redact_target("/collect?device_id=abc123", false) == "/collect?device_id=abc123");
  CHECK(redact_target("") == "");
  CHECK(redact_target("?") == "?");
}

// Hostile request targets: whatever the separators, brackets, encodings or lengths, no value and
// no identifier gets through (issue 11: a ')' in a value used to stop redaction of the message).
TEST_CASE("hostile request targets: every value, fragment and identifier is redacted") {
  struct Case {
    std::string_view target;
    std::string_view expected;
  };
  const std::string long_value(5000, 'A');
  const std::string long_target = "/p?k=" + long_value + "&email=alice@example.com";
  const std::string long_segment = "/files/" + std::string(200, 'x') + "/v";
  const Case cases[] = {
      {"/u?f=(x)&email=alice@example.com", "/u?f=REDACTED&email=REDACTED"},
      {"/u?f=[x]&g={y}&h=<z>&email=alice@example.com", "/u?f=REDACTED&g=REDACTED&h=REDACTED&email=REDACTED"},
      {"/u?q=a%26email%3Dalice%40example.com", "/u?q=REDACTED"},
      {"/u?a%3Dalice=1", "/u?REDACTED=REDACTED"},
      {"/u;jsessionid=ABC123?x=1;y=2", "/u;jsessionid=REDACTED?x=REDACTED;y=REDACTED"},
      {"/u?id=1&id=2&id=3", "/u?id=REDACTED&id=REDACTED&id=REDACTED"},
      {long_target, "/p?k=REDACTED&email=REDACTED"},
      {long_segment, "/files/REDACTED/v"},
      {"/u/\xff\xfe?x=\xc3", "/u/REDACTED?x=REDACTED"},
      {"/u/a\x1b]0;t\x07?x=1", "/u/REDACTED;REDACTED?x=REDACTED"},
      {"/u?x=1#email=alice@example.com", "/u?x=REDACTED"},
      {"/page#/user/alice@example.com", "/page"},
      {"http://host.example/p?q=1", "http://host.example/p?q=REDACTED"},
      {"http://user:secret@host.example/p?q=1", "http://REDACTED@host.example/p?q=REDACTED"},
      {"HTTPS://host.example:8443/a/alice%40example.com/b", "HTTPS://host.example:8443/a/REDACTED/b"},
      {"http://host.example?q=1", "http://host.example?q=REDACTED"},
      {"/token=eyJhbGciOiJIUzI1NiJ9/x", "/token=REDACTED/x"},
      {"/u?12345678", "/u?REDACTED"},
      {"/u?debug&x=1", "/u?debug&x=REDACTED"},
      {"host.example:443", "host.example:443"},
      {"*", "*"},
      {"/a%2Fb%2Falice%40example.com", "/REDACTED"},
      {"/u?&&;=&=x", "/u?&&;=&=REDACTED"},
  };
  for (const auto& c : cases) {
    INFO(std::string(c.target.substr(0, 80)));
    const std::string out = redact_target(c.target);
    CHECK(out == c.expected);
    CHECK(out.find("alice") == std::string::npos);
    CHECK(redact_target(c.target, false) == c.target);
  }
}

}  // TEST_SUITE
}  // namespace flowaudit::core

TEST_CASE("redact: segments made mostly of seven digits or more are identifiers (phones, IMEIs, MACs, IPs)") {
  using flowaudit::core::redact_target;
  CHECK(redact_target("/phone/+8613812345612/imei/490154203237518", true) == "/phone/REDACTED/imei/REDACTED");
  CHECK(redact_target("/mac/02:00:5e:10:00:01/ip/192.168.1.23", true) == "/mac/REDACTED/ip/REDACTED");
  CHECK(redact_target("/user/1234567/orders", true) == "/user/REDACTED/orders");
  // Names, versions and hashed asset names stay.
  CHECK(redact_target("/v1.2.3.4/icon@2x.png", true) == "/v1.2.3.4/REDACTED");  // '@': email-like, as before
  CHECK(redact_target("/s/inter/v13/UcC73FwrK3iLTeHuS_fvQtMwCp50KnMa1ZL7.woff2", true) ==
        "/s/inter/v13/UcC73FwrK3iLTeHuS_fvQtMwCp50KnMa1ZL7.woff2");
  CHECK(redact_target("/api/v0/chat/123456", true) == "/api/v0/chat/123456");  // six digits: a name may have them
}
