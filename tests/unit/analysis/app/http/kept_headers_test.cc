#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "analysis/app/http/http1_connection.h"

namespace http = flowaudit::analysis::http;

namespace {

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

TEST_CASE("kept headers: an HTTP/1.1 request's fields are kept lower-cased for inspection, within limits") {
  http::Http1Connection c;
  c.on_bytes(true, bytes("GET /a HTTP/1.1\r\nHost: x.example\r\nCookie: uid=42; s=abc\r\nX-Device-ID: 0123\r\n\r\n"));
  auto& ex = c.exchanges();
  REQUIRE(ex.size() == 1);
  const auto& h = ex[0].request_headers;
  REQUIRE(h.size() == 3);
  CHECK(h[0] == std::make_pair(std::string("host"), std::string("x.example")));
  CHECK(h[1] == std::make_pair(std::string("cookie"), std::string("uid=42; s=abc")));
  CHECK(h[2].first == "x-device-id");
  CHECK(ex[0].request_headers_cut == 0);
}

TEST_CASE("kept headers: pseudo-headers are not kept; past the limits fields are counted, not kept") {
  http::Exchange e;
  e.header_field(true, ":method", "POST");
  e.header_field(true, ":path", "/chat");
  e.header_field(true, "user-agent", "app/1.0");
  e.header_field(false, "set-cookie", "a=b");  // a response's fields are not the request's
  REQUIRE(e.request_headers.size() == 1);
  CHECK(e.method == "POST");
  const std::string big(http::Exchange::kMaxKeptHeaderBytes, 'v');
  e.header_field(true, "x-big", big);
  CHECK(e.request_headers.size() == 1);
  CHECK(e.request_headers_cut == 1);
  for (std::size_t i = 0; i < http::Exchange::kMaxKeptHeaders + 5; ++i) e.header_field(true, "x-n", "1");
  CHECK(e.request_headers.size() == http::Exchange::kMaxKeptHeaders);
  CHECK(e.request_header_bytes <= http::Exchange::kMaxKeptHeaderBytes);
}
