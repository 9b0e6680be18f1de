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
// A question's name in presentation form at its longest: 255 octets on the wire (RFC 1035 2.3.4)
// hold at most 250 bytes in labels (63+63+63+61), each escaped as \DDD, and 3 dots. Questions get
// this room so that a tunnelling name of binary bytes (iodine's base128) is escaped, never dropped;
// answer names keep kMaxNameLength (an answer whose name does not fit is counted as dropped).
inline constexpr std::size_t kMaxQuestionText = 4 * 250 + 3;
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
template <std::size_t Capacity>
struct BasicName {
  std::array<char, Capacity + 1> text{};
  std::uint16_t length = 0;
  [[nodiscard]] std::string_view view() const noexcept { return {text.data(), length}; }
  static constexpr std::size_t capacity() noexcept { return Capacity; }
};
using Name = BasicName<kMaxNameLength>;
using QuestionName = BasicName<kMaxQuestionText>;

// Why a question's name is not whole. The name then holds the labels read before the problem
// (for kTooLong: the labels within the 255-octet limit), so an auditor still sees what was asked.
enum class NameError : std::uint8_t {
  kNone,
  kTooLong,            // over 255 octets (RFC 1035 2.3.4); the message's framing goes on after it
  kExtendedLabel,      // a label type 0x40 (RFC 6891 6.1; binary labels, RFC 2673, are historic)
  kReservedLabelType,  // a label type 0x80 (reserved, RFC 6891 6.1)
  kBadPointer,         // a compression pointer forward, into the header, or in a loop
  kTruncated,          // the message ends inside the name, or before the question's type and class
};
// "too-long", "extended-label", ... ; "" for kNone.
std::string_view name_error_text(NameError e) noexcept;

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
  // The first question was read (its name may be the root, ""), whole or, with qname_error set,
  // up to a problem in its name (then qtype is 0 unless the framing survived, as for kTooLong).
  bool question_read = false;
  QuestionName qname;          // first question
  QuestionName qname_as_sent;  // the same name with its letters' case as on the wire (0x20 encoding)
  std::uint16_t qtype = 0;
  NameError qname_error = NameError::kNone;
  struct Question {
    QuestionName name;     // lower case
    QuestionName as_sent;  // case as on the wire
    std::uint16_t qtype = 0;
    NameError error = NameError::kNone;
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
// A question whose name is not whole is kept with what was read and its NameError; the result is
// then kMalformed (kNeedMore for kTruncated), and after a name over 255 octets the rest is read.
app::ParseStatus parse_message(std::span<const std::uint8_t> bytes, Message& out) noexcept;

// "A", "AAAA", "HTTPS", ... or "TYPE123".
std::string_view type_name(std::uint16_t type, std::array<char, 16>& scratch) noexcept;
// "NOERROR", "NXDOMAIN", ... or "RCODE12".
std::string_view rcode_name(std::uint8_t rcode, std::array<char, 16>& scratch) noexcept;

}  // namespace flowaudit::analysis::dns
