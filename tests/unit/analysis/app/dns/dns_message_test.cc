#include "analysis/app/dns/dns_message.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "unit/analysis/app/dns/dns_builder.h"

using namespace flowaudit::analysis::dns;
using flowaudit::analysis::app::ParseStatus;
using flowaudit::core::IpAddress;
using flowaudit::test::DnsBuilder;

namespace {

constexpr std::size_t kQname = 12;  // offset of the first question's name

IpAddress ip(std::string_view literal) { return *IpAddress::parse(literal); }

// Parses an exact-size heap copy, so that AddressSanitizer sees any read past the end.
ParseStatus parse(const std::vector<std::uint8_t>& bytes, Message& m, std::size_t n = SIZE_MAX) {
  const std::vector<std::uint8_t> copy(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(std::min(n, bytes.size())));
  return parse_message(copy, m);
}

// Every proper prefix of a message that ends with its last answer is incomplete, never malformed.
void check_prefixes_need_more(const std::vector<std::uint8_t>& bytes) {
  auto m = std::make_unique<Message>();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    CAPTURE(n);
    CHECK(parse(bytes, *m, n) == ParseStatus::kNeedMore);
  }
  CHECK(parse(bytes, *m) == ParseStatus::kOk);
}

// chat.deepseek.com CNAME d2vmr3bhtjgxmt.cloudfront.net, A 3.173.21.63 (as dnsmasq answers).
std::vector<std::uint8_t> cname_then_a() {
  DnsBuilder b;
  b.counts(1, 2).question("chat.deepseek.com", 1);
  b.ptr(kQname).rr(5, 600);
  const std::size_t target = b.here();
  b.name("d2vmr3bhtjgxmt.cloudfront.net").end_rdata();
  b.address_rr(target, "3.173.21.63", 60);
  return b.bytes();
}

std::vector<std::uint8_t> https_with_hints() {
  DnsBuilder b;
  b.counts(1, 1).question("Crypto.Cloudflare.com", 65);
  b.ptr(kQname).rr(65, 300);
  b.u16(1).u8(0);                                     // priority 1, TargetName "." (the owner)
  b.u16(1).u16(3).u8(2).text("h2");                   // alpn
  b.u16(4).u16(8).ip("162.159.135.79").ip("162.159.136.79");  // ipv4hint
  b.u16(5).u16(4).text("ECH!");                       // ech
  b.u16(6).u16(16).ip("2606:4700:7::a29f:874f");      // ipv6hint
  b.end_rdata();
  return b.bytes();
}

}  // namespace

