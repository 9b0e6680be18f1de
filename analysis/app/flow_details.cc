#include "analysis/app/flow_details.h"

#include "analysis/app/tls/client_hello.h"

namespace flowaudit::analysis::app {

const char* to_string(AppProtocol p) noexcept {
  switch (p) {
    case AppProtocol::kDns: return "dns";
    case AppProtocol::kTls: return "tls";
    case AppProtocol::kQuic: return "quic";
    case AppProtocol::kGquic: return "gquic";
    case AppProtocol::kHttp: return "http";
    case AppProtocol::kHttpConnect: return "http-connect";
    case AppProtocol::kSocks: return "socks";
    case AppProtocol::kSmtp: return "smtp";
    case AppProtocol::kImap: return "imap";
    case AppProtocol::kPop3: return "pop3";
    case AppProtocol::kFtp: return "ftp";
    case AppProtocol::kXmpp: return "xmpp";
    case AppProtocol::kLdap: return "ldap";
    case AppProtocol::kPostgres: return "postgres";
    case AppProtocol::kUnknown: break;
  }
  return "";
}

bool is_starttls_protocol(AppProtocol p) noexcept {
  return p >= AppProtocol::kSmtp && p <= AppProtocol::kPostgres;
}

const char* to_string(BlindSpot b) noexcept {
  switch (b) {
    case BlindSpot::kEch: return "ech";
    case BlindSpot::kDnsOverTls: return "dns-over-tls";
    case BlindSpot::kDnsOverHttps: return "dns-over-https";
    case BlindSpot::kQuicUndecryptable: return "quic-undecryptable";
    case BlindSpot::kEncryptedNoKeys: return "encrypted-no-keys";
    case BlindSpot::kUdpUnknown: return "udp-unknown";
    case BlindSpot::kInspectionLimit: return "inspection-limit";
    case BlindSpot::kNone: break;
  }
  return "";
}

const char* to_string(InspectionLimit l) noexcept {
  switch (l) {
    case InspectionLimit::kTcpReorder: return "tcp-reorder";
    case InspectionLimit::kTcpBudget: return "tcp-byte-budget";
    case InspectionLimit::kHttpHeadBytes: return "http-head-bytes";
    case InspectionLimit::kHttpHeadLines: return "http-head-lines";
    case InspectionLimit::kTlsHandshake: return "tls-handshake-size";
    case InspectionLimit::kQuicClientHello: return "quic-client-hello";
    case InspectionLimit::kConcurrentInspections: return "concurrent-inspections";
    case InspectionLimit::kProtocolDetection: return "protocol-detection";
    case InspectionLimit::kDnsMessages: return "dns-messages";
    case InspectionLimit::kProxyHandshake: return "proxy-handshake";
    case InspectionLimit::kStartTlsPlaintext: return "starttls-plaintext";
    case InspectionLimit::kContentDecoding: return "content-decoding";
    case InspectionLimit::kQuicDecryptBudget: return "quic-decrypt-budget";
    case InspectionLimit::kInspectionBudget: return "inspection-budget";
    case InspectionLimit::kNone: break;
  }
  return "";
}

void mark_blind_spot(FlowDetails& d, BlindSpot b) noexcept {
  if (d.blind_spot == BlindSpot::kInspectionLimit) return;
  if (b == BlindSpot::kInspectionLimit || d.blind_spot == BlindSpot::kNone) d.blind_spot = b;
}

int encrypted(const FlowDetails* d) noexcept {
  if (d == nullptr) return -1;
  switch (d->app) {
    case AppProtocol::kTls:
      // A NULL cipher suite authenticates but does not encrypt: the records travel in clear.
      if (d->tls && d->tls->server_hello && tls::is_null_cipher(d->tls->cipher)) return 0;
      return 1;
    case AppProtocol::kQuic:
    case AppProtocol::kGquic:
      return 1;
    case AppProtocol::kHttp:
    case AppProtocol::kDns:
      return 0;
    case AppProtocol::kSmtp:
    case AppProtocol::kImap:
    case AppProtocol::kPop3:
    case AppProtocol::kFtp:
    case AppProtocol::kXmpp:
    case AppProtocol::kLdap:
    case AppProtocol::kPostgres:
      // Upgraded once the client sent its ClientHello after the server's go-ahead; a session
      // that never upgraded (or whose upgrade the capture does not show) ran in plaintext.
      if (!d->tls || !d->tls->client_hello) return 0;
      if (d->tls->server_hello && tls::is_null_cipher(d->tls->cipher)) return 0;
      return 1;
    case AppProtocol::kHttpConnect:
    case AppProtocol::kSocks:
    case AppProtocol::kUnknown:
      break;
  }
  return -1;
}

}  // namespace flowaudit::analysis::app
