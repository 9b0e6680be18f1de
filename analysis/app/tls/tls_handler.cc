#include "analysis/app/tls/tls_handler.h"

#include <algorithm>
#include <cstring>

#include "analysis/app/http/http1_connection.h"
#include "analysis/app/http/http2_connection.h"
#include "analysis/app/http/http_handler.h"
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

// Shortest and longest SSLv2-format ClientHello taken: one cipher spec and a 16-byte challenge; 512
// cipher specs (real ones carry a few dozen) with the longest session id and challenge. The bound
// keeps other binary protocols whose first byte has the high bit (Telnet's 0xff) from waiting on
// this claim: most are refused by the first byte.
constexpr unsigned kMinSslv2Hello = 9 + 3 + 16;
constexpr unsigned kMaxSslv2Hello = 9 + 3 * 512 + 32 + 32;

// The fixed part of an SSLv2-format ClientHello from the client (RFC 5246 E.2): a 2-byte record
// header with the high bit set, msg_type 1, a version SSL 2.0 or 3.x, and three lengths that add
// up to the record's; decided on at most 11 bytes.
app::Claim claims_sslv2_hello(std::span<const std::uint8_t> p, bool from_client) noexcept {
  if (!from_client || (p[0] & 0x7fu) > (kMaxSslv2Hello >> 8)) return app::Claim::kNo;
  const auto u16 = [&p](std::size_t at) { return static_cast<unsigned>((p[at] << 8) | p[at + 1]); };
  if (p.size() < 2) return app::Claim::kNeedMore;
  const unsigned length = u16(0) & 0x7fffu;
  if (length < kMinSslv2Hello || length > kMaxSslv2Hello) return app::Claim::kNo;
  if (p.size() < 3) return app::Claim::kNeedMore;
  if (p[2] != handshake::kClientHello) return app::Claim::kNo;
  if (p.size() < 5) return app::Claim::kNeedMore;
  const unsigned version = u16(3);
  if (version != 0x0002 && (version >> 8) != 3) return app::Claim::kNo;
  if (p.size() < 11) return app::Claim::kNeedMore;
  const unsigned specs = u16(5);
  const unsigned session_id = u16(7);
  const unsigned challenge = u16(9);
  const bool ok = specs != 0 && specs % 3 == 0 && session_id <= 32 && challenge >= 16 && challenge <= 32 &&
                  9 + specs + session_id + challenge == length;
  return ok ? app::Claim::kYes : app::Claim::kNo;
}

}  // namespace

// The plaintext of a decrypted flow goes to the HTTP/1.x or the HTTP/2 reader.
struct TlsHandler::Decryption final : decrypt::PlaintextSink {
  explicit Decryption(const decrypt::KeyLog& keys) : decryptor(keys) {}
  // HTTP/2 or HTTP/1.x is decided by the client's first bytes (the HTTP/2 preface, RFC 9113 §3.4):
  // TLS 1.3 carries ALPN encrypted, so the ServerHello cannot tell. Server bytes that come first
  // wait for that decision, within kMaxUndecided.
  static constexpr std::size_t kMaxUndecided = 64 * 1024;
  void on_plaintext(std::uint8_t sender, std::span<const std::uint8_t> data) override {
    if (!decided) {
      if (sender != 0) {
        if (held.size() + data.size() <= kMaxUndecided) held.insert(held.end(), data.begin(), data.end());
        return;
      }
      static constexpr std::string_view kPreface = "PRI * HTTP/2.0";
      const std::size_t n = std::min(data.size(), kPreface.size());
      if (std::memcmp(data.data(), kPreface.data(), n) == 0 && !http2) http2 = std::make_unique<http::Http2Connection>();
      decided = true;
      feed(0, data);
      if (!held.empty()) feed(1, held);
      held.clear();
      held.shrink_to_fit();
      return;
    }
    feed(sender, data);
  }
  void feed(std::uint8_t sender, std::span<const std::uint8_t> data) {
    if (http2) {
      http2->on_bytes(sender == 0, data);
    } else {
      http1.on_bytes(sender == 0, data);
    }
  }
  decrypt::TlsDecryptor decryptor;
  http::Http1Connection http1;
  std::unique_ptr<http::Http2Connection> http2;
  bool decided = false;
  std::vector<std::uint8_t> held;
};

TlsHandler::TlsHandler() noexcept = default;
TlsHandler::~TlsHandler() = default;
TlsHandler::TlsHandler(TlsHandler&&) noexcept = default;
TlsHandler& TlsHandler::operator=(TlsHandler&&) noexcept = default;

