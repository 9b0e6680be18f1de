#include "analysis/app/tls/tls_handler.h"

#include <algorithm>

#include "analysis/app/tls/client_hello.h"
#include "analysis/app/tls/fingerprint.h"

namespace flowaudit::analysis::tls {
namespace {

std::uint16_t highest_version(const ClientHello& hello) {
  std::uint16_t best = 0;
  for (const std::uint16_t v : hello.supported_versions) {
    if (!is_grease(v)) best = std::max(best, v);
  }
  return best != 0 ? best : hello.legacy_version;
}

}  // namespace

// Content type handshake (22), then version major 3 and minor up to 4: decided on at most 3 bytes.
app::Claim TlsHandler::claims(const app::ProbeInput& in) noexcept {
  const auto p = in.payload;
  if (p.empty()) return app::Claim::kNeedMore;
  if (p[0] != 0x16) return app::Claim::kNo;
  if (p.size() < 2) return app::Claim::kNeedMore;
  if (p[1] != 0x03) return app::Claim::kNo;
  if (p.size() < 3) return app::Claim::kNeedMore;
  return p[2] <= 0x04 ? app::Claim::kYes : app::Claim::kNo;
}

void TlsHandler::on_stream(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender,
                           std::span<const std::uint8_t> bytes) {
  const bool from_client = sender == f.client;
  app::FlowDetails& d = ctx.details_for(f);
  HandshakeReader& reader = reader_[sender];
  const auto reader_before = reader.state();
  reader.feed(bytes, [&](const HandshakeReader::Message& m) {
    if (m.type == handshake::kClientHello && from_client) {
      record_client_hello(ctx, d, m.body, false);
    } else if (m.type == handshake::kServerHello && !from_client) {
      record_server_hello(ctx, d, m.body);
    } else if (m.type == handshake::kCertificate && !from_client) {
      if (!d.tls || d.tls->version >= 0x0304) return;  // TLS 1.3 certificates are encrypted
      const CertificateCache::Entry& cert = ctx.certificates.get(m.body, *ctx.strings);
      if (!cert.ok) {
        ++ctx.stats.tls_malformed;
        return;
      }
      d.tls->cert_subject = cert.subject;
      d.tls->cert_issuer = cert.issuer;
      d.tls->cert_san = cert.san;
    }
  });
  if (reader.state() == HandshakeReader::State::kLimit && reader_before != reader.state()) {
    on_stream_stopped(ctx, f, sender, app::InspectionLimit::kTlsHandshake);
  }
  const auto client_state = reader_[f.client].state();
  const auto server_state = reader_[f.server()].state();
  const bool server_finished = server_state != HandshakeReader::State::kReading ||
                               (d.tls && d.tls->server_hello && d.tls->version >= 0x0304);
  if (client_state != HandshakeReader::State::kReading && server_finished) app::done(f);
  if (client_state == HandshakeReader::State::kNotTls && !(d.tls && d.tls->client_hello)) app::done(f);
}

// The direction stopped before it gave its hello: the flow may hide where it goes.
void TlsHandler::on_stream_stopped(app::AppContext& ctx, const flow::Flow& f, std::uint8_t sender,
                                   app::InspectionLimit which) {
  const auto it = ctx.details.find(f.id);
  const app::TlsDetails* t = it != ctx.details.end() ? it->second.tls.get() : nullptr;
  if (t == nullptr || !(sender == f.client ? t->client_hello : t->server_hello)) ctx.inspection_limit(f, which);
}

void record_server_hello(app::AppContext& ctx, app::FlowDetails& d, std::span<const std::uint8_t> body) {
  ServerHello sh;
  if (parse_server_hello(body, sh) != app::ParseStatus::kOk) {
    ++ctx.stats.tls_malformed;
    return;
  }
  if (!d.tls) d.tls = std::make_unique<app::TlsDetails>();
  d.tls->server_hello = true;
  d.tls->version = sh.version();
  d.tls->cipher = sh.cipher_suite;
  d.tls->alpn = ctx.strings->intern(sh.alpn);
  d.tls->ja3s = ctx.strings->intern(ja3s(sh));
}

void record_client_hello(app::AppContext& ctx, app::FlowDetails& d, std::span<const std::uint8_t> body, bool quic) {
  ClientHello hello;
  if (parse_client_hello(body, hello) != app::ParseStatus::kOk) {
    ++ctx.stats.tls_malformed;
    return;
  }
  if (!d.tls) d.tls = std::make_unique<app::TlsDetails>();
  app::TlsDetails& t = *d.tls;
  // The first ClientHello is the client's fingerprint (JA3 and JA4 are defined on it, tshark and
  // FoxIO take it). The second one after a HelloRetryRequest differs: Chrome drops the GREASE and
  // padding extensions it had put last to pad the first hello, so letting it overwrite the first
  // cut the JA3 list before them and the JA4 count by one.
  if (t.client_hello) return;
  core::StringPool& strings = *ctx.strings;
  t.client_hello = true;
  t.has_sni = hello.has_sni;
  t.sni = strings.intern(hello.sni);
  t.alpn_offered = strings.intern(core::join_items(hello.alpn));
  t.client_version = highest_version(hello);
  t.cipher_count = 0;
  for (const auto c : hello.cipher_suites) t.cipher_count = static_cast<std::uint16_t>(t.cipher_count + !is_grease(c));
  t.ech = hello.has_ech;
  const std::string ja3_text = ja3_string(hello);
  t.ja3_string = strings.intern(ja3_text);
  t.ja3 = strings.intern(ja3(hello));
  t.ja4 = strings.intern(ja4(hello, quic));
}

}  // namespace flowaudit::analysis::tls
