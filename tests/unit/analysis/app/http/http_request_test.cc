#include "analysis/app/http/http_request.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

using namespace flowaudit::analysis::http;
using flowaudit::analysis::app::ParseStatus;

namespace {

std::vector<std::uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

// Parses an exact-size heap copy (AddressSanitizer then sees any read past the end); the views in
// `out` point into `keep`.
ParseStatus parse(std::string_view text, Request& out, std::vector<std::uint8_t>& keep) {
  keep = bytes_of(text);
  return parse_request(keep, out);
}

ParseStatus parse(std::string_view text) {
  std::vector<std::uint8_t> keep;
  Request r;
  return parse(text, r, keep);
}

void check_prefixes_need_more(std::string_view text) {
  for (std::size_t n = 0; n < text.size(); ++n) {
    CAPTURE(n);
    CHECK(parse(text.substr(0, n)) == ParseStatus::kNeedMore);
  }
  CHECK(parse(text) == ParseStatus::kOk);
}

// The request in tests/data/http-post.pcap, as curl sent it.
constexpr std::string_view kTelemetry =
    "POST /service/2/device_register/ HTTP/1.1\r\n"
    "Host: gator.volces.com\r\n"
    "User-Agent: curl/7.88.1\r\n"
    "Accept: */*\r\n"
    "Content-Type: application/json\r\n"
    "x-rangers-id: 489823\r\n"
    "Content-Length: 108\r\n"
    "\r\n"
    "{\"device_id\":";

}  // namespace