std::uint64_t TlsHandler::stream_budget(const app::AppContext& ctx) const noexcept {
  return decryption_ && !decryption_over_ && ctx.config.decryption_counts() ? ctx.config.tcp_decrypt_bytes
                                                                            : ctx.config.tcp_inspect_bytes;
}

void TlsHandler::decrypt(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> bytes) {
  if (!decryption_) decryption_ = std::make_unique<Decryption>(*ctx.config.keys);
  decrypt::TlsDecryptor& dec = decryption_->decryptor;
  dec.on_stream(sender == f.client ? 0 : 1, bytes, *decryption_);
  if (dec.stopped(0) && dec.stopped(1)) finish_decryption(ctx, f);
}

// What the decryptor found goes into the flow's details once, when both directions stopped or
// the flow ends. A flow whose keys the log did not have is a blind spot: decryption was asked for,
// and what it sent stays unread.
void TlsHandler::finish_decryption(app::AppContext& ctx, const flow::Flow& f) {
  if (decryption_over_ || !decryption_) return;
  decryption_over_ = true;
  if (!ctx.config.decryption_counts()) {  // followed in case keys came; none did
    decryption_.reset();
    return;
  }
  decryption_->decryptor.finish();
  const decrypt::DecryptFacts& facts = decryption_->decryptor.facts();
  app::FlowDetails& d = ctx.details_for(f);
  d.decryption = std::make_unique<decrypt::DecryptFacts>(facts);
  auto& exchanges = decryption_->http2 ? decryption_->http2->exchanges() : decryption_->http1.exchanges();
  http::report_exchanges(ctx, f, "https", std::move(exchanges),
                         decryption_->http2 ? decryption_->http2->dropped() : decryption_->http1.dropped());
  if (facts.records_opened[0] + facts.records_opened[1] > 0) ++ctx.stats.tls_decrypted;
  const bool no_keys = facts.stop[0] == decrypt::DecryptStop::kNoKeys || facts.stop[1] == decrypt::DecryptStop::kNoKeys;
  if (no_keys) app::mark_blind_spot(d, app::BlindSpot::kEncryptedNoKeys);
  decryption_.reset();
}

void TlsHandler::on_retire(app::AppContext& ctx, flow::Flow& f) { finish_decryption(ctx, f); }

// Content type handshake (22), then version major 3 and minor up to 4: decided on at most 3 bytes.
// Or an SSLv2-format ClientHello (first byte with the high bit set).
app::Claim TlsHandler::claims(const app::ProbeInput& in) noexcept {
  const auto p = in.payload;
  if (p.empty()) return app::Claim::kNeedMore;
  if ((p[0] & 0x80) != 0) return claims_sslv2_hello(p, in.from_client);
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
    if (m.sslv2) {
      if (from_client) record_sslv2_client_hello(ctx, d, m.body);
    } else if (m.type == handshake::kClientHello && from_client) {
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
  if (!decryption_ && !decryption_over_) {
    // Decided on the flow's first bytes: with a key log (or secrets read from the capture so far),
    // the whole flow is followed; otherwise only its handshake, as without decryption.
    if (!ctx.config.follow_for_decryption()) decryption_over_ = true;
  }
  if (!decryption_over_) {
    decrypt(ctx, f, sender, bytes);
    if (!decryption_over_) return;  // the whole flow is read while it is being decrypted
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
  if (decryption_ && !decryption_over_) {
    if (ctx.config.decryption_counts()) {
      // The rest of a flow being decrypted is not read: what it sent after this may be hidden.
      ctx.inspection_limit(f, which);
      finish_decryption(ctx, f);
      return;
    }
    finish_decryption(ctx, f);  // followed in case keys came (none did): as without decryption
  }
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

// What an SSLv2-format ClientHello can tell: the version and the number of cipher specs. It has no
// extensions, so no server name; JA3 and JA4 are defined on the TLS ClientHello's fields and left
// empty (tshark 4.0 gives no JA3 for it either). The server's TLS ServerHello still gives JA3S.
void record_sslv2_client_hello(app::AppContext& ctx, app::FlowDetails& d, std::span<const std::uint8_t> body) {
  Sslv2ClientHello hello;
  if (parse_sslv2_client_hello(body, hello) != app::ParseStatus::kOk) {
    ++ctx.stats.tls_malformed;
    return;
  }
  if (!d.tls) d.tls = std::make_unique<app::TlsDetails>();
  app::TlsDetails& t = *d.tls;
  if (t.client_hello) return;
  t.client_hello = true;
  t.sslv2_hello = true;
  t.client_version = hello.version;
  t.cipher_count = hello.cipher_specs;
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
