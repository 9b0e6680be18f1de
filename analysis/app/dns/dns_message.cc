// DNS message parsing, written by hand: Debian offers no bounds-checked DNS parser for untrusted
// bytes that fits (libresolv's ns_initparse/ns_parserr/dn_expand accept forward pointers and
// have a history of overreads; ldns and c-ares allocate per record). Every read goes through
// core::ByteReader; nothing here allocates.
#include "analysis/app/dns/dns_message.h"

#include <charconv>
#include <cstddef>

#include "core/byte_reader.h"

namespace flowaudit::analysis::dns {
namespace {

using app::ParseStatus;
using core::ByteReader;
using Bytes = std::span<const std::uint8_t>;

constexpr std::size_t kHeaderSize = 12;
constexpr std::size_t kMaxWireNameLength = 255;  // RFC 1035 2.3.4, length octets included
constexpr std::size_t kMaxLabelLength = 63;
constexpr int kMaxPointerJumps = 64;
constexpr std::size_t kMaxQuestions = 32;
// Answers read, kept or dropped; with kMaxAnswers kept this bounds the work on a message whose
// records are all dropped.
constexpr std::size_t kMaxRecords = 256;
constexpr std::size_t kMaxSvcParams = 64;
constexpr std::uint16_t kSvcKeyEch = 5;
constexpr std::uint16_t kSvcKeyIpv4Hint = 4;
constexpr std::uint16_t kSvcKeyIpv6Hint = 6;

enum class NameStatus {
  kOk,
  kTooLong,            // over 255 octets, or its text over the Name's room: cut, `next` is valid
  kTruncated,          // the bytes of the name in place ran past `end`
  kTruncatedAfterJump, // a pointer led to labels that run past the message
  kExtendedLabel,      // label type 0x40 (RFC 6891 6.1)
  kReservedLabelType,  // label type 0x80
  kBadPointer,         // forward, into the header, or too many jumps
};

// Appends one label in presentation form, lower-cased, escaping what would be ambiguous or
// unprintable as \DDD. False when the text would not fit the name's capacity.
template <std::size_t Capacity>
bool append_label(Bytes label, BasicName<Capacity>& out, bool lower) noexcept {
  std::size_t n = out.length;
  const auto put = [&](char c) {
    if (n >= Capacity) return false;
    out.text[n++] = c;
    return true;
  };
  if (n != 0 && !put('.')) return false;
  for (const std::uint8_t byte : label) {
    std::uint8_t c = byte;
    if (lower && c >= 'A' && c <= 'Z') c = static_cast<std::uint8_t>(c - 'A' + 'a');
    if (c <= 0x20 || c >= 0x7F || c == '.' || c == '\\') {
      if (!put('\\') || !put(static_cast<char>('0' + c / 100)) || !put(static_cast<char>('0' + c / 10 % 10)) ||
          !put(static_cast<char>('0' + c % 10))) {
        return false;
      }
    } else if (!put(static_cast<char>(c))) {
      return false;
    }
  }
  out.length = static_cast<std::uint16_t>(n);
  return true;
}

// Reads the name at offset `start` of the message `msg`. The bytes of the name in place (up to and
// including the first compression pointer) must end by `end`; `next` is set just past them.
// A pointer must point before the first label of the run it ends (so every jump goes strictly
// backwards and the walk terminates) and past the header; at most kMaxPointerJumps of them.
// Whatever the status, `out` holds the labels read before the problem. A name over the limit
// keeps the labels within it, and the walk goes on over the labels in place (not through a
// pointer) to find where the name ends, so that the message's framing survives it.
template <std::size_t Capacity>
NameStatus read_name(Bytes msg, std::size_t start, std::size_t end, BasicName<Capacity>& out, std::size_t& next,
                     bool lower = true) noexcept {
  out.length = 0;
  out.text[0] = '\0';
  ByteReader in(msg.first(end));
  if (!in.skip(start)) return NameStatus::kTruncated;
  std::size_t run_start = start;
  std::size_t wire_length = 1;  // the root label
  int jumps = 0;
  bool too_long = false;
  for (;;) {
    std::uint8_t len = 0;
    if (!in.read_u8(len)) return jumps == 0 ? NameStatus::kTruncated : NameStatus::kTruncatedAfterJump;
    if (len == 0) break;
    if ((len & 0xC0) == 0xC0) {
      std::uint8_t low = 0;
      if (!in.read_u8(low)) return jumps == 0 ? NameStatus::kTruncated : NameStatus::kTruncatedAfterJump;
      const std::size_t target = (static_cast<std::size_t>(len & 0x3F) << 8) | low;
      if (jumps == 0) next = in.offset();
      if (too_long) return NameStatus::kTooLong;  // where the name ends is known; its text is cut
      if (++jumps > kMaxPointerJumps || target >= run_start || target < kHeaderSize) return NameStatus::kBadPointer;
      run_start = target;
      in = ByteReader(msg);
      in.skip(target);  // target < run_start <= msg.size()
      continue;
    }
    if ((len & 0xC0) == 0x40) return NameStatus::kExtendedLabel;  // RFC 6891 6.1
    if ((len & 0xC0) == 0x80) return NameStatus::kReservedLabelType;
    // len <= 63 here, the label limit, by the two bits above.
    wire_length += 1 + len;
    Bytes label;
    if (!in.read_bytes(len, label)) return jumps == 0 ? NameStatus::kTruncated : NameStatus::kTruncatedAfterJump;
    if (too_long) continue;
    if (wire_length > kMaxWireNameLength || !append_label(label, out, lower)) {
      too_long = true;
      if (jumps > 0) return NameStatus::kTooLong;  // the name in place ended at the first pointer
    }
  }
  if (jumps == 0) next = in.offset();
  static_assert(kMaxLabelLength == 0x3F);
  return too_long ? NameStatus::kTooLong : NameStatus::kOk;
}

NameError to_name_error(NameStatus s) noexcept {
  switch (s) {
    case NameStatus::kOk: return NameError::kNone;
    case NameStatus::kTooLong: return NameError::kTooLong;
    case NameStatus::kTruncated:
    case NameStatus::kTruncatedAfterJump: return NameError::kTruncated;
    case NameStatus::kExtendedLabel: return NameError::kExtendedLabel;
    case NameStatus::kReservedLabelType: return NameError::kReservedLabelType;
    case NameStatus::kBadPointer: return NameError::kBadPointer;
  }
  return NameError::kBadPointer;
}

// Skips a question's name without keeping it (questions past the ones kept).
NameStatus skip_name(Bytes msg, std::size_t start, std::size_t& next) noexcept {
  thread_local QuestionName scratch;
  return read_name(msg, start, msg.size(), scratch, next);
}

// A name that must lie inside RDATA [start, end) and, when it is the last field, end at `end`.
bool read_rdata_name(Bytes msg, std::size_t start, std::size_t end, Name& out, std::size_t& next) noexcept {
  return read_name(msg, start, end, out, next) == NameStatus::kOk;
}

void read_hints(ByteReader value, std::size_t size, Answer& a) noexcept {
  while (value.remaining() >= size) {
    Bytes b;
    value.read_bytes(size, b);
    const core::IpAddress ip = size == 4 ? core::IpAddress::v4(b.first<4>()) : core::IpAddress::v6(b.first<16>());
    if (!a.hints.push_back(ip)) return;
  }
}

// SVCB/HTTPS RDATA (RFC 9460 2.2): SvcPriority, TargetName, SvcParams to the end.
bool parse_svcb(Bytes msg, std::size_t start, std::size_t end, Answer& a) noexcept {
  ByteReader rd(msg.first(end));
  rd.skip(start);
  if (!rd.read_u16be(a.svc_priority)) return false;
  std::size_t next = 0;
  // TargetName must not be compressed (RFC 9460 2.2) but a pointer costs nothing to follow.
  if (!read_rdata_name(msg, rd.offset(), end, a.target, next)) return false;
  rd = ByteReader(msg.first(end));
  rd.skip(next);
  for (std::size_t params = 0; rd.remaining() > 0 && params < kMaxSvcParams; ++params) {
    std::uint16_t key = 0;
    std::uint16_t length = 0;
    ByteReader value;
    if (!rd.read_u16be(key) || !rd.read_u16be(length) || !rd.sub_reader(length, value)) return false;
    switch (key) {
      case kSvcKeyEch:
        a.ech = true;
        break;
      case kSvcKeyIpv4Hint:
        if (length == 0 || length % 4 != 0) return false;
        read_hints(value, 4, a);
        break;
      case kSvcKeyIpv6Hint:
        if (length == 0 || length % 16 != 0) return false;
        read_hints(value, 16, a);
        break;
      default:
        break;
    }
  }
  return true;
}

// RDATA of the types we keep; false when it does not fill [start, end) exactly.
bool parse_rdata(Bytes msg, std::size_t start, std::size_t end, Answer& a) noexcept {
  const std::size_t length = end - start;
  ByteReader rd(msg.first(end));
  rd.skip(start);
  Bytes b;
  switch (a.type) {
    case rr::kA:
      if (length != 4) return false;
      rd.read_bytes(4, b);
      a.address = core::IpAddress::v4(b.first<4>());
      return true;
    case rr::kAaaa:
      if (length != 16) return false;
      rd.read_bytes(16, b);
      a.address = core::IpAddress::v6(b.first<16>());
      return true;
    case rr::kCname:
    case rr::kPtr: {
      std::size_t next = 0;
      return read_rdata_name(msg, start, end, a.target, next) && next == end;
    }
    case rr::kSvcb:
    case rr::kHttps:
      return parse_svcb(msg, start, end, a);
    default:
      return true;  // kept with its name, type and TTL; RDATA not read
  }
}

ParseStatus from_name_status(NameStatus s) noexcept {
  return s == NameStatus::kTruncated ? ParseStatus::kNeedMore : ParseStatus::kMalformed;
}

void lower_copy(const QuestionName& from, QuestionName& to) noexcept {
  to.length = from.length;
  for (std::size_t i = 0; i < from.length; ++i) {
    const char c = from.text[i];
    to.text[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
}

std::string_view with_number(std::string_view prefix, unsigned value, std::array<char, 16>& scratch) noexcept {
  std::size_t n = prefix.copy(scratch.data(), scratch.size());
  const auto r = std::to_chars(scratch.data() + n, scratch.data() + scratch.size(), value);
  n = static_cast<std::size_t>(r.ptr - scratch.data());
  return {scratch.data(), n};
}

}  // namespace

ParseStatus parse_message(Bytes bytes, Message& out) noexcept {
  out.answers.clear();
  out.dropped_answers = 0;
  out.qname.length = 0;
  out.qname_as_sent.length = 0;
  out.qname_error = NameError::kNone;
  out.question_read = false;
  out.qtype = 0;
  out.more_questions.clear();
  ByteReader in(bytes);
  std::uint16_t flags = 0;
  std::uint16_t qdcount = 0;
  std::uint16_t ancount = 0;
  if (!in.read_u16be(out.id) || !in.read_u16be(flags) || !in.read_u16be(qdcount) || !in.read_u16be(ancount) ||
      !in.skip(4)) {
    return ParseStatus::kNeedMore;
  }
  out.response = (flags & 0x8000) != 0;
  out.opcode = static_cast<std::uint8_t>((flags >> 11) & 0x0F);
  out.truncated = (flags & 0x0200) != 0;
  out.rcode = static_cast<std::uint8_t>(flags & 0x0F);
  out.question_count = qdcount;

  bool name_problem = false;  // a name over 255 octets: kept cut, the rest read, the message malformed
  std::size_t pos = in.offset();
  for (std::size_t q = 0; q < qdcount; ++q) {
    if (q == kMaxQuestions) return ParseStatus::kMalformed;
    // Each name is read once, as sent, straight into its place; its lower-case form differs only
    // in A-Z (escapes are digits), so it is copied rather than read again.
    const bool keep = q == 0 || out.more_questions.size() < out.more_questions.capacity();
    if (q > 0 && keep) out.more_questions.push_back({});  // room checked: the entry is the last one
    Message::Question* extra = q > 0 && keep ? &out.more_questions[out.more_questions.size() - 1] : nullptr;
    if (q > 0 && !keep) out.more_questions.push_back({});  // past the limit: marked overflowed, not kept
    QuestionName* as_sent = q == 0 ? &out.qname_as_sent : extra != nullptr ? &extra->as_sent : nullptr;
    const NameStatus s =
        as_sent != nullptr ? read_name(bytes, pos, bytes.size(), *as_sent, pos, false) : skip_name(bytes, pos, pos);
    if (as_sent != nullptr) {
      lower_copy(*as_sent, q == 0 ? out.qname : extra->name);
      (q == 0 ? out.qname_error : extra->error) = to_name_error(s);
      if (q == 0) out.question_read = true;  // whole or not: what was read is kept
    }
    if (s != NameStatus::kOk && s != NameStatus::kTooLong) return from_name_status(s);
    name_problem = name_problem || s == NameStatus::kTooLong;
    in = ByteReader(bytes);
    in.skip(pos);
    std::uint16_t qtype = 0;
    if (!in.read_u16be(qtype) || !in.skip(2)) {
      // The name is whole but the question's type and class are cut off: kept, marked truncated.
      if (as_sent != nullptr) (q == 0 ? out.qname_error : extra->error) = NameError::kTruncated;
      return ParseStatus::kNeedMore;
    }
    if (q == 0) {
      out.qtype = qtype;
    } else if (extra != nullptr) {
      extra->qtype = qtype;
    }
    pos = in.offset();
  }

  Answer a;
  for (std::size_t i = 0; i < ancount && i < kMaxRecords; ++i) {
    a = Answer{};
    const NameStatus s = read_name(bytes, pos, bytes.size(), a.name, pos);
    if (s != NameStatus::kOk && s != NameStatus::kTooLong) return from_name_status(s);
    in = ByteReader(bytes);
    in.skip(pos);
    std::uint16_t rdlength = 0;
    if (!in.read_u16be(a.type) || !in.read_u16be(a.klass) || !in.read_u32be(a.ttl) || !in.read_u16be(rdlength)) {
      return ParseStatus::kNeedMore;
    }
    const std::size_t rdata = in.offset();
    if (!in.skip(rdlength)) return ParseStatus::kNeedMore;
    pos = in.offset();
    // An owner name cut at the limit names nothing reliably: the record is dropped, the framing
    // (RDLENGTH) goes on.
    name_problem = name_problem || s == NameStatus::kTooLong;
    if (s != NameStatus::kOk || !parse_rdata(bytes, rdata, pos, a)) {
      ++out.dropped_answers;
      continue;
    }
    if (!out.answers.push_back(a)) break;
  }
  return name_problem ? ParseStatus::kMalformed : ParseStatus::kOk;
}

std::string_view name_error_text(NameError e) noexcept {
  switch (e) {
    case NameError::kNone: return "";
    case NameError::kTooLong: return "too-long";
    case NameError::kExtendedLabel: return "extended-label";
    case NameError::kReservedLabelType: return "reserved-label-type";
    case NameError::kBadPointer: return "bad-pointer";
    case NameError::kTruncated: return "truncated";
  }
  return "";
}

std::string_view type_name(std::uint16_t type, std::array<char, 16>& scratch) noexcept {
  switch (type) {
    // IANA "Resource Record (RR) TYPEs"; the rest as TYPEnnn (RFC 3597).
    case rr::kA: return "A";
    case 2: return "NS";
    case 3: return "MD";
    case 4: return "MF";
    case rr::kCname: return "CNAME";
    case 6: return "SOA";
    case 7: return "MB";
    case 8: return "MG";
    case 9: return "MR";
    case 10: return "NULL";
    case 11: return "WKS";
    case rr::kPtr: return "PTR";
    case 13: return "HINFO";
    case 14: return "MINFO";
    case 15: return "MX";
    case rr::kTxt: return "TXT";
    case 17: return "RP";
    case 18: return "AFSDB";
    case 24: return "SIG";
    case 25: return "KEY";
    case rr::kAaaa: return "AAAA";
    case 29: return "LOC";
    case 33: return "SRV";
    case 35: return "NAPTR";
    case 36: return "KX";
    case 37: return "CERT";
    case 39: return "DNAME";
    case 41: return "OPT";
    case 42: return "APL";
    case 43: return "DS";
    case 44: return "SSHFP";
    case 45: return "IPSECKEY";
    case 46: return "RRSIG";
    case 47: return "NSEC";
    case 48: return "DNSKEY";
    case 49: return "DHCID";
    case 50: return "NSEC3";
    case 51: return "NSEC3PARAM";
    case 52: return "TLSA";
    case 53: return "SMIMEA";
    case 55: return "HIP";
    case 59: return "CDS";
    case 60: return "CDNSKEY";
    case 61: return "OPENPGPKEY";
    case 62: return "CSYNC";
    case 63: return "ZONEMD";
    case rr::kSvcb: return "SVCB";
    case rr::kHttps: return "HTTPS";
    case 99: return "SPF";
    case 108: return "EUI48";
    case 109: return "EUI64";
    case 249: return "TKEY";
    case 250: return "TSIG";
    case 251: return "IXFR";
    case 252: return "AXFR";
    case 253: return "MAILB";
    case 254: return "MAILA";
    case 255: return "ANY";
    case 256: return "URI";
    case 257: return "CAA";
    default: return with_number("TYPE", type, scratch);
  }
}

std::string_view rcode_name(std::uint8_t rcode, std::array<char, 16>& scratch) noexcept {
  switch (rcode) {
    case 0: return "NOERROR";
    case 1: return "FORMERR";
    case 2: return "SERVFAIL";
    case 3: return "NXDOMAIN";
    case 4: return "NOTIMP";
    case 5: return "REFUSED";
    case 6: return "YXDOMAIN";
    case 7: return "YXRRSET";
    case 8: return "NXRRSET";
    case 9: return "NOTAUTH";
    case 10: return "NOTZONE";
    default: return with_number("RCODE", rcode, scratch);
  }
}

}  // namespace flowaudit::analysis::dns
