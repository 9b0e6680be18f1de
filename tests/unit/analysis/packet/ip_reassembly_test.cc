#include "analysis/packet/ip_reassembly.h"

#include <doctest/doctest.h>

#include <vector>

#include "unit/packet_builder.h"

using namespace flowaudit::analysis::packet;
using flowaudit::core::IpAddress;
using flowaudit::core::kNsPerSecond;
using flowaudit::core::TimestampNs;
using flowaudit::test::Bytes;
using flowaudit::test::payload_bytes;

namespace {

FragmentKey key(std::uint32_t id = 1) {
  return FragmentKey{*IpAddress::parse("10.0.0.2"), *IpAddress::parse("10.0.0.1"), id, 17};
}

struct Harness {
  explicit Harness(ReassemblyConfig c = {}) : r(c) {}
  IpReassembler r;
  AnomalyCounters anomalies;
  std::vector<std::uint8_t> datagram;
  std::uint32_t fragments = 0;
  std::uint64_t wire = 0;

  // Adds bytes [offset, offset + len) of `whole`.
  bool add(const Bytes& whole, std::uint32_t offset, std::size_t len, bool more, TimestampNs now = 0,
           const FragmentKey& k = key()) {
    std::span<const std::uint8_t> out;
    const bool done = r.add(k, offset, more, whole.span().subspan(offset, len), static_cast<std::uint32_t>(20 + len),
                            now, out, fragments, wire, anomalies);
    if (done) datagram.assign(out.begin(), out.end());
    return done;
  }
};

}  // namespace

