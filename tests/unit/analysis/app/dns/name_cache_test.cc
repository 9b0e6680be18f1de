#include "analysis/app/dns/name_cache.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "unit/analysis/app/dns/dns_builder.h"

using namespace flowaudit::analysis::dns;
using flowaudit::analysis::app::ParseStatus;
using flowaudit::core::IpAddress;
using flowaudit::core::TimestampNs;
using flowaudit::test::DnsBuilder;

namespace {

constexpr std::size_t kQname = 12;

IpAddress ip(std::string_view literal) { return *IpAddress::parse(literal); }

std::unique_ptr<Message> parsed(const DnsBuilder& b) {
  auto m = std::make_unique<Message>();
  REQUIRE(parse_message(b.bytes(), *m) == ParseStatus::kOk);
  return m;
}

// qname A address, no CNAME.
std::unique_ptr<Message> a_response(std::string_view qname, std::string_view address) {
  DnsBuilder b;
  b.counts(1, 1).question(qname, 1).address_rr(kQname, address);
  return parsed(b);
}

// qname -> CNAME -> ... -> the last name, which has `address`.
std::unique_ptr<Message> chain_response(std::string_view qname, const std::vector<std::string>& cnames,
                                        std::string_view address) {
  DnsBuilder b;
  b.counts(1, static_cast<unsigned>(cnames.size() + 1)).question(qname, 1);
  std::size_t owner = kQname;
  for (const std::string& c : cnames) {
    b.ptr(owner).rr(5);
    owner = b.here();
    b.name(c).end_rdata();
  }
  b.address_rr(owner, address);
  return parsed(b);
}

}  // namespace

