#include "analysis/flow/audit_clock.h"

#include <doctest/doctest.h>

#include <limits>
#include <string>
#include <vector>

using namespace flowaudit::analysis::flow;
using flowaudit::core::kNsPerSecond;
using flowaudit::core::TimestampNs;

namespace {

constexpr TimestampNs kS = kNsPerSecond;
constexpr TimestampNs kGap = 300 * kS;  // the longest idle timeout
constexpr TimestampNs k2023 = 1'685'000'000 * kS;
constexpr TimestampNs k2020 = 1'590'000'000 * kS;

}  // namespace

TEST_SUITE("analysis.flow.audit_clock") {
  TEST_CASE("follows a capture clock that only moves forward") {
    AuditClock c(kGap);
    CHECK(c.tick(k2020, 0, 0) == 0);
    CHECK(c.tick(k2020 + 5 * kS, 0, 0) == 5 * kS);
    CHECK(c.tick(k2020 + 7 * kS, 0, 0) == 7 * kS);
    CHECK_FALSE(c.stats().any());
    CHECK(c.stats().clocks == 1);
    CHECK(c.stats().elapsed_ns == 7 * kS);
  }

  TEST_CASE("a jump back is a step of zero, counted and listed with its input and packet number") {
    AuditClock c(kGap);
    c.tick(k2023, 0, 0);
    c.tick(k2023 + 2 * kS, 0, 0);
    CHECK(c.tick(k2020, 1, 0) == 2 * kS);           // the next file, three years earlier
    CHECK(c.tick(k2020 + 3 * kS, 1, 0) == 5 * kS);  // and time goes on from there
    const ClockStats& s = c.stats();
    CHECK(s.jumps_back == 1);
    CHECK(s.largest_back_ns == k2023 + 2 * kS - k2020);
    CHECK(s.forward_gaps == 0);
    REQUIRE(s.listed.size() == 1);
    CHECK(s.listed[0].input == 1);
    CHECK(s.listed[0].packet == 1);
    CHECK(s.listed[0].from_ns == k2023 + 2 * kS);
    CHECK(s.listed[0].to_ns == k2020);
    const auto w = clock_warnings(s, {"a.pcap", "b.pcap"});
    REQUIRE(w.size() == 1);
    CHECK(w[0].find("b.pcap: packet 1: starts 3.0 years before the input before it ends") == 0);
    CHECK(w[0].find("2023-05-25T07:33:22.000000Z -> 2020-05-20T18:40:00.000000Z") != std::string::npos);
  }

  TEST_CASE("packet numbers count within each input") {
    AuditClock c(kGap);
    c.tick(k2023, 0, 0);
    c.tick(k2023 + kS, 0, 0);
    c.tick(k2023 + 2 * kS, 1, 0);
    c.tick(k2023 + 3 * kS, 1, 0);
    c.tick(k2020, 1, 0);
    REQUIRE(c.stats().listed.size() == 1);
    CHECK(c.stats().listed[0].input == 1);
    CHECK(c.stats().listed[0].packet == 3);
  }

  TEST_CASE("reordering within a second is not a jump and costs no time") {
    AuditClock c(kGap);
    c.tick(k2020, 0, 0);
    c.tick(k2020 + 10 * kS, 0, 0);
    CHECK(c.tick(k2020 + 10 * kS - kS / 2, 0, 0) == 10 * kS);
    CHECK(c.tick(k2020 + 10 * kS + kS / 4, 0, 0) == 10 * kS + kS / 4);  // measured from the latest
    CHECK(c.stats().reordered == 1);
    CHECK(c.stats().jumps_back == 0);
  }

  TEST_CASE("a stray packet stamped in the past: the return to the timeline is not a gap") {
    AuditClock c(kGap);
    c.tick(k2023, 0, 0);
    c.tick(0, 0, 0);  // stamped 1970
    CHECK(c.tick(k2023 + kS, 0, 0) == kS);
    CHECK(c.stats().jumps_back == 1);
    CHECK(c.stats().forward_gaps == 0);
    // Slightly before the latest timestamp (reordered around the stray): no time, no gap.
    c.tick(0, 0, 0);
    CHECK(c.tick(k2023 + kS / 2, 0, 0) == kS);
    CHECK(c.stats().forward_gaps == 0);
  }

  TEST_CASE("a step forward past the idle timeouts is a gap: time passes") {
    AuditClock c(kGap);
    c.tick(k2020, 0, 0);
    CHECK(c.tick(k2023, 1, 0) == k2023 - k2020);
    CHECK(c.stats().forward_gaps == 1);
    CHECK(c.stats().largest_forward_ns == k2023 - k2020);
    // After a jump back, a later file further on still counts from where the clock was.
    c.tick(k2020, 2, 0);
    CHECK(c.tick(k2020 + 400 * kS, 2, 0) == k2023 - k2020 + 400 * kS);
    CHECK(c.stats().forward_gaps == 2);
  }

  TEST_CASE("interfaces keep their own clocks: two devices an hour apart") {
    AuditClock c(kGap);
    TimestampNs now = 0;
    for (int i = 0; i < 100; ++i) {
      now = c.tick(k2023 + i * kS, 0, 0);
      now = c.tick(k2023 - 3600 * kS + i * kS + kS / 2, 0, 1);
    }
    CHECK(now == 99 * kS);
    CHECK(c.stats().clocks == 2);
    CHECK_FALSE(c.stats().any());
  }

  TEST_CASE("interface ids past the last clock share it") {
    AuditClock c(kGap);
    c.tick(k2020, 0, 5000);
    c.tick(k2020 + kS, 0, AuditClock::kMaxClocks - 1);
    CHECK(c.stats().clocks == 1);
    CHECK(c.now() == kS);
  }

  TEST_CASE("the list of jumps is bounded and the warnings say how many more") {
    AuditClock c(kGap);
    for (int i = 0; i < 20; ++i) {
      c.tick(k2023, 0, 0);
      c.tick(k2020, 0, 0);
    }
    CHECK(c.stats().jumps_back == 20);
    CHECK(c.stats().listed.size() == ClockStats::kMaxListed);
    const auto w = clock_warnings(c.stats(), {"x.pcap"});
    REQUIRE(w.size() == ClockStats::kMaxListed + 1);
    CHECK(w.back().find("12 more clock jumps back not listed (largest 3.0 years") == 0);
  }

  TEST_CASE("extreme timestamps from a damaged file do not overflow") {
    constexpr TimestampNs kMin = std::numeric_limits<TimestampNs>::min();
    constexpr TimestampNs kMax = std::numeric_limits<TimestampNs>::max();
    AuditClock c(kGap);
    c.tick(kMin, 0, 0);
    CHECK(c.tick(kMax, 0, 0) == kMax);
    CHECK(c.tick(kMin, 0, 0) == kMax);
    CHECK(c.tick(kMax, 0, 0) == kMax);
    CHECK(c.stats().jumps_back == 1);
    CHECK(c.stats().largest_back_ns == kMax);
    CHECK(format_duration(c.stats().listed[0].back_ns()).find("years") != std::string::npos);
  }

  TEST_CASE("durations for a reader") {
    CHECK(format_duration(1'250'000'000) == "1.250 s");
    CHECK(format_duration(150ull * 1'000'000'000) == "2.5 min");
    CHECK(format_duration(9000ull * 1'000'000'000) == "2.5 h");
    CHECK(format_duration(3ull * 86400 * 1'000'000'000) == "3.0 days");
  }
}
