// What the application-layer parsers learned about a flow, and the DNS exchanges seen. Kept per
// flow (allocated once per flow that has something to say), joined with the flows at report time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/app/http/http1_connection.h"
#include "analysis/app/unnamed_reason.h"
#include "analysis/decrypt/decrypt_facts.h"
#include "core/ip_address.h"
#include "core/timestamp.h"

namespace flowaudit::analysis::app {

// kHttpConnect and kSocks: a proxy handshake whose tunnel carried nothing flowaudit reads (once
// the tunnel carries TLS or HTTP the flow is "tls" or "http", and FlowDetails::proxy says how it
// went). kSmtp ... kPostgres: the plaintext protocol that upgraded to TLS (STARTTLS, AUTH TLS,
// SSLRequest); its TLS handshake is in FlowDetails::tls.
enum class AppProtocol : std::uint8_t {
  kUnknown, kDns, kTls, kQuic, kGquic, kHttp,
  kHttpConnect, kSocks, kSmtp, kImap, kPop3, kFtp, kXmpp, kLdap, kPostgres,
};
// "dns", "tls", "quic", "gquic", "http", "http-connect", "socks", "smtp", "imap", "pop3", "ftp",
// "xmpp", "ldap", "postgres"; unknown -> ""
const char* to_string(AppProtocol p) noexcept;
// A protocol that may upgrade to TLS in the same connection (STARTTLS and its kin).
bool is_starttls_protocol(AppProtocol p) noexcept;

// Facts about what an audit could not see into; the rules use them. kInspectionLimit: a parser
// limit (HTTP head size, TLS handshake message size, TCP reordering or byte budget, first bytes
// too few to tell the protocol, DNS messages per flow) was crossed before the flow said what it
// is and where it goes, so the flow may hide what it sends.
enum class BlindSpot : std::uint8_t {
  kNone,
  kEch,
  kDnsOverTls,
  kDnsOverHttps,
  kQuicUndecryptable,
  kUdpUnknown,
  kInspectionLimit,
  kEncryptedNoKeys,  // decryption was asked for (a key log), and the log had no keys for this flow
};
inline constexpr std::size_t kBlindSpotKinds = 8;  // values of BlindSpot, kNone included
const char* to_string(BlindSpot b) noexcept;  // "ech", "dns-over-tls", ... ; none -> ""

// Which limit an inspection-limit flow crossed (the first one; a report's blind_spot_reason).
enum class InspectionLimit : std::uint8_t {
  kNone,
  kTcpReorder,      // early segments beyond flow::TcpStream's limits before the gap was filled
  kTcpBudget,       // the per-direction byte budget (AppConfig::tcp_inspect_bytes)
  kHttpHeadBytes,   // http::kMaxHeaderBytes
  kHttpHeadLines,   // http::kMaxHeaders
  kTlsHandshake,    // tls::HandshakeReader's message or handshake size limit
  kQuicClientHello, // quic::InitialAssembler's limits or AppConfig::max_quic_datagrams
  kConcurrentInspections,  // AppConfig::max_inspections flows were being inspected already
  kProtocolDetection,  // the first bytes ended (or the other side spoke) before any claim decided
  kDnsMessages,        // AppConfig::max_dns_messages_per_flow
  kProxyHandshake,     // proxy::kMaxHandshakeBytes: a CONNECT or SOCKS handshake longer than any real one
  kStartTlsPlaintext,  // starttls::kMaxPlaintextBytes read before the upgrade to TLS
  kContentDecoding,    // a request body's decoding crossed http::ContentDecoder's limits (a bomb)
  kQuicDecryptBudget,  // a decrypted QUIC connection's streams crossed AppConfig::tcp_decrypt_bytes
  kInspectionBudget,   // inspect::InspectOptions' bytes per flow or per run: requests left uninspected
};
const char* to_string(InspectionLimit l) noexcept;  // "tcp-reorder", ... ; none -> ""

// Strings are views into the analyzer's StringPool (shared by every flow with the same value);
// lists are joined with core::kListSeparator.
struct TlsDetails {
  bool client_hello = false;
  bool server_hello = false;
  bool has_sni = false;
  bool ech = false;
  bool sslv2_hello = false;  // the ClientHello was in SSLv2 format: no extensions, so no SNI, JA3 or JA4
  std::uint16_t client_version = 0;  // highest version offered
  std::uint16_t version = 0;         // negotiated
  std::uint16_t cipher = 0;          // negotiated
  std::uint16_t cipher_count = 0;    // offered, GREASE excluded
  std::string_view sni;
  std::string_view alpn_offered;  // joined list
  std::string_view alpn;          // selected by the server
  std::string_view ja3;
  std::string_view ja3_string;
  std::string_view ja3s;
  std::string_view ja4;
  std::string_view cert_subject;
  std::string_view cert_issuer;
  std::string_view cert_san;  // joined list
};

struct HttpDetails {
  std::string_view method;
  std::string_view host;
  std::string_view path;
  std::string_view user_agent;
  std::string_view content_type;
  std::int64_t content_length = -1;
  std::uint32_t requests = 0;
};

struct QuicDetails {
  std::uint32_t version = 0;
  std::string_view version_name;  // "1", "2", "draft-29", "Q046", ...
  bool decrypted = false;
  // The server's Version Negotiation: the names of the versions it offered, joined by ','
  // (empty when none was seen); and whether it sent a Retry.
  bool version_negotiation = false;
  std::string_view offered_versions;
  bool retry = false;
};

// What a client asked a proxy for: an HTTP CONNECT request or a SOCKS request. On the wire is only
// the proxy's address; the server behind it is this host and port (its address is known only when
// the client asked by address).
struct ProxyDetails {
  std::string_view type;  // "http-connect", "http-proxy" (absolute-form request), "socks4", "socks4a", "socks5"
  std::string_view host;  // the requested name, or the requested address as text
  std::uint16_t port = 0;
  bool by_address = false;  // host is an IP address (SOCKS4, SOCKS5 IPv4/IPv6, CONNECT [addr]:port)
  bool granted = false;     // the proxy answered with success (2xx, SOCKS granted)
};

// Allocated per flow that has something to say; the parts only where they apply, so a DNS or an
// unknown flow costs a few bytes.
// The HTTP exchanges of one flow, in order (http::Exchange: method, authority, path, status, types,
// encodings, body sizes; request bodies kept, bounded, for inspection and never reported).
struct HttpExchanges {
  std::string_view scheme;  // "https" (decrypted) or "http"
  std::vector<http::Exchange> list;
  std::uint64_t dropped = 0;  // past http::Http1Connection::kMaxExchanges
};

struct FlowDetails {
  AppProtocol app = AppProtocol::kUnknown;
  BlindSpot blind_spot = BlindSpot::kNone;
  InspectionLimit limit = InspectionLimit::kNone;  // with kInspectionLimit
  std::unique_ptr<TlsDetails> tls;  // TLS over TCP, or the ClientHello inside QUIC
  std::unique_ptr<HttpDetails> http;
  std::unique_ptr<QuicDetails> quic;
  std::unique_ptr<ProxyDetails> proxy;  // the flow went through an HTTP or SOCKS proxy
  std::unique_ptr<decrypt::DecryptFacts> decryption;  // a key log was given and the flow is TLS
  std::unique_ptr<HttpExchanges> requests;  // every HTTP request reconstructed (decrypted or plaintext)
};

// A flow has one blind spot. inspection-limit wins over every other: it is the one a sender can
// cause on purpose to hide from the audit, and the one the default policy fails on; the others
// only replace kNone.
void mark_blind_spot(FlowDetails& d, BlindSpot b) noexcept;

// 1: TLS or QUIC, 0: plaintext HTTP or DNS, -1: not known.
int encrypted(const FlowDetails* d) noexcept;

struct SvcbAnswer {  // an HTTPS or SVCB record (RFC 9460)
  std::uint16_t priority = 0;
  std::string target;  // "." for the owner name itself
  bool ech = false;
  std::vector<std::string> hints;  // ipv4hint / ipv6hint addresses
};

struct DnsRecord {
  std::uint64_t flow_id = 0;
  std::uint64_t packet = 0;  // the packet that made the record (1-based): the order of the log with --threads
  core::TimestampNs ts_ns = 0;
  std::string transport;  // "udp" or "tcp"
  core::IpAddress server;
  core::IpAddress client;  // who asked (the flow's client), for the event stream
  std::uint16_t client_port = 0;
  std::uint16_t server_port = 0;
  std::string query;          // lower case, "." for the root, empty: no question (JSON null)
  std::string query_as_sent;  // the case as on the wire, when it differs from query; else empty
  std::string_view local;     // "mdns" or "llmnr" (link-local name resolution), else empty
  // Why the name is not whole ("too-long", "extended-label", ... : dns::name_error_text); query
  // then holds the labels read before the problem. Empty: the name was read whole.
  std::string_view name_error;
  std::string qtype;
  std::optional<std::string> rcode;  // null: no response seen
  std::vector<std::string> answers;  // A/AAAA addresses and CNAME/PTR targets, in answer order
  std::vector<SvcbAnswer> svcb;      // HTTPS/SVCB answers
  bool ech = false;                  // an HTTPS/SVCB answer carries an ECH config
};

// How a flow got its name (precedence tls-sni / quic-sni, then the host asked of a proxy
// (proxy-connect, socks), then http-host, then dns). Views into
// the audit's StringPool.
struct FlowName {
  std::string_view hostname;
  // "tls-sni", "quic-sni", "proxy-connect", "socks", "http-host", "dns"; empty: unnamed
  std::string_view source;
  std::string_view dns_cnames;  // when named by DNS: the chain from the name to the address (joined)
  UnnamedReason unnamed = UnnamedReason::kNone;  // why not, when the flow has no name
};

}  // namespace flowaudit::analysis::app
