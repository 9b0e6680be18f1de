#include "rules/report/redact.h"

#include <doctest/doctest.h>

namespace flowaudit::rules::report {

TEST_SUITE("rules.report") {

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

TEST_CASE("messages: every URL or path token is redacted, the rest is left alone") {
  CHECK(redact_text("Plaintext POST http://a.example/r?uid=42 (253 bytes) to x") ==
        "Plaintext POST http://a.example/r?uid=REDACTED (253 bytes) to x");
  CHECK(redact_text("GET /p?q=1, then /x") == "GET /p?q=REDACTED, then /x");
  CHECK(redact_text("3.173.21.63:443 TLS 1.2/1.3") == "3.173.21.63:443 TLS 1.2/1.3");
  CHECK(redact_text("GET /p?q=1", false) == "GET /p?q=1");
}

}  // TEST_SUITE
}  // namespace flowaudit::rules::report
