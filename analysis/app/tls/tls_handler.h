// TLS over TCP: the ClientHello (SNI, ALPN, fingerprints), the ServerHello and, before TLS 1.3,
// the server's certificate. Reads both directions until the handshake turns encrypted.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "analysis/app/app_context.h"
#include "analysis/app/tls/handshake_reader.h"
#include "analysis/decrypt/tls_decryptor.h"

namespace flowaudit::analysis::tls {

class TlsHandler {
 public:
  static constexpr app::AppProtocol kProtocol = app::AppProtocol::kTls;
  static app::Claim claims(const app::ProbeInput& in) noexcept;  // a TLS handshake record header

  TlsHandler() noexcept;
  ~TlsHandler();
  TlsHandler(TlsHandler&&) noexcept;
  TlsHandler& operator=(TlsHandler&&) noexcept;

  void on_stream(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> bytes);
  void on_stream_stopped(app::AppContext& ctx, const flow::Flow& f, std::uint8_t sender, app::InspectionLimit which);
  void on_retire(app::AppContext& ctx, flow::Flow& f);
  // Bytes per direction the analyzer delivers: the handshake, or the whole flow within
  // AppConfig::tcp_decrypt_bytes while it is being decrypted.
  [[nodiscard]] std::uint64_t stream_budget(const app::AppContext& ctx) const noexcept;

 private:
  struct Decryption;  // the decryptor and what its plaintext feeds
  void decrypt(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> bytes);
  void finish_decryption(app::AppContext& ctx, const flow::Flow& f);

  HandshakeReader reader_[2];  // by sender
  std::unique_ptr<Decryption> decryption_;  // only when a key log was given
  bool decryption_over_ = false;
};

// A ClientHello's facts into d.tls (shared with QUIC, whose Initial packets carry one);
// a ClientHello that does not parse counts as tls_malformed.
void record_client_hello(app::AppContext& ctx, app::FlowDetails& d, std::span<const std::uint8_t> body, bool quic);
// An SSLv2-format ClientHello's facts (version, cipher spec count; no SNI, JA3 or JA4) into d.tls.
void record_sslv2_client_hello(app::AppContext& ctx, app::FlowDetails& d, std::span<const std::uint8_t> body);
// A ServerHello's facts (version, cipher, ALPN, JA3S) into d.tls; shared with QUIC's server Initial.
void record_server_hello(app::AppContext& ctx, app::FlowDetails& d, std::span<const std::uint8_t> body);

}  // namespace flowaudit::analysis::tls
