// The name cache shared by the workers of --threads (app::ShardSync): whatever order the workers
// reach their answers in, the cache ends as one thread would have filled it, answer by answer in
// packet order. With a small cache, answers out of time order and several names per address, the
// order matters (eviction, runs, the names kept per address), so a wrong order shows.
#include "analysis/app/shard_sync.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "unit/analysis/app/dns/dns_builder.h"

using namespace flowaudit::analysis;
using flowaudit::core::IpAddress;
using flowaudit::core::TimestampNs;
using flowaudit::test::DnsBuilder;

namespace {

constexpr std::size_t kQname = 12;
constexpr std::size_t kPackets = 3000;
constexpr std::size_t kMaxNames = 64;

std::unique_ptr<dns::Message> a_response(const std::string& qname, const std::string& address) {
  DnsBuilder b;
  b.counts(1, 1).question(qname, 1).address_rr(kQname, address);
  auto m = std::make_unique<dns::Message>();
  REQUIRE(dns::parse_message(b.bytes(), *m) == app::ParseStatus::kOk);
  return m;
}

// Packet n (1-based) answers for one of 40 addresses, with a name that repeats now and then (runs)
// and a time that sometimes goes back.
std::string address_of(std::size_t n) { return "10.0." + std::to_string(n % 40) + ".1"; }
TimestampNs time_of(std::size_t n) { return static_cast<TimestampNs>(n * 10 - (n % 7 == 0 ? 55 : 0)); }

}  // namespace

TEST_SUITE("analysis.app.shard_sync") {
  TEST_CASE("the shared name cache is filled in packet order whatever the workers' pace") {
    std::vector<std::unique_ptr<dns::Message>> responses(kPackets + 1);
    for (std::size_t n = 1; n <= kPackets; ++n) {
      responses[n] = a_response("n" + std::to_string(n % 97) + ".example", address_of(n));
    }
    dns::NameCache one(kMaxNames);
    for (std::size_t n = 1; n <= kPackets; ++n) one.add_response(*responses[n], time_of(n));

    for (const std::size_t workers : {2, 3}) {
      CAPTURE(workers);
      app::ShardSync sync(workers, kMaxNames);
      const auto work = [&](std::size_t w) {
        for (std::size_t n = 1; n <= kPackets; ++n) {
          sync.at(w, n);
          // Packets are spread unevenly (a worker may run far ahead of another).
          if ((n * 7919 + n / 100) % workers == w) sync.add_response(w, n, *responses[n], time_of(n));
          if (w == 0 && n % 500 == 0) std::this_thread::yield();
        }
        sync.done(w);
      };
      {
        std::vector<std::jthread> threads;
        for (std::size_t w = 1; w < workers; ++w) threads.emplace_back(work, w);
        work(0);
      }
      sync.drain_all();
      const dns::NameCache& shared = sync.cache();
      CHECK(shared.size() == one.size());
      std::size_t hits = 0;
      for (std::size_t a = 0; a < 40; ++a) {
        const IpAddress ip = *IpAddress::parse("10.0." + std::to_string(a) + ".1");
        for (TimestampNs at = 0; at <= time_of(kPackets) + 100; at += 37) {
          const auto expected = one.lookup(ip, at);
          const auto got = shared.lookup(ip, at);
          REQUIRE(expected.has_value() == got.has_value());
          if (!expected) continue;
          ++hits;
          CHECK(got->name == expected->name);
          CHECK(got->answered_ns == expected->answered_ns);
        }
      }
      CHECK(hits > 100);
    }
  }

  TEST_CASE("one DNS log budget for all workers") {
    app::ShardSync sync(2, 16);
    std::size_t taken = 0;
    for (int i = 0; i < 10; ++i) taken += sync.take_dns_record(12) ? 1 : 0;
    for (int i = 0; i < 10; ++i) taken += sync.take_dns_record(12) ? 1 : 0;
    CHECK(taken == 12);
  }
}