TEST_SUITE("analysis.app.dns.message") {
  TEST_CASE("DNS: header and question of a query") {
    DnsBuilder b(0x0100, 0xBEEF);
    b.counts(1, 0).question("Chat.DeepSeek.com", 28);
    Message m;
    REQUIRE(parse(b.bytes(), m) == ParseStatus::kOk);
    CHECK(m.id == 0xBEEF);
    CHECK_FALSE(m.response);
    CHECK(m.opcode == 0);
    CHECK(m.rcode == 0);
    CHECK_FALSE(m.truncated);
    CHECK(m.question_count == 1);
    CHECK(m.qname.view() == "chat.deepseek.com");
    CHECK(m.qtype == 28);
    CHECK(m.answers.empty());
    check_prefixes_need_more(b.bytes());
  }

  TEST_CASE("DNS: A answer through a compressed owner name") {
    DnsBuilder b(0x8380);  // TC set
    b.counts(1, 1).question("gator.volces.com", 1).address_rr(kQname, "43.109.38.198", 42);
    Message m;
    REQUIRE(parse(b.bytes(), m) == ParseStatus::kOk);
    CHECK(m.response);
    CHECK(m.truncated);
    REQUIRE(m.answers.size() == 1);
    const Answer& a = m.answers[0];
    CHECK(a.name.view() == "gator.volces.com");
    CHECK(a.type == rr::kA);
    CHECK(a.klass == 1);
    CHECK(a.ttl == 42);
    CHECK(a.address == ip("43.109.38.198"));
    CHECK(m.dropped_answers == 0);
    check_prefixes_need_more(b.bytes());
  }

  TEST_CASE("DNS: CNAME chain then A, AAAA") {
    const auto bytes = cname_then_a();
    Message m;
    REQUIRE(parse(bytes, m) == ParseStatus::kOk);
    REQUIRE(m.answers.size() == 2);
    CHECK(m.answers[0].type == rr::kCname);
    CHECK(m.answers[0].name.view() == "chat.deepseek.com");
    CHECK(m.answers[0].target.view() == "d2vmr3bhtjgxmt.cloudfront.net");
    CHECK(m.answers[0].ttl == 600);
    CHECK(m.answers[1].name.view() == "d2vmr3bhtjgxmt.cloudfront.net");
    CHECK(m.answers[1].address == ip("3.173.21.63"));
    check_prefixes_need_more(bytes);

    DnsBuilder b;
    b.counts(1, 1).question("fonts.gstatic.com", 28).address_rr(kQname, "2a00:1450:4001:82a::2003");
    REQUIRE(parse(b.bytes(), m) == ParseStatus::kOk);
    REQUIRE(m.answers.size() == 1);
    CHECK(m.answers[0].type == rr::kAaaa);
    CHECK(m.answers[0].address == ip("2a00:1450:4001:82a::2003"));
  }

  TEST_CASE("DNS: CNAME target compressed into the question") {
    DnsBuilder b;
    b.counts(1, 1).question("chat.deepseek.com", 5);
    b.ptr(kQname).rr(5).labels("edge").ptr(kQname + 5).end_rdata();  // edge.deepseek.com
    Message m;
    REQUIRE(parse(b.bytes(), m) == ParseStatus::kOk);
    REQUIRE(m.answers.size() == 1);
    CHECK(m.answers[0].target.view() == "edge.deepseek.com");
  }

  TEST_CASE("DNS: PTR") {
    DnsBuilder b;
    b.counts(1, 1).question("63.21.173.3.in-addr.arpa", 12);
    b.ptr(kQname).rr(12).name("chat.deepseek.com").end_rdata();
    Message m;
    REQUIRE(parse(b.bytes(), m) == ParseStatus::kOk);
    CHECK(m.qname.view() == "63.21.173.3.in-addr.arpa");
    REQUIRE(m.answers.size() == 1);
    CHECK(m.answers[0].type == rr::kPtr);
    CHECK(m.answers[0].target.view() == "chat.deepseek.com");
    check_prefixes_need_more(b.bytes());
  }

  TEST_CASE("DNS: NXDOMAIN with an SOA in the authority section") {
    DnsBuilder b(0x8183);
    b.counts(1, 0, 1).question("nonexistent.deepseek.com", 1);
    b.ptr(kQname + 12).rr(6).name("ns.deepseek.com").u16(0).u16(0).end_rdata();
    Message m;
    REQUIRE(parse(b.bytes(), m) == ParseStatus::kOk);
    CHECK(m.rcode == 3);
    CHECK(m.answers.empty());
    std::array<char, 16> scratch{};
    CHECK(rcode_name(m.rcode, scratch) == "NXDOMAIN");
  }

  TEST_CASE("DNS: HTTPS record with ech, ipv4hint and ipv6hint") {
    const auto bytes = https_with_hints();
    Message m;
    REQUIRE(parse(bytes, m) == ParseStatus::kOk);
    CHECK(m.qname.view() == "crypto.cloudflare.com");
    REQUIRE(m.answers.size() == 1);
    const Answer& a = m.answers[0];
    CHECK(a.type == rr::kHttps);
    CHECK(a.svc_priority == 1);
    CHECK(a.target.view() == "");
    CHECK(a.ech);
    REQUIRE(a.hints.size() == 3);
    CHECK(a.hints[0] == ip("162.159.135.79"));
    CHECK(a.hints[1] == ip("162.159.136.79"));
    CHECK(a.hints[2] == ip("2606:4700:7::a29f:874f"));
    check_prefixes_need_more(bytes);
  }

  TEST_CASE("DNS: SVCB in alias mode, and a (defensively accepted) compressed TargetName") {
    DnsBuilder b;
    b.counts(1, 2).question("_dns.resolver.arpa", 64);
    b.ptr(kQname).rr(64).u16(0).name("dns.google").end_rdata();
    b.ptr(kQname).rr(64).u16(2).labels("doh").ptr(kQname + 5).end_rdata();  // doh.resolver.arpa
    Message m;
    REQUIRE(parse(b.bytes(), m) == ParseStatus::kOk);
    REQUIRE(m.answers.size() == 2);
    CHECK(m.answers[0].svc_priority == 0);
    CHECK(m.answers[0].target.view() == "dns.google");
    CHECK_FALSE(m.answers[0].ech);
    CHECK(m.answers[0].hints.empty());
    CHECK(m.answers[1].svc_priority == 2);
    CHECK(m.answers[1].target.view() == "doh.resolver.arpa");
  }

  TEST_CASE("DNS: more hints than kept") {
    DnsBuilder b;
    b.counts(1, 1).question("many.example", 65);
    b.ptr(kQname).rr(65).u16(1).u8(0).u16(4).u16(4 * 10);
    for (unsigned i = 0; i < 10; ++i) b.u8(10).u8(0).u8(0).u8(i);
    b.end_rdata();
    Message m;
    REQUIRE(parse(b.bytes(), m) == ParseStatus::kOk);
    REQUIRE(m.answers.size() == 1);
    CHECK(m.answers[0].hints.size() == kMaxHints);
    CHECK(m.answers[0].hints.overflowed());
  }

  TEST_CASE("DNS: broken SvcParams drop only that record") {
    DnsBuilder b;
    b.counts(1, 4).question("svc.example", 65);
    b.ptr(kQname).rr(65).u16(1).u8(0).u16(4).u16(5).ip("1.2.3.4").u8(5).end_rdata();  // ipv4hint of 5 bytes
    b.ptr(kQname).rr(65).u16(1).u8(0).u16(6).u16(4).ip("1.2.3.4").end_rdata();        // ipv6hint of 4 bytes
    b.ptr(kQname).rr(65).u16(1).u8(0).u16(5).u16(9).text("ech").end_rdata();          // value past RDATA
    b.ptr(kQname).rr(65).u16(1).u8(0).u16(4).u16(0).end_rdata();                      // empty ipv4hint
    Message m;
    REQUIRE(parse(b.bytes(), m) == ParseStatus::kOk);
    CHECK(m.answers.empty());
    CHECK(m.dropped_answers == 4);
  }

  TEST_CASE("DNS: RDLENGTH that does not match the RDATA drops only that record") {
    DnsBuilder b;
    b.counts(1, 6).question("x.example", 1);
    b.address_rr(kQname, "10.0.0.1");
    b.ptr(kQname).rr(1).ip("10.0.0.2").u8(0).end_rdata();  // A with 5 bytes
    b.ptr(kQname).rr(28).ip("10.0.0.3").end_rdata();       // AAAA with 4 bytes
    b.ptr(kQname).rr(5).name("a.example").u8(0).end_rdata();  // CNAME with a byte after the name
    b.ptr(kQname).rr(5).labels("b").label("example").end_rdata();  // CNAME whose name runs past RDATA
    b.address_rr(kQname, "10.0.0.4");
    Message m;
    REQUIRE(parse(b.bytes(), m) == ParseStatus::kOk);
    REQUIRE(m.answers.size() == 2);
    CHECK(m.answers[0].address == ip("10.0.0.1"));
    CHECK(m.answers[1].address == ip("10.0.0.4"));
    CHECK(m.dropped_answers == 4);
  }

  TEST_CASE("DNS: RDLENGTH shorter than the name it cuts") {
    DnsBuilder b;
    b.counts(1, 1).question("x.example", 5);
    b.ptr(kQname).rr(5).name("abc.example").end_rdata(-6);
    Message m;
    CHECK(parse(b.bytes(), m) == ParseStatus::kOk);  // RDATA ends mid-name; the rest is left unread
    CHECK(m.answers.empty());
    CHECK(m.dropped_answers == 1);
  }

  TEST_CASE("DNS: answer count larger than the answers present") {
    DnsBuilder b;
    b.counts(1, 3).question("x.example", 1).address_rr(kQname, "10.0.0.1");
    Message m;
    CHECK(parse(b.bytes(), m) == ParseStatus::kNeedMore);
    REQUIRE(m.answers.size() == 1);  // what was read is kept
    CHECK(m.answers[0].address == ip("10.0.0.1"));
    CHECK(m.qname.view() == "x.example");
  }

  TEST_CASE("DNS: more answers than kept") {
    DnsBuilder b;
    b.counts(1, 40).question("x.example", 1);
    for (unsigned i = 0; i < 40; ++i) b.address_rr(kQname, "10.0.0." + std::to_string(i));
    auto m = std::make_unique<Message>();
    REQUIRE(parse(b.bytes(), *m) == ParseStatus::kOk);
    CHECK(m->answers.size() == kMaxAnswers);
    CHECK(m->answers.overflowed());
    CHECK(m->answers[31].address == ip("10.0.0.31"));
  }

  TEST_CASE("DNS: other types keep name, type and TTL") {
    DnsBuilder b;
    b.counts(1, 1).question("x.example", 16);
    b.ptr(kQname).rr(16, 77).u8(5).text("hello").end_rdata();
    Message m;
    REQUIRE(parse(b.bytes(), m) == ParseStatus::kOk);
    REQUIRE(m.answers.size() == 1);
    CHECK(m.answers[0].type == rr::kTxt);
    CHECK(m.answers[0].ttl == 77);
    CHECK(m.answers[0].name.view() == "x.example");
    CHECK(m.answers[0].target.view() == "");
  }

  TEST_CASE("DNS: several questions are counted, the first kept") {
    DnsBuilder b;
    b.counts(2, 1).question("first.example", 1).labels("second").ptr(kQname + 6).u16(28).u16(1);
    b.address_rr(kQname, "10.1.1.1");
    Message m;
    REQUIRE(parse(b.bytes(), m) == ParseStatus::kOk);
    CHECK(m.question_count == 2);
    CHECK(m.qname.view() == "first.example");
    CHECK(m.qtype == 1);
    REQUIRE(m.answers.size() == 1);
    check_prefixes_need_more(b.bytes());

    DnsBuilder many;
    many.counts(40, 0);
    for (int i = 0; i < 40; ++i) many.question("q.example", 1);
    CHECK(parse(many.bytes(), m) == ParseStatus::kMalformed);
    CHECK(m.qname.view() == "q.example");
  }

  TEST_CASE("DNS: no question") {
    DnsBuilder b;
    b.counts(0, 1).name("printer.local").rr(1, 120, 0x8001).ip("192.168.1.50").end_rdata();
    Message m;
    REQUIRE(parse(b.bytes(), m) == ParseStatus::kOk);
    CHECK(m.question_count == 0);
    CHECK(m.qname.view() == "");
    REQUIRE(m.answers.size() == 1);
    CHECK(m.answers[0].klass == 0x8001);
  }

  TEST_CASE("DNS: compression pointer loops and bad pointers") {
    Message m;
    SUBCASE("self-pointer") {
      DnsBuilder b;
      b.counts(1, 0).ptr(kQname).u16(1).u16(1);
      CHECK(parse(b.bytes(), m) == ParseStatus::kMalformed);
    }
    SUBCASE("two-pointer loop") {
      DnsBuilder b;
      b.counts(0, 1).ptr(14).ptr(12).rr(1).ip("1.2.3.4").end_rdata();
      CHECK(parse(b.bytes(), m) == ParseStatus::kMalformed);
    }
    SUBCASE("label then a pointer back to its own start") {
      DnsBuilder b;
      b.counts(1, 0).labels("a").ptr(kQname).u16(1).u16(1);
      CHECK(parse(b.bytes(), m) == ParseStatus::kMalformed);
    }
    SUBCASE("loop reached through a backward pointer") {
      DnsBuilder b;
      b.counts(1, 1).question("x.example", 1);
      const std::size_t loop = b.here();
      b.ptr(kQname).rr(16).labels("l").ptr(loop + 12).end_rdata();  // TXT RDATA: "l" then a pointer to itself
      b.ptr(loop + 12).rr(1).ip("1.2.3.4").end_rdata();
      b.counts(1, 2);
      CHECK(parse(b.bytes(), m) == ParseStatus::kMalformed);
      CHECK(m.answers.size() == 1);  // the TXT before it
    }
    SUBCASE("forward pointer") {
      DnsBuilder b;
      b.counts(1, 0).ptr(kQname + 6).u16(1).u16(1).name("later.example");
      CHECK(parse(b.bytes(), m) == ParseStatus::kMalformed);
    }
    SUBCASE("pointer into the header") {
      DnsBuilder b;
      b.counts(1, 0).ptr(4).u16(1).u16(1);
      CHECK(parse(b.bytes(), m) == ParseStatus::kMalformed);
    }
    SUBCASE("pointer past the end") {
      DnsBuilder b;
      b.counts(1, 1).question("x.example", 1).ptr(0x3FFF).rr(1).ip("1.2.3.4").end_rdata();
      CHECK(parse(b.bytes(), m) == ParseStatus::kMalformed);
    }
  }

  TEST_CASE("DNS: chains of pointers up to the jump limit") {
    // A TXT record whose RDATA is a chain of backward pointers, each to the one before; a second
    // answer's owner name enters the chain at its end.
    const auto build = [](int pointers) {
      DnsBuilder b;
      b.counts(1, 2).question("x.example", 1);
      b.ptr(kQname).rr(16);
      std::size_t previous = kQname;
      for (int i = 0; i < pointers; ++i) {
        const std::size_t at = b.here();
        b.ptr(previous);
        previous = at;
      }
      b.end_rdata();
      b.ptr(previous).rr(1).ip("1.2.3.4").end_rdata();
      return b.bytes();
    };
    Message m;
    REQUIRE(parse(build(60), m) == ParseStatus::kOk);
    REQUIRE(m.answers.size() == 2);
    CHECK(m.answers[1].name.view() == "x.example");
    CHECK(parse(build(70), m) == ParseStatus::kMalformed);
  }

  TEST_CASE("DNS: name and label length limits") {
    const std::string l63(63, 'a');
    const std::string l61(61, 'b');
    Message m;
    {
      DnsBuilder b;  // 3 * 64 + 62 + 1 = 255 bytes on the wire: the longest name
      b.counts(1, 0).label(l63).label(l63).label(l63).label(l61).u8(0).u16(1).u16(1);
      REQUIRE(parse(b.bytes(), m) == ParseStatus::kOk);
      CHECK(m.qname.length == 63 * 3 + 61 + 3);
    }
    {
      DnsBuilder b;  // one byte more: the labels within the limit are kept, the name marked
      b.counts(1, 0).label(l63).label(l63).label(l63).label(l61 + "b").u8(0).u16(28).u16(1);
      CHECK(parse(b.bytes(), m) == ParseStatus::kMalformed);
      CHECK(m.question_read);
      CHECK(m.qname_error == NameError::kTooLong);
      CHECK(m.qname.view() == l63 + "." + l63 + "." + l63);
      CHECK(m.qtype == 28);  // the framing went on past the name
    }
    {
      DnsBuilder b;  // too long only once a pointer is followed: that answer is dropped
      b.counts(1, 1).label(l63).label(l63).label(l63).u8(0).u16(1).u16(1);
      b.label(l63).ptr(kQname).rr(1).ip("1.2.3.4").end_rdata();
      CHECK(parse(b.bytes(), m) == ParseStatus::kMalformed);
      CHECK(m.qname_error == NameError::kNone);
      CHECK(m.answers.empty());
      CHECK(m.dropped_answers == 1);
    }
    {
      DnsBuilder b;  // label length 64 (0x40: an extended label type), then 0x80
      b.counts(1, 0).label("keep").u8(64).text(std::string(64, 'c')).u8(0).u16(1).u16(1);
      CHECK(parse(b.bytes(), m) == ParseStatus::kMalformed);
      CHECK(m.question_read);
      CHECK(m.qname_error == NameError::kExtendedLabel);
      CHECK(m.qname.view() == "keep");
      DnsBuilder c;
      c.counts(1, 0).u8(0x80).u8(0).u16(1).u16(1);
      CHECK(parse(c.bytes(), m) == ParseStatus::kMalformed);
      CHECK(m.qname_error == NameError::kReservedLabelType);
      CHECK(m.qname.view().empty());
    }
    {
      DnsBuilder b;  // escapes past 255 characters of presentation form: a question has room for them
      b.counts(1, 0).label(std::string(63, '\x01')).label(std::string(63, '\x01')).u8(0).u16(1).u16(1);
      CHECK(parse(b.bytes(), m) == ParseStatus::kOk);
      CHECK(m.qname.length == 63 * 4 * 2 + 1);
      CHECK(m.qname_error == NameError::kNone);
    }
    {
      DnsBuilder b;  // the longest name, every byte escaped: 250 bytes in 4 labels, 1003 characters
      const std::string hi(63, '\xff');
      b.counts(1, 0).label(hi).label(hi).label(hi).label(std::string(61, '\xff')).u8(0).u16(10).u16(1);
      CHECK(parse(b.bytes(), m) == ParseStatus::kOk);
      CHECK(m.qname.length == kMaxQuestionText);
    }
  }

  TEST_CASE("DNS: odd bytes are escaped, letters lower-cased") {
    DnsBuilder b;
    b.counts(1, 0).label(std::string("A.b c\0\xff\\Z", 9)).labels("EXAMPLE").u8(0).u16(1).u16(1);
    Message m;
    REQUIRE(parse(b.bytes(), m) == ParseStatus::kOk);
    CHECK(m.qname.view() == "a\\046b\\032c\\000\\255\\092z.example");
  }

  TEST_CASE("DNS: root name and empty input") {
    DnsBuilder b;
    b.counts(1, 0).u8(0).u16(2).u16(1);
    Message m;
    REQUIRE(parse(b.bytes(), m) == ParseStatus::kOk);
    CHECK(m.qname.view() == "");
    CHECK(parse({}, m) == ParseStatus::kNeedMore);
  }

  TEST_CASE("DNS: type and rcode names") {
    std::array<char, 16> s{};
    CHECK(type_name(1, s) == "A");
    CHECK(type_name(28, s) == "AAAA");
    CHECK(type_name(5, s) == "CNAME");
    CHECK(type_name(65, s) == "HTTPS");
    CHECK(type_name(64, s) == "SVCB");
    CHECK(type_name(12, s) == "PTR");
    CHECK(type_name(123, s) == "TYPE123");
    CHECK(type_name(65535, s) == "TYPE65535");
    CHECK(rcode_name(0, s) == "NOERROR");
    CHECK(rcode_name(2, s) == "SERVFAIL");
    CHECK(rcode_name(3, s) == "NXDOMAIN");
    CHECK(rcode_name(12, s) == "RCODE12");
    CHECK(rcode_name(255, s) == "RCODE255");
  }
}
