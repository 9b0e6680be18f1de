// Why a flow has no name: so that a reader of a report can tell "nobody can know" (no payload, a
// handshake the capture missed, an encrypted SNI) from "flowaudit did not look" (an inspection
// limit, a transport it does not inspect). One table of names and explanations: adding a reason is
// one enum value and one row (unnamed_reason.cc), and every report, the JSON schema's enum and the
// policy field `unnamed_reason` pick it up.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace flowaudit::analysis::flow {
struct Flow;
}

namespace flowaudit::analysis::app {

struct FlowDetails;

enum class UnnamedReason : std::uint8_t {
  kNone,               // the flow has a name
  kNotInspected,       // not TCP or UDP (ICMP, GRE, ...): flowaudit does not look into it
  kInspectionLimit,    // a parser limit was crossed first (blind_spot inspection-limit; its reason says which)
  kEncryptedSni,       // the ClientHello hides the name (ECH / encrypted SNI)
  kQuicUndecryptable,  // QUIC whose Initial could not be decrypted (unknown version, no Initial seen)
  kNoSni,              // a ClientHello without a server name
  kNoClientHello,      // TLS records, but the ClientHello was not seen
  kHttpNoHost,         // plaintext HTTP without a Host header
  kHttpNoRequest,      // taken for HTTP by its first bytes, but no request head was read
  kDnsExchange,        // the flow is DNS to a resolver: its names are in dns[], not its own
  kNoPayload,          // no application byte in either direction (a SYN, a failed connect, a scan)
  kNoHandshake,        // TCP that started mid-stream (the capture missed its handshake) and said nothing known
  kUnknownProtocol,    // inspected from its first byte, no parser recognised it
  kProxyNoRequest,     // a proxy connection (CONNECT, SOCKS) whose request naming the target was not read
  kNoTlsUpgrade,       // a mail, file, directory or database session not seen upgrading to TLS: no server name in it
  kTunnelDepth,        // inside tunnels nested deeper than packet::kMaxTunnelDepth: the innermost was not opened
  kSslv2Hello,         // an SSLv2-format ClientHello: it has no extensions, so it cannot carry a server name
  kCount,              // not a reason: the number of values (a new reason goes before it, with its row below)
};

struct UnnamedReasonInfo {
  UnnamedReason reason;
  std::string_view name;         // in reports and policies
  std::string_view explanation;  // one line for a reader of a report
};

inline constexpr std::size_t kUnnamedReasonKinds = static_cast<std::size_t>(UnnamedReason::kCount);

// Indexed by the enum's value (checked at compile time below).
inline constexpr std::array<UnnamedReasonInfo, kUnnamedReasonKinds> kUnnamedReasons{{
    {UnnamedReason::kNone, "", ""},
    {UnnamedReason::kNotInspected, "not-inspected", "not TCP or UDP: flowaudit does not look into this transport"},
    {UnnamedReason::kInspectionLimit, "inspection-limit",
     "an inspection limit was crossed before the flow said where it goes (see blind_spot_reason)"},
    {UnnamedReason::kEncryptedSni, "encrypted-sni", "the ClientHello hides the server name (Encrypted Client Hello)"},
    {UnnamedReason::kQuicUndecryptable, "quic-undecryptable", "QUIC whose Initial packets could not be decrypted"},
    {UnnamedReason::kNoSni, "no-sni", "the ClientHello carries no server name"},
    {UnnamedReason::kNoClientHello, "no-client-hello", "TLS records, but the ClientHello was not in the capture"},
    {UnnamedReason::kHttpNoHost, "http-no-host", "plaintext HTTP without a Host header"},
    {UnnamedReason::kHttpNoRequest, "http-no-request",
     "taken for HTTP by its first bytes, but no request head could be read (malformed, or the server spoke first)"},
    {UnnamedReason::kDnsExchange, "dns-exchange", "DNS to a resolver: the names asked are in the DNS log, not the flow's own"},
    {UnnamedReason::kNoPayload, "no-payload", "no application data in either direction: nothing to name it by"},
    {UnnamedReason::kNoHandshake, "no-handshake",
     "the capture started in the middle of this TCP connection and what followed named nothing"},
    {UnnamedReason::kUnknownProtocol, "unknown-protocol", "inspected from its first byte; no parser recognised the protocol"},
    {UnnamedReason::kProxyNoRequest, "proxy-no-request",
     "a connection to a proxy (HTTP CONNECT or SOCKS) whose request naming the target was not read"},
    {UnnamedReason::kNoTlsUpgrade, "no-tls-upgrade",
     "SMTP, IMAP, POP3, FTP, XMPP, LDAP or PostgreSQL not seen upgrading to TLS: the protocol names no server"},
    {UnnamedReason::kTunnelDepth, "tunnel-depth",
     "its packets carry tunnels nested deeper than flowaudit opens: the innermost traffic was not inspected"},
    {UnnamedReason::kSslv2Hello, "sslv2-hello",
     "the client sent an SSLv2-format ClientHello, which has no extensions: no server name can be in it"},
}};

namespace unnamed_detail {
constexpr bool table_in_order() {
  for (std::size_t i = 0; i < kUnnamedReasons.size(); ++i) {
    if (static_cast<std::size_t>(kUnnamedReasons[i].reason) != i) return false;
  }
  return true;
}
}  // namespace unnamed_detail
static_assert(unnamed_detail::table_in_order(), "kUnnamedReasons must list every UnnamedReason in order");

inline std::string_view to_string(UnnamedReason r) noexcept {
  return kUnnamedReasons[static_cast<std::size_t>(r)].name;
}
inline std::string_view explain(UnnamedReason r) noexcept {
  return kUnnamedReasons[static_cast<std::size_t>(r)].explanation;
}

// From what the analyzer saw of a flow that got no name (kNone is never returned).
UnnamedReason unnamed_reason(const flow::Flow& f, const FlowDetails* details) noexcept;

}  // namespace flowaudit::analysis::app
