// Fuzz target: DNS messages (parse_message) feeding a NameCache.
//
// One input is used twice: as one whole message (DNS over UDP), and as a stream of DNS-over-TCP
// messages (each after a 2-byte big-endian length, the last one clipped to what is left), whose
// responses go to one small NameCache at timestamps that mostly advance (the low bits of each
// message's id move it back a little, so answers also arrive out of order). Then every address
// that was answered is looked up. Each message is parsed from an exact-size heap copy, so that
// AddressSanitizer catches a read past it.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "analysis/app/dns/dns_message.h"
#include "analysis/app/dns/name_cache.h"
#include "core/byte_reader.h"
#include "fuzz_check.h"

namespace {

using namespace flowaudit;
using analysis::app::ParseStatus;
using analysis::dns::Answer;
using analysis::dns::Message;
namespace rr = analysis::dns::rr;

constexpr std::size_t kCacheEntries = 8;
constexpr int kMaxStreamMessages = 64;

template <std::size_t Capacity>
void check_name(const analysis::dns::BasicName<Capacity>& n) {
  FUZZ_CHECK(n.length <= Capacity);
  for (const char c : n.view()) {
    FUZZ_CHECK(c > 0x20 && c < 0x7F);
    FUZZ_CHECK(c < 'A' || c > 'Z');
  }
  FUZZ_CHECK(n.view().empty() || (n.view().front() != '.' && n.view().back() != '.'));
}

ParseStatus parse_checked(std::span<const std::uint8_t> bytes, Message& m) {
  const auto copy = std::make_unique<std::uint8_t[]>(bytes.size());
  if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
  const ParseStatus status = analysis::dns::parse_message({copy.get(), bytes.size()}, m);
  FUZZ_CHECK(m.answers.size() <= analysis::dns::kMaxAnswers);
  check_name(m.qname);
  std::array<char, 16> scratch{};
  FUZZ_CHECK(!analysis::dns::type_name(m.qtype, scratch).empty());
  FUZZ_CHECK(!analysis::dns::rcode_name(m.rcode, scratch).empty());
  for (const Answer& a : m.answers) {
    check_name(a.name);
    check_name(a.target);
    FUZZ_CHECK(a.hints.size() <= analysis::dns::kMaxHints);
    if (a.type == rr::kA) FUZZ_CHECK(a.address.is_v4());
    if (a.type == rr::kAaaa) FUZZ_CHECK(a.address.is_v6());
    if (a.type != rr::kSvcb && a.type != rr::kHttps) FUZZ_CHECK(a.hints.empty() && !a.ech);
    for (const auto& h : a.hints) FUZZ_CHECK(h.is_v4() || h.is_v6());
  }
  return status;
}

void collect_addresses(const Message& m, std::vector<core::IpAddress>& out) {
  for (const Answer& a : m.answers) {
    if (a.type == rr::kA || a.type == rr::kAaaa) out.push_back(a.address);
    for (const auto& h : a.hints) out.push_back(h);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  auto m = std::make_unique<Message>();
  analysis::dns::NameCache cache(kCacheEntries);
  std::vector<core::IpAddress> answered;

  // Whole input as one message.
  parse_checked(input, *m);
  cache.add_response(*m, 1000);
  if (m->response) collect_addresses(*m, answered);

  // The input as a DNS-over-TCP stream.
  core::ByteReader in(input);
  for (int i = 0; i < kMaxStreamMessages; ++i) {
    std::uint16_t length = 0;
    if (!in.read_u16be(length)) break;
    std::span<const std::uint8_t> message;
    in.read_bytes(std::min<std::size_t>(length, in.remaining()), message);
    parse_checked(message, *m);
    const core::TimestampNs ts = 1000 + 10 * static_cast<core::TimestampNs>(i) - (m->id & 0x1F);
    cache.add_response(*m, ts);
    if (m->response) collect_addresses(*m, answered);
    FUZZ_CHECK(cache.size() <= kCacheEntries);
  }

  FUZZ_CHECK(cache.size() <= kCacheEntries);
  for (const auto& ip : answered) {
    FUZZ_CHECK(!cache.lookup(ip, 0));  // every answer came later
    for (const core::TimestampNs at : {core::TimestampNs{990}, core::TimestampNs{1000}, core::TimestampNs{1300},
                                       INT64_MAX}) {
      const auto hit = cache.lookup(ip, at);
      if (!hit) continue;
      FUZZ_CHECK(hit->answered_ns <= at);
      FUZZ_CHECK(hit->cnames.size() <= analysis::dns::NameCache::kMaxChain);
      flowaudit::fuzz::touch(reinterpret_cast<const unsigned char*>(hit->name.data()), hit->name.size());
    }
  }
  return 0;
}
