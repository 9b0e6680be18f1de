// DNS messages (RFC 1035) with A, AAAA, CNAME, PTR and HTTPS/SVCB (RFC 9460) answers; compression
// pointers followed with loop detection and the 255-byte name limit (as Chromium's dns_response).
// No heap: names are copied into fixed buffers, lists are FixedLists.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "analysis/app/parse_status.h"
#include "core/fixed_list.h"
#include "core/ip_address.h"

namespace flowaudit::analysis::dns {

inline constexpr std::size_t kMaxNameLength = 255;  // presentation form, without the final dot
inline constexpr std::size_t kMaxAnswers = 32;
inline constexpr std::size_t kMaxHints = 8;
// Questions after the first that are kept: mDNS queries routinely ask several names at once
// (RFC 6762 6); one question per message is the unicast norm.
inline constexpr std::size_t kMaxMoreQuestions = 8;

namespace rr {
inline constexpr std::uint16_t kA = 1;
inline constexpr std::uint16_t kCname = 5;
inline constexpr std::uint16_t kPtr = 12;
inline constexpr std::uint16_t kTxt = 16;
inline constexpr std::uint16_t kAaaa = 28;
inline constexpr std::uint16_t kSvcb = 64;
inline constexpr std::uint16_t kHttps = 65;
}  // namespace rr

// A domain name in presentation form, lower-cased, without the trailing dot ("" is the root).
// Bytes outside printable ASCII and dots inside labels are escaped as \DDD (RFC 4343).
struct Name {
  std::array<char, kMaxNameLength + 1> text{};
  std::uint16_t length = 0;
  [[nodiscard]] std::string_view view() const noexcept { return {text.data(), length}; }
};

struct Answer {
  Name name;
  std::uint16_t type = 0;
  std::uint16_t klass = 0;
  std::uint32_t ttl = 0;
  core::IpAddress address;  // A, AAAA
  Name target;              // CNAME, PTR, SVCB/HTTPS TargetName
  std::uint16_t svc_priority = 0;  // SVCB/HTTPS
  bool ech = false;                // SVCB/HTTPS carries an "ech" parameter (key 5)
  core::FixedList<core::IpAddress, kMaxHints> hints;  // ipv4hint / ipv6hint
};

struct Message {
  std::uint16_t id = 0;
  bool response = false;
  std::uint8_t opcode = 0;
  std::uint8_t rcode = 0;
  bool truncated = false;  // the TC bit
  std::uint16_t question_count = 0;
  bool question_read = false;  // the first question was read whole (its name may be the root, "")
  Name qname;               // first question
  Name qname_as_sent;       // the same name with its letters' case as on the wire (0x20 encoding)
  std::uint16_t qtype = 0;
  struct Question {
    Name name;     // lower case
    Name as_sent;  // case as on the wire
    std::uint16_t qtype = 0;
  };
  // The questions after the first (more than kMaxMoreQuestions: the first ones, overflowed()).
  core::FixedList<Question, kMaxMoreQuestions> more_questions;
  core::FixedList<Answer, kMaxAnswers> answers;  // answer section only
  // Answers whose RDATA did not fill its RDLENGTH exactly (or was invalid for its type): left out
  // of `answers`, the records after them are still read (RDLENGTH keeps the framing).
  std::uint16_t dropped_answers = 0;
};

// Parses a whole DNS message (for TCP: without the 2-byte length prefix). kNeedMore when the bytes
// end before the header, the questions or the last answer counted in ANCOUNT do (authority and
// additional sections are not read); kMalformed when a name or the framing is broken. In both
// cases `out` keeps the header, the question (question_read) and the answers read before the
// problem: one broken record does not hide what came before it. More than
// kMaxAnswers answers: the first ones are kept, answers.overflowed() is set, and the result is kOk.
app::ParseStatus parse_message(std::span<const std::uint8_t> bytes, Message& out) noexcept;

// "A", "AAAA", "HTTPS", ... or "TYPE123".
std::string_view type_name(std::uint16_t type, std::array<char, 16>& scratch) noexcept;
// "NOERROR", "NXDOMAIN", ... or "RCODE12".
std::string_view rcode_name(std::uint8_t rcode, std::array<char, 16>& scratch) noexcept;

}  // namespace flowaudit::analysis::dns