TEST_SUITE("analysis.packet.ip_reassembly") {
  TEST_CASE("in order") {
    const Bytes whole = payload_bytes(3960, 3);
    Harness h;
    CHECK_FALSE(h.add(whole, 0, 1480, true));
    CHECK(h.r.pending() == 1);
    CHECK(h.r.buffered_bytes() >= 1480);
    CHECK_FALSE(h.add(whole, 1480, 1480, true));
    REQUIRE(h.add(whole, 2960, 1000, false));
    CHECK(h.datagram == whole.vec());
    CHECK(h.fragments == 3);
    CHECK(h.wire == 3960 + 3 * 20);
    CHECK(h.r.pending() == 0);
    CHECK(h.r.buffered_bytes() == 0);
    for (const auto c : h.anomalies.all()) CHECK(c == 0);
  }

  TEST_CASE("out of order") {
    const Bytes whole = payload_bytes(3000, 5);
    Harness h;
    CHECK_FALSE(h.add(whole, 2000, 1000, false));
    CHECK_FALSE(h.add(whole, 0, 1000, true));
    REQUIRE(h.add(whole, 1000, 1000, true));
    CHECK(h.datagram == whole.vec());
    CHECK(h.fragments == 3);
    CHECK(h.r.pending() == 0);
    CHECK(h.r.buffered_bytes() == 0);
  }

  TEST_CASE("a single last fragment at offset 0 is a whole datagram") {
    const Bytes whole = payload_bytes(100);
    Harness h;
    REQUIRE(h.add(whole, 0, 100, false));
    CHECK(h.datagram == whole.vec());
    CHECK(h.fragments == 1);
  }

  TEST_CASE("duplicate fragment") {
    const Bytes whole = payload_bytes(2000, 1);
    Harness h;
    CHECK_FALSE(h.add(whole, 0, 1000, true));
    CHECK_FALSE(h.add(whole, 0, 1000, true));
    CHECK(h.anomalies.get(Anomaly::kFragmentOverlap) == 1);
    REQUIRE(h.add(whole, 1000, 1000, false));
    CHECK(h.datagram == whole.vec());
    CHECK(h.fragments == 3);  // every fragment taken counts
  }

  TEST_CASE("overlap: counted, the first data wins") {
    const Bytes whole = payload_bytes(48, 0);
    Bytes other = payload_bytes(48, 100);  // different bytes for the same range
    Harness h;
    CHECK_FALSE(h.add(whole, 0, 24, true));
    std::span<const std::uint8_t> out;
    // [16, 40) overlaps [0, 24) by 8 bytes; its first 8 bytes must not replace what is there.
    CHECK_FALSE(h.r.add(key(), 16, true, other.span().subspan(16, 24), 44, 0, out, h.fragments, h.wire, h.anomalies));
    CHECK(h.anomalies.get(Anomaly::kFragmentOverlap) == 1);
    REQUIRE(h.add(whole, 40, 8, false));
    REQUIRE(h.datagram.size() == 48);
    for (std::size_t i = 0; i < 24; ++i) CHECK(h.datagram[i] == whole[i]);
    for (std::size_t i = 24; i < 40; ++i) CHECK(h.datagram[i] == other[i]);
    for (std::size_t i = 40; i < 48; ++i) CHECK(h.datagram[i] == whole[i]);
  }

  TEST_CASE("a fragment spanning two earlier ones fills only the gap") {
    const Bytes whole = payload_bytes(64, 0);
    const Bytes other = payload_bytes(64, 50);
    Harness h;
    CHECK_FALSE(h.add(whole, 0, 16, true));
    CHECK_FALSE(h.add(whole, 32, 16, true));
    std::span<const std::uint8_t> out;
    CHECK_FALSE(h.r.add(key(), 8, true, other.span().subspan(8, 48), 68, 0, out, h.fragments, h.wire, h.anomalies));
    REQUIRE(h.add(whole, 56, 8, false));
    REQUIRE(h.datagram.size() == 64);
    for (std::size_t i = 0; i < 16; ++i) CHECK(h.datagram[i] == whole[i]);
    for (std::size_t i = 16; i < 32; ++i) CHECK(h.datagram[i] == other[i]);
    for (std::size_t i = 32; i < 48; ++i) CHECK(h.datagram[i] == whole[i]);
    for (std::size_t i = 48; i < 56; ++i) CHECK(h.datagram[i] == other[i]);
    CHECK(h.anomalies.get(Anomaly::kFragmentOverlap) >= 1);
  }

  TEST_CASE("last fragments that disagree on the end drop the datagram") {
    const Bytes whole = payload_bytes(2000);
    Harness h;
    CHECK_FALSE(h.add(whole, 1000, 1000, false));
    CHECK_FALSE(h.add(whole, 1000, 500, false));
    CHECK(h.anomalies.get(Anomaly::kFragmentOverlap) == 1);
    CHECK(h.r.pending() == 0);
    CHECK(h.r.buffered_bytes() == 0);
  }

  TEST_CASE("data past the known end drops the datagram") {
    const Bytes whole = payload_bytes(3000);
    Harness h;
    CHECK_FALSE(h.add(whole, 1000, 1000, false));  // the end is 2000
    CHECK_FALSE(h.add(whole, 1600, 1000, true));
    CHECK(h.anomalies.get(Anomaly::kFragmentOverlap) == 1);
    CHECK(h.r.pending() == 0);
  }

  TEST_CASE("memory limit") {
    ReassemblyConfig c;
    c.memory_limit = 4000;
    const Bytes whole = payload_bytes(8000);
    Harness h(c);
    CHECK_FALSE(h.add(whole, 0, 3000, true, 0, key(1)));
    CHECK(h.r.buffered_bytes() <= 4000);
    CHECK_FALSE(h.add(whole, 0, 3000, true, 0, key(2)));  // would take 6000 bytes
    CHECK(h.anomalies.get(Anomaly::kFragmentMemoryLimit) == 1);
    CHECK(h.r.pending() == 1);
    CHECK_FALSE(h.add(whole, 3000, 2000, true, 0, key(1)));  // grows the first past the limit
    CHECK(h.anomalies.get(Anomaly::kFragmentMemoryLimit) == 2);
    CHECK(h.r.pending() == 0);
    CHECK(h.r.buffered_bytes() == 0);
    // Within the limit again, a datagram completes.
    CHECK_FALSE(h.add(whole, 0, 1000, true, 0, key(3)));
    CHECK(h.add(whole, 1000, 1000, false, 0, key(3)));
  }

  TEST_CASE("max datagrams drops the oldest") {
    ReassemblyConfig c;
    c.max_datagrams = 2;
    const Bytes whole = payload_bytes(200);
    Harness h(c);
    CHECK_FALSE(h.add(whole, 0, 100, true, 1, key(1)));
    CHECK_FALSE(h.add(whole, 0, 100, true, 2, key(2)));
    CHECK_FALSE(h.add(whole, 0, 100, true, 3, key(3)));
    CHECK(h.r.pending() == 2);
    CHECK(h.anomalies.get(Anomaly::kFragmentMemoryLimit) == 1);
    CHECK_FALSE(h.add(whole, 100, 100, false, 4, key(1)));  // its first half is gone
    CHECK(h.add(whole, 100, 100, false, 5, key(3)));
    CHECK(h.datagram == whole.vec());
  }

  TEST_CASE("timeout") {
    const Bytes whole = payload_bytes(200);
    Harness h;  // 30 s
    CHECK_FALSE(h.add(whole, 0, 100, true, 0, key(1)));
    CHECK_FALSE(h.add(whole, 0, 100, true, 20 * kNsPerSecond, key(2)));
    CHECK(h.r.pending() == 2);
    // At 31 s the first is stale, the second is not.
    CHECK_FALSE(h.add(whole, 100, 100, false, 31 * kNsPerSecond, key(1)));
    CHECK(h.anomalies.get(Anomaly::kFragmentTimeout) == 1);
    CHECK(h.add(whole, 100, 100, false, 31 * kNsPerSecond, key(2)));
    CHECK(h.r.pending() == 1);  // key 1's late fragment waits for its lost first half
    CHECK_FALSE(h.add(whole, 0, 8, true, 100 * kNsPerSecond, key(9)));
    CHECK(h.anomalies.get(Anomaly::kFragmentTimeout) == 2);
    CHECK(h.r.pending() == 1);
  }

  TEST_CASE("too many fragments") {
    ReassemblyConfig c;
    c.max_fragments = 4;
    const Bytes whole = payload_bytes(80);
    Harness h(c);
    for (std::uint32_t i = 0; i < 4; ++i) CHECK_FALSE(h.add(whole, i * 16, 8, true));
    CHECK(h.r.pending() == 1);
    CHECK_FALSE(h.add(whole, 72, 8, false));
    CHECK(h.anomalies.get(Anomaly::kFragmentTooMany) == 1);
    CHECK(h.r.pending() == 0);
    CHECK(h.r.buffered_bytes() == 0);
    // Exactly max_fragments completes.
    Harness ok(c);
    for (std::uint32_t i = 0; i < 3; ++i) CHECK_FALSE(ok.add(whole, i * 20, 20, true));
    CHECK(ok.add(whole, 60, 20, false));
    CHECK(ok.fragments == 4);
  }

  TEST_CASE("datagram larger than 65535 bytes") {
    const Bytes whole = payload_bytes(65536 + 8);
    Harness h;
    CHECK_FALSE(h.add(whole, 65528, 16, false));
    CHECK(h.anomalies.get(Anomaly::kFragmentTooLarge) == 1);
    CHECK(h.r.pending() == 0);
    CHECK(h.add(whole, 0, 65535, false));  // exactly the largest is fine
    CHECK(h.datagram.size() == 65535);
  }

  TEST_CASE("fragments of different datagrams do not mix") {
    const Bytes a = payload_bytes(100, 1);
    const Bytes b = payload_bytes(100, 2);
    Harness h;
    FragmentKey other_proto = key(1);
    other_proto.protocol = 6;
    FragmentKey other_src = key(1);
    other_src.src = *IpAddress::parse("10.0.0.3");
    CHECK_FALSE(h.add(a, 0, 50, true, 0, key(1)));
    CHECK_FALSE(h.add(b, 50, 50, false, 0, other_proto));
    CHECK_FALSE(h.add(b, 50, 50, false, 0, other_src));
    CHECK_FALSE(h.add(b, 50, 50, false, 0, key(2)));
    CHECK(h.r.pending() == 4);
    REQUIRE(h.add(a, 50, 50, false, 0, key(1)));
    CHECK(h.datagram == a.vec());
  }
}
