// Test-only: DNS messages written field by field, with compression pointers placed by hand.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "unit/packet_builder.h"

namespace flowaudit::test {

class DnsBuilder {
 public:
  // flags 0x8180: a response, RD and RA set, NOERROR.
  explicit DnsBuilder(unsigned flags = 0x8180, unsigned id = 0x1234) { b_.u16be(id).u16be(flags).zeros(8); }

  DnsBuilder& counts(unsigned qd, unsigned an, unsigned ns = 0, unsigned ar = 0) {
    b_.set_u16be(4, qd);
    b_.set_u16be(6, an);
    b_.set_u16be(8, ns);
    b_.set_u16be(10, ar);
    return *this;
  }
  [[nodiscard]] std::size_t here() const { return b_.size(); }

  // One label, any bytes (dots included).
  DnsBuilder& label(std::string_view text) {
    b_.u8(static_cast<unsigned>(text.size())).text(text);
    return *this;
  }
  // The labels of a dotted name, without the terminating root label.
  DnsBuilder& labels(std::string_view dotted) {
    while (!dotted.empty()) {
      const std::size_t dot = dotted.find('.');
      label(dotted.substr(0, dot));
      dotted = dot == std::string_view::npos ? std::string_view{} : dotted.substr(dot + 1);
    }
    return *this;
  }
  DnsBuilder& name(std::string_view dotted) {
    labels(dotted);
    b_.u8(0);
    return *this;
  }
  DnsBuilder& ptr(std::size_t offset) {
    b_.u16be(0xC000u | static_cast<unsigned>(offset));
    return *this;
  }
  DnsBuilder& question(std::string_view qname, unsigned qtype) {
    name(qname);
    b_.u16be(qtype).u16be(1);
    return *this;
  }
  // After the owner name: TYPE, CLASS, TTL and a RDLENGTH that end_rdata() fills in.
  DnsBuilder& rr(unsigned type, std::uint32_t ttl = 300, unsigned klass = 1) {
    b_.u16be(type).u16be(klass).u32be(ttl);
    rdlength_at_ = b_.size();
    b_.u16be(0);
    return *this;
  }
  DnsBuilder& end_rdata(int adjust = 0) {
    b_.set_u16be(rdlength_at_, static_cast<unsigned>(static_cast<int>(b_.size() - rdlength_at_ - 2) + adjust));
    return *this;
  }
  DnsBuilder& ip(std::string_view literal) {
    b_.ip(literal);
    return *this;
  }
  DnsBuilder& u8(unsigned v) {
    b_.u8(v);
    return *this;
  }
  DnsBuilder& u16(unsigned v) {
    b_.u16be(v);
    return *this;
  }
  DnsBuilder& text(std::string_view s) {
    b_.text(s);
    return *this;
  }

  // An owner name given as a pointer, then an A or AAAA record.
  DnsBuilder& address_rr(std::size_t owner, std::string_view literal, std::uint32_t ttl = 300) {
    ptr(owner);
    rr(literal.find(':') == std::string_view::npos ? 1 : 28, ttl);
    ip(literal);
    return end_rdata();
  }

  [[nodiscard]] std::vector<std::uint8_t> bytes() const { return {b_.span().begin(), b_.span().end()}; }

 private:
  Bytes b_;
  std::size_t rdlength_at_ = 0;
};

// A DNS message as sent over TCP (RFC 1035 4.2.2: a two-byte length first).
// Sized first and copied into: GCC 12 misreads an insert after a two-element list (-Warray-bounds).
inline std::vector<std::uint8_t> dns_tcp_framed(const std::vector<std::uint8_t>& m) {
  std::vector<std::uint8_t> out(m.size() + 2);
  out[0] = static_cast<std::uint8_t>(m.size() >> 8);
  out[1] = static_cast<std::uint8_t>(m.size() & 0xff);
  std::copy(m.begin(), m.end(), out.begin() + 2);
  return out;
}

}  // namespace flowaudit::test