TEST_SUITE("analysis.app.dns.name_cache") {
  TEST_CASE("DNS name cache: CNAME chain from the question to the address") {
    NameCache cache;
    cache.add_response(*chain_response("chat.deepseek.com", {"d2vmr3bhtjgxmt.cloudfront.net"}, "3.173.21.63"), 100);
    const auto hit = cache.lookup(ip("3.173.21.63"), 100);
    REQUIRE(hit);
    CHECK(hit->name == "chat.deepseek.com");
    CHECK(hit->cnames == std::vector<std::string>{"d2vmr3bhtjgxmt.cloudfront.net"});
    CHECK(hit->answered_ns == 100);
    CHECK(cache.size() == 1);
    CHECK_FALSE(cache.lookup(ip("3.173.21.64"), 100));

    cache.add_response(*chain_response("a.example", {"b.example", "c.example", "d.example"}, "10.0.0.9"), 100);
    const auto three = cache.lookup(ip("10.0.0.9"), 200);
    REQUIRE(three);
    CHECK(three->name == "a.example");
    CHECK(three->cnames == std::vector<std::string>{"b.example", "c.example", "d.example"});
  }

  TEST_CASE("DNS name cache: an answer after the flow started does not name it") {
    NameCache cache;
    cache.add_response(*a_response("late.example", "10.0.0.1"), 1000);
    CHECK_FALSE(cache.lookup(ip("10.0.0.1"), 999));
    CHECK(cache.lookup(ip("10.0.0.1"), 1000));
    CHECK(cache.lookup(ip("10.0.0.1"), 5000));
  }

  TEST_CASE("DNS name cache: the latest answer before the flow wins") {
    NameCache cache;
    cache.add_response(*a_response("first.example", "10.0.0.1"), 10);
    cache.add_response(*a_response("second.example", "10.0.0.1"), 20);
    CHECK_FALSE(cache.lookup(ip("10.0.0.1"), 5));
    CHECK(cache.lookup(ip("10.0.0.1"), 15)->name == "first.example");
    CHECK(cache.lookup(ip("10.0.0.1"), 20)->name == "second.example");
    CHECK(cache.lookup(ip("10.0.0.1"), 25)->name == "second.example");

    // The same answer again is one entry; the time given is the latest one not after the flow.
    cache.add_response(*a_response("first.example", "10.0.0.1"), 30);
    cache.add_response(*a_response("first.example", "10.0.0.1"), 40);
    CHECK(cache.size() == 3);
    CHECK(cache.lookup(ip("10.0.0.1"), 25)->name == "second.example");
    CHECK(cache.lookup(ip("10.0.0.1"), 35)->name == "first.example");
    CHECK(cache.lookup(ip("10.0.0.1"), 35)->answered_ns == 30);
    CHECK(cache.lookup(ip("10.0.0.1"), 45)->answered_ns == 40);

    // An answer that arrives out of time order is placed by its time.
    cache.add_response(*a_response("early.example", "10.0.0.2"), 50);
    cache.add_response(*a_response("earlier.example", "10.0.0.2"), 5);
    CHECK(cache.lookup(ip("10.0.0.2"), 10)->name == "earlier.example");
    CHECK(cache.lookup(ip("10.0.0.2"), 60)->name == "early.example");
  }

  TEST_CASE("DNS name cache: at most four names per address") {
    NameCache cache;
    for (int i = 0; i < 6; ++i) {
      cache.add_response(*a_response("n" + std::to_string(i) + ".example", "10.0.0.1"), 10 * (i + 1));
    }
    CHECK(cache.size() == NameCache::kMaxNamesPerAddress);
    CHECK_FALSE(cache.lookup(ip("10.0.0.1"), 15));  // n0 was evicted
    CHECK_FALSE(cache.lookup(ip("10.0.0.1"), 25));  // n1 too
    CHECK(cache.lookup(ip("10.0.0.1"), 35)->name == "n2.example");
    CHECK(cache.lookup(ip("10.0.0.1"), 65)->name == "n5.example");
  }

  TEST_CASE("DNS name cache: bounded in entries, oldest answer evicted first") {
    NameCache cache(3);
    for (int i = 0; i < 5; ++i) {
      cache.add_response(*a_response("n" + std::to_string(i) + ".example", "10.0.1." + std::to_string(i)), i);
    }
    CHECK(cache.size() == 3);
    CHECK_FALSE(cache.lookup(ip("10.0.1.0"), 100));
    CHECK_FALSE(cache.lookup(ip("10.0.1.1"), 100));
    CHECK(cache.lookup(ip("10.0.1.2"), 100)->name == "n2.example");
    CHECK(cache.lookup(ip("10.0.1.4"), 100)->name == "n4.example");

    // Answering a name again keeps it from being the next one evicted.
    cache.add_response(*a_response("n2.example", "10.0.1.2"), 10);
    cache.add_response(*a_response("n5.example", "10.0.1.5"), 11);
    CHECK(cache.lookup(ip("10.0.1.2"), 100));
    CHECK_FALSE(cache.lookup(ip("10.0.1.3"), 100));

    NameCache none(0);
    none.add_response(*a_response("x.example", "10.0.0.1"), 1);
    CHECK(none.size() == 0);
    CHECK_FALSE(none.lookup(ip("10.0.0.1"), 1));
  }

  TEST_CASE("DNS name cache: SVCB/HTTPS hints and AAAA") {
    DnsBuilder b;
    b.counts(1, 2).question("crypto.cloudflare.com", 65);
    b.ptr(kQname).rr(65).u16(1).u8(0).u16(4).u16(4).ip("162.159.135.79");
    b.u16(6).u16(16).ip("2606:4700:7::a29f:874f").end_rdata();
    b.address_rr(kQname, "2606:4700:7::1");
    NameCache cache;
    cache.add_response(*parsed(b), 7);
    CHECK(cache.size() == 3);
    CHECK(cache.lookup(ip("162.159.135.79"), 7)->name == "crypto.cloudflare.com");
    CHECK(cache.lookup(ip("2606:4700:7::a29f:874f"), 7)->name == "crypto.cloudflare.com");
    CHECK(cache.lookup(ip("2606:4700:7::1"), 7)->cnames.empty());
  }

  TEST_CASE("DNS name cache: CNAME loops, long chains and unrelated records") {
    NameCache cache;
    SUBCASE("loop that never reaches the owner") {
      DnsBuilder b;
      b.counts(1, 3).question("a.example", 1);
      b.ptr(kQname).rr(5);
      const std::size_t b_name = b.here();
      b.name("b.example").end_rdata();
      b.ptr(b_name).rr(5).ptr(kQname).end_rdata();  // b -> a
      b.name("c.example").rr(1).ip("10.0.0.3").end_rdata();
      cache.add_response(*parsed(b), 1);
      const auto hit = cache.lookup(ip("10.0.0.3"), 1);
      REQUIRE(hit);
      CHECK(hit->name == "c.example");  // by its owner: the message does not link it to the question
      CHECK(hit->cnames.empty());
    }
    SUBCASE("chain of eight is followed, nine is not") {
      std::vector<std::string> eight;
      for (int i = 0; i < 8; ++i) eight.push_back("c" + std::to_string(i) + ".example");
      cache.add_response(*chain_response("q.example", eight, "10.0.0.8"), 1);
      CHECK(cache.lookup(ip("10.0.0.8"), 1)->name == "q.example");
      CHECK(cache.lookup(ip("10.0.0.8"), 1)->cnames.size() == 8);
      auto nine = eight;
      nine.push_back("c8.example");
      cache.add_response(*chain_response("q.example", nine, "10.0.0.9"), 1);
      CHECK(cache.lookup(ip("10.0.0.9"), 1)->name == "c8.example");
    }
  }

  TEST_CASE("DNS name cache: queries and other classes are ignored") {
    NameCache cache;
    DnsBuilder query(0x0100);
    query.counts(1, 1).question("x.example", 1).address_rr(kQname, "10.0.0.1");
    cache.add_response(*parsed(query), 1);
    DnsBuilder chaos;
    chaos.counts(1, 1).question("x.example", 1).ptr(kQname).rr(1, 60, 3).ip("10.0.0.2").end_rdata();
    cache.add_response(*parsed(chaos), 1);
    CHECK(cache.size() == 0);
    DnsBuilder mdns(0x8400);
    mdns.counts(0, 1).name("printer.local").rr(1, 120, 0x8001).ip("192.168.1.50").end_rdata();
    cache.add_response(*parsed(mdns), 1);
    CHECK(cache.lookup(ip("192.168.1.50"), 1)->name == "printer.local");
  }
}