TEST_SUITE("analysis.app.http.request") {
  TEST_CASE("HTTP: looks_like_request") {
    for (const char* m : {"GET ", "POST ", "PUT ", "DELETE ", "HEAD ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "}) {
      CAPTURE(m);
      CHECK(looks_like_request(bytes_of(std::string(m) + "/ HTTP/1.1\r\n")));
      CHECK(looks_like_request(bytes_of(m)));
    }
    CHECK_FALSE(looks_like_request(bytes_of("GET")));
    CHECK_FALSE(looks_like_request(bytes_of("GET\t/")));
    CHECK_FALSE(looks_like_request(bytes_of("get / HTTP/1.1")));
    CHECK_FALSE(looks_like_request(bytes_of("PROPFIND / HTTP/1.1")));
    CHECK_FALSE(looks_like_request(bytes_of("\x16\x03\x01\x02\x00")));
    CHECK_FALSE(looks_like_request({}));
  }

  TEST_CASE("HTTP: request_start decides within 8 bytes; a method's proper prefix needs more") {
    using flowaudit::analysis::app::ParseStatus;
    for (const char* m : {"GET ", "POST ", "PUT ", "DELETE ", "HEAD ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "}) {
      const std::string full(m);
      CAPTURE(full);
      CHECK(full.size() <= 8);
      for (std::size_t n = 0; n < full.size(); ++n) CHECK(request_start(bytes_of(full.substr(0, n))) == ParseStatus::kNeedMore);
      CHECK(request_start(bytes_of(full)) == ParseStatus::kOk);
    }
    CHECK(request_start(bytes_of("G")) == ParseStatus::kNeedMore);
    CHECK(request_start(bytes_of("X")) == ParseStatus::kMalformed);
    CHECK(request_start(bytes_of("GEX")) == ParseStatus::kMalformed);
    CHECK(request_start(bytes_of("GET\t")) == ParseStatus::kMalformed);
    CHECK(request_start(bytes_of("\x16")) == ParseStatus::kMalformed);
  }

  TEST_CASE("HTTP: a POST with the headers that matter") {
    std::vector<std::uint8_t> keep;
    Request r;
    REQUIRE(parse(kTelemetry, r, keep) == ParseStatus::kOk);
    CHECK(r.method == "POST");
    CHECK(r.target == "/service/2/device_register/");
    CHECK(r.version_minor == 1);
    CHECK(r.host == "gator.volces.com");
    CHECK(r.user_agent == "curl/7.88.1");
    CHECK(r.content_type == "application/json");
    CHECK(r.content_length == 108);
    CHECK(r.header_count == 6);
    // Views into the input.
    CHECK(r.host.data() >= reinterpret_cast<const char*>(keep.data()));
    CHECK(r.host.data() + r.host.size() <= reinterpret_cast<const char*>(keep.data() + keep.size()));
    check_prefixes_need_more(kTelemetry.substr(0, kTelemetry.find("\r\n\r\n") + 4));
  }

  TEST_CASE("HTTP: names case-insensitive, values trimmed, bare LF, absolute target") {
    constexpr std::string_view text =
        "GET http://example.com/x?y=1 HTTP/1.0\n"
        "hOsT:example.com:8080 \t\n"
        "USER-AGENT: \t Mozilla/5.0 (X11)\n"
        "content-type:\ttext/plain\r\n"
        "X-Empty:\n"
        "\n";
    std::vector<std::uint8_t> keep;
    Request r;
    REQUIRE(parse(text, r, keep) == ParseStatus::kOk);
    CHECK(r.method == "GET");
    CHECK(r.target == "http://example.com/x?y=1");
    CHECK(r.version_minor == 0);
    CHECK(r.host == "example.com:8080");
    CHECK(r.user_agent == "Mozilla/5.0 (X11)");
    CHECK(r.content_type == "text/plain");
    CHECK(r.content_length == -1);
    CHECK(r.header_count == 4);
    check_prefixes_need_more(text);
  }

  TEST_CASE("HTTP: request without headers; the first Host counts") {
    std::vector<std::uint8_t> keep;
    Request r;
    REQUIRE(parse("OPTIONS * HTTP/1.1\r\n\r\n", r, keep) == ParseStatus::kOk);
    CHECK(r.target == "*");
    CHECK(r.header_count == 0);
    CHECK(r.host.empty());
    REQUIRE(parse("GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n", r, keep) == ParseStatus::kOk);
    CHECK(r.host == "a.example");
  }

  TEST_CASE("HTTP: Content-Length") {
    const auto length = [](std::string_view headers) {
      std::vector<std::uint8_t> keep;
      Request r;
      const std::string text = "POST / HTTP/1.1\r\n" + std::string(headers) + "\r\n";
      REQUIRE(parse(text, r, keep) == ParseStatus::kOk);
      return r.content_length;
    };
    CHECK(length("Content-Length: 0\r\n") == 0);
    CHECK(length("Content-Length: 00042\r\n") == 42);
    CHECK(length("content-length: 9223372036854775807\r\n") == INT64_MAX);
    CHECK(length("Content-Length: 9223372036854775808\r\n") == -1);
    CHECK(length("Content-Length: 99999999999999999999999\r\n") == -1);
    CHECK(length("Content-Length: -1\r\n") == -1);
    CHECK(length("Content-Length: +5\r\n") == -1);
    CHECK(length("Content-Length: 5, 5\r\n") == -1);
    CHECK(length("Content-Length: 0x10\r\n") == -1);
    CHECK(length("Content-Length:\r\n") == -1);
    CHECK(length("Content-Length: 7\r\nContent-Length: 7\r\n") == 7);
    CHECK(length("Content-Length: 7\r\nContent-Length: 8\r\n") == -1);
    CHECK(length("Content-Length: 7\r\nContent-Length: 8\r\nContent-Length: 7\r\n") == -1);
    CHECK(length("Content-Length: x\r\nContent-Length: 7\r\n") == -1);
  }

  TEST_CASE("HTTP: malformed request lines") {
    CHECK(parse("GET /\r\n\r\n") == ParseStatus::kMalformed);           // HTTP/0.9
    CHECK(parse("GET / HTTP/2.0\r\n\r\n") == ParseStatus::kMalformed);
    CHECK(parse("GET / HTTP/1.1 \r\n\r\n") == ParseStatus::kMalformed);
    CHECK(parse("GET  / HTTP/1.1\r\n\r\n") == ParseStatus::kMalformed);  // empty target
    CHECK(parse("GET /a b HTTP/1.1\r\n\r\n") == ParseStatus::kMalformed);
    CHECK(parse("GE(T / HTTP/1.1\r\n\r\n") == ParseStatus::kMalformed);
    CHECK(parse("\r\nGET / HTTP/1.1\r\n\r\n") == ParseStatus::kMalformed);
    CHECK(parse("GET /\x01 HTTP/1.1\r\n\r\n") == ParseStatus::kMalformed);
    CHECK(parse("HTTP/1.1 200 OK\r\n\r\n") == ParseStatus::kMalformed);
    // Already hopeless before the line ends.
    CHECK(parse("\x16\x03\x01\x02\x00\x01") == ParseStatus::kMalformed);
    CHECK(parse("GET") == ParseStatus::kNeedMore);
    CHECK(parse("GET /very/long/target") == ParseStatus::kNeedMore);
  }

  TEST_CASE("HTTP: a request line without a target still gives its Host (no-uri.pcap)") {
    Request r;
    std::vector<std::uint8_t> keep;
    CHECK(parse("GET HTTP/1.1\r\nUser-Agent: Wget/1.14\r\nHost: bro.org\r\n\r\n", r, keep) == ParseStatus::kOk);
    CHECK(r.method == "GET");
    CHECK(r.target.empty());
    CHECK(r.host == "bro.org");
    CHECK(r.version_minor == 1);
    CHECK(parse("GET HTTP/2.0\r\n\r\n") == ParseStatus::kMalformed);
    CHECK(parse("G(T HTTP/1.1\r\n\r\n") == ParseStatus::kMalformed);
    CHECK(parse("GET HTTP/1.1 \r\n\r\n") == ParseStatus::kMalformed);
  }

  TEST_CASE("HTTP: malformed headers") {
    const auto headers = [](std::string_view h) { return parse("GET / HTTP/1.1\r\n" + std::string(h) + "\r\n"); };
    CHECK(headers("Host: a\r\n") == ParseStatus::kOk);
    CHECK(headers("Host : a\r\n") == ParseStatus::kMalformed);       // space before the colon
    CHECK(headers("X Y: a\r\n") == ParseStatus::kMalformed);         // space in the name
    CHECK(headers("Host: a\r\n b\r\n") == ParseStatus::kMalformed);  // obs-fold
    CHECK(headers("Host: a\r\n\tb\r\n") == ParseStatus::kMalformed);
    {  // the request line and the headers before a broken one are kept; a broken request line is not
      Request r;
      std::vector<std::uint8_t> keep;
      CHECK(parse("POST /x HTTP/1.1\r\nHost: a.example\r\n b\r\n\r\n", r, keep) == ParseStatus::kMalformed);
      CHECK(r.method == "POST");
      CHECK(r.host == "a.example");
      CHECK(parse("POST /x HTTP/2.0\r\nHost: a\r\n\r\n", r, keep) == ParseStatus::kMalformed);
      CHECK(r.method.empty());
    }
    CHECK(headers("NoColon\r\n") == ParseStatus::kMalformed);
    CHECK(headers(": value\r\n") == ParseStatus::kMalformed);
    CHECK(headers(std::string("X: a\0b\r\n", 8)) == ParseStatus::kMalformed);
    CHECK(headers("X: a\rb\r\n") == ParseStatus::kMalformed);
    CHECK(headers("X: caf\xc3\xa9\r\n") == ParseStatus::kOk);  // obs-text
  }

  TEST_CASE("HTTP: header count and size limits") {
    std::string many = "GET / HTTP/1.1\r\n";
    for (std::size_t i = 0; i < kMaxHeaders; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
    CHECK(parse(many + "\r\n") == ParseStatus::kOk);
    // Past the limits the parse stops but keeps what it read: the request is still reported.
    CHECK(parse("POST /up HTTP/1.1\r\nHost: a.example\r\n" + many.substr(16) + "X-Last: v\r\n\r\n") ==
          ParseStatus::kLimit);
    {
      Request r;
      std::vector<std::uint8_t> keep;
      CHECK(parse("POST /up HTTP/1.1\r\nHost: a.example\r\n" + many.substr(16) + "\r\n", r, keep) ==
            ParseStatus::kLimit);
      CHECK(r.method == "POST");
      CHECK(r.target == "/up");
      CHECK(r.host == "a.example");
      CHECK(r.header_count == kMaxHeaders);
    }

    std::string big = "GET / HTTP/1.1\r\nX-Big: ";
    const std::string end = "\r\n\r\n";
    big += std::string(kMaxHeaderBytes - big.size() - end.size(), 'a');
    CHECK(parse(big + end) == ParseStatus::kOk);  // exactly kMaxHeaderBytes
    CHECK(parse(big + "a" + end) == ParseStatus::kLimit);
    CHECK(parse(big) == ParseStatus::kNeedMore);
    CHECK(parse(big + std::string(10, 'a')) == ParseStatus::kLimit);  // the limit reached without the blank line
    CHECK(parse(std::string(kMaxHeaderBytes, 'G')) == ParseStatus::kMalformed);
    {  // a request line longer than the limit: its method and the start of its target
      Request r;
      std::vector<std::uint8_t> keep;
      CHECK(parse("GET /" + std::string(kMaxHeaderBytes, 'a'), r, keep) == ParseStatus::kLimit);
      CHECK(r.method == "GET");
      CHECK(r.target.size() == kMaxHeaderBytes - 4);
      CHECK(parse("GET  " + std::string(kMaxHeaderBytes, 'a')) == ParseStatus::kMalformed);
    }
  }

  TEST_CASE("authority_host: the host of an authority, without port or IPv6 brackets") {
    CHECK(authority_host("chat.deepseek.com") == "chat.deepseek.com");
    CHECK(authority_host("chat.deepseek.com:8443") == "chat.deepseek.com");
    CHECK(authority_host("[2001:db8::1]:443") == "2001:db8::1");
    CHECK(authority_host("[2001:db8::1]") == "2001:db8::1");
    CHECK(authority_host("[2001:db8::1") == "2001:db8::1");  // unclosed: the rest
    CHECK(authority_host("2001:db8::1") == "2001:db8::1");    // bare IPv6: no port to take off
    CHECK(authority_host("") == "");
  }
}
