// TLS over TCP: the ClientHello (SNI, ALPN, fingerprints), the ServerHello and, before TLS 1.3,
// the server's certificate. Reads both directions until the handshake turns encrypted.
#pragma once

#include <cstdint>
#include <span>

#include "analysis/app/app_context.h"
#include "analysis/app/tls/handshake_reader.h"

namespace flowaudit::analysis::tls {

class TlsHandler {
 public:
  static constexpr app::AppProtocol kProtocol = app::AppProtocol::kTls;
  static app::Claim claims(const app::ProbeInput& in) noexcept;  // a TLS handshake record header

  void on_stream(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> bytes);
  void on_stream_stopped(app::AppContext& ctx, const flow::Flow& f, std::uint8_t sender, app::InspectionLimit which);

 private:
  HandshakeReader reader_[2];  // by sender
};

// A ClientHello's facts into d.tls (shared with QUIC, whose Initial packets carry one);
// a ClientHello that does not parse counts as tls_malformed.
void record_client_hello(app::AppContext& ctx, app::FlowDetails& d, std::span<const std::uint8_t> body, bool quic);
// An SSLv2-format ClientHello's facts (version, cipher spec count; no SNI, JA3 or JA4) into d.tls.
void record_sslv2_client_hello(app::AppContext& ctx, app::FlowDetails& d, std::span<const std::uint8_t> body);
// A ServerHello's facts (version, cipher, ALPN, JA3S) into d.tls; shared with QUIC's server Initial.
void record_server_hello(app::AppContext& ctx, app::FlowDetails& d, std::span<const std::uint8_t> body);

}  // namespace flowaudit::analysis::tls
