// DNS-over-TCP framing on its own: messages cut anywhere, several in one read, the stop the
// handler asks for, and the buffer limit.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <span>
#include <vector>

#include "analysis/app/dns/tcp_framing.h"
#include "unit/analysis/app/dns/dns_builder.h"

using flowaudit::analysis::dns::TcpFraming;
using Bytes = std::vector<std::uint8_t>;

namespace {


struct Collector {
  std::vector<Bytes> messages;
  std::size_t stop_after = 1000;
  bool operator()(std::span<const std::uint8_t> m) {
    messages.emplace_back(m.begin(), m.end());
    return messages.size() < stop_after;
  }
};

}  // namespace

TEST_SUITE("analysis.app.dns.tcp-framing") {
  TEST_CASE("two messages in one read, then one cut at every byte") {
    const Bytes a = {1, 2, 3}, b = {4}, c(300, 7);
    Bytes both = flowaudit::test::dns_tcp_framed(a);
    const Bytes fb = flowaudit::test::dns_tcp_framed(b);
    both.insert(both.end(), fb.begin(), fb.end());
    TcpFraming framing;
    Collector got;
    CHECK(framing.feed(both, std::ref(got)) == TcpFraming::Result::kMore);
    REQUIRE(got.messages.size() == 2);
    CHECK(got.messages[0] == a);
    CHECK(got.messages[1] == b);
    for (const std::uint8_t byte : flowaudit::test::dns_tcp_framed(c)) {
      CHECK(framing.feed(std::span<const std::uint8_t>(&byte, 1), std::ref(got)) == TcpFraming::Result::kMore);
    }
    REQUIRE(got.messages.size() == 3);
    CHECK(got.messages[2] == c);
  }

  TEST_CASE("an empty message is a message") {
    TcpFraming framing;
    Collector got;
    CHECK(framing.feed(Bytes{0, 0}, std::ref(got)) == TcpFraming::Result::kMore);
    REQUIRE(got.messages.size() == 1);
    CHECK(got.messages[0].empty());
  }

  TEST_CASE("the handler stops the reading: no message after it") {
    Bytes three;
    for (std::uint8_t i = 0; i < 3; ++i) {
      const Bytes f = flowaudit::test::dns_tcp_framed(Bytes{i});
      three.insert(three.end(), f.begin(), f.end());
    }
    TcpFraming framing;
    Collector got;
    got.stop_after = 2;
    CHECK(framing.feed(three, std::ref(got)) == TcpFraming::Result::kStopped);
    CHECK(got.messages.size() == 2);
  }

  TEST_CASE("a largest message (65,535 bytes and its prefix) fits, in one run or a byte at a time") {
    Bytes big(2 + 65535, 0x5a);
    big[0] = 0xff;
    big[1] = 0xff;
    const Bytes next = flowaudit::test::dns_tcp_framed(Bytes{7});
    Bytes both = big;
    both.insert(both.end(), next.begin(), next.end());
    for (const std::size_t step : {both.size(), std::size_t{1}, std::size_t{1448}}) {
      TcpFraming framing;
      Collector got;
      for (std::size_t i = 0; i < both.size(); i += step) {
        const std::span<const std::uint8_t> piece(both.data() + i, std::min(step, both.size() - i));
        CHECK(framing.feed(piece, std::ref(got)) == TcpFraming::Result::kMore);
        CHECK(framing.buffered() <= TcpFraming::kMaxBuffered);
      }
      REQUIRE(got.messages.size() == 2);
      CHECK(got.messages[0].size() == 65535);
      CHECK(got.messages[1] == Bytes{7});
      CHECK(framing.buffered() == 0);
    }
  }
}
