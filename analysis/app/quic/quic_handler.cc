#include "analysis/app/quic/quic_handler.h"

#include <fmt/format.h>

#include <string>

#include "analysis/app/http/http3_connection.h"
#include "analysis/app/http/http_handler.h"
#include "analysis/app/quic/quic_decryptor.h"
#include "analysis/app/tls/tls_handler.h"
#include "core/string_pool.h"

namespace flowaudit::analysis::quic {
namespace {

bool is_gquic_version(std::span<const std::uint8_t> v) {
  return v.size() >= 4 && (v[0] == 'Q' || v[0] == 'T') && v[1] == '0' && v[2] >= '0' && v[2] <= '9' &&
         v[3] >= '0' && v[3] <= '9';
}

std::string version_name(std::uint32_t v) {
  switch (v) {
    case kVersion1: return "1";
    case kVersion2: return "2";
    case kDraft29: return "draft-29";
    default: break;
  }
  if ((v >> 8) == 0xff0000) return fmt::format("draft-{}", v & 0xff);
  return fmt::format("0x{:08x}", v);
}

}  // namespace

namespace {

bool gquic(const app::ProbeInput& in) noexcept {
  const auto p = in.payload;
  if (!in.from_client || p.size() < 13) return false;
  if ((p[0] & 0x80) != 0) return is_gquic_version(p.subspan(1, 4));  // Q046+ long header
  // Older gQUIC: public flags with the version bit, an 8-byte connection id, then the version.
  return (p[0] & 0x01) != 0 && (p[0] & 0x08) != 0 && is_gquic_version(p.subspan(9, 4));
}

}  // namespace

// UDP claims: a datagram is whole, so they answer yes or no.
app::Claim GquicHandler::claims(const app::ProbeInput& in) noexcept {
  return gquic(in) ? app::Claim::kYes : app::Claim::kNo;
}

app::Claim QuicHandler::claims(const app::ProbeInput& in) noexcept {
  return in.from_client && is_long_header(in.payload) && !gquic(in) ? app::Claim::kYes : app::Claim::kNo;
}

// The streams of a decrypted connection go to the HTTP/3 reader, unless ALPN named another protocol.
struct QuicHandler::Decryption final : StreamSink {
  Decryption(const decrypt::KeyLog& keys, std::span<const std::uint8_t, 32> client_random, std::uint32_t version)
      : decryptor(keys, client_random, version), h3(std::make_unique<http::Http3Connection>()) {}
  void on_stream(bool from_client, std::uint64_t id, std::span<const std::uint8_t> bytes, bool fin) override {
    if (h3) h3->on_stream(from_client, id, bytes, fin);
  }
  void on_stream_lost(bool from_client, std::uint64_t id) override {
    if (h3) h3->on_stream_lost(from_client, id);
  }
  QuicDecryptor decryptor;
  std::unique_ptr<http::Http3Connection> h3;
  std::uint32_t datagrams_without_keys = 0;
};

namespace {

// An entry of the joined ALPN list that is HTTP/3.
bool offers_h3(std::string_view joined) {
  bool h3 = false;
  core::for_each_item(joined, [&](std::string_view item) { h3 = h3 || item.starts_with("h3"); });
  return h3;
}

// Datagrams read while the key log has nothing for the connection; past it the flow is given up
// as encrypted-no-keys (a live key log writes the secrets within the handshake).
constexpr std::uint32_t kMaxDatagramsWithoutKeys = 256;

}  // namespace

QuicHandler::QuicHandler() noexcept = default;
QuicHandler::~QuicHandler() = default;
QuicHandler::QuicHandler(QuicHandler&&) noexcept = default;
QuicHandler& QuicHandler::operator=(QuicHandler&&) noexcept = default;

// Decided once the client's ClientHello is read: with a key log (or secrets read from the capture
// so far), the rest of the connection is followed; otherwise it ends with its hellos, as before.
void QuicHandler::start_decryption(app::AppContext& ctx, flow::Flow& f) {
  if (decryption_ || decryption_over_) return;
  const bool want = ctx.config.follow_for_decryption();
  const auto hello = assembler_ ? assembler_->client_hello() : std::span<const std::uint8_t>();
  if (!want || hello.size() < 34) {  // legacy_version (2), random (32)
    decryption_over_ = true;
    return;
  }
  decryption_ = std::make_unique<Decryption>(*ctx.config.keys, std::span<const std::uint8_t, 32>(hello.data() + 2, 32),
                                             assembler_->version());
  // The server's ALPN choice travels encrypted (EncryptedExtensions), so the client's offer decides:
  // HTTP/3 is "h3" (and "h3-NN" of the drafts). A client that offers neither speaks another
  // protocol over QUIC (DNS over QUIC, SMB, ...): its streams are decrypted and counted, not read as HTTP.
  const app::FlowDetails& d = ctx.details_for(f);
  if (d.tls && !d.tls->alpn_offered.empty() && !offers_h3(d.tls->alpn_offered)) decryption_->h3.reset();
}

void QuicHandler::decrypt(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender,
                          std::span<const std::uint8_t> payload) {
  QuicDecryptor& dec = decryption_->decryptor;
  const std::uint8_t who = sender == f.client ? 0 : 1;
  dec.on_datagram(who, payload, *decryption_, ctx.config.tcp_decrypt_bytes);
  const auto& facts = dec.facts();
  if (!facts.keys_found && ++decryption_->datagrams_without_keys >= kMaxDatagramsWithoutKeys) {
    finish_decryption(ctx, f);
    app::done(f);
    return;
  }
  if (dec.stopped(0) && dec.stopped(1)) {
    if (facts.stop[0] == decrypt::DecryptStop::kLimit) ctx.inspection_limit(f, app::InspectionLimit::kQuicDecryptBudget);
    finish_decryption(ctx, f);
    app::done(f);
  }
}

// What the decryptor found goes into the flow's details once, when both directions stopped or the
// flow ends. A connection whose keys the log did not have is a blind spot.
void QuicHandler::finish_decryption(app::AppContext& ctx, const flow::Flow& f) {
  if (decryption_over_ || !decryption_) return;
  decryption_over_ = true;
  if (!ctx.config.decryption_counts()) {  // followed in case keys came; none did
    decryption_.reset();
    return;
  }
  decryption_->decryptor.finish(*decryption_);
  const decrypt::DecryptFacts& facts = decryption_->decryptor.facts();
  app::FlowDetails& d = ctx.details_for(f);
  d.decryption = std::make_unique<decrypt::DecryptFacts>(facts);
  if (decryption_->h3) {
    http::report_exchanges(ctx, f, "https", std::move(decryption_->h3->exchanges()), decryption_->h3->dropped());
  }
  if (facts.records_opened[0] + facts.records_opened[1] > 0) ++ctx.stats.tls_decrypted;
  const bool no_keys = facts.stop[0] == decrypt::DecryptStop::kNoKeys || facts.stop[1] == decrypt::DecryptStop::kNoKeys;
  if (no_keys) app::mark_blind_spot(d, app::BlindSpot::kEncryptedNoKeys);
  decryption_.reset();
}

void QuicHandler::on_retire(app::AppContext& ctx, flow::Flow& f) { finish_decryption(ctx, f); }

void QuicHandler::record_server_start(app::AppContext& ctx, const flow::Flow& f, const ServerStart& start) {
  app::FlowDetails& d = ctx.details_for(f);
  if (!d.quic) d.quic = std::make_unique<app::QuicDetails>();
  if (start.retry) d.quic->retry = true;
  if (start.version_negotiation && !d.quic->version_negotiation) {
    d.quic->version_negotiation = true;
    std::string names;
    for (const std::uint32_t v : start.versions) {
      if (!names.empty()) names += ',';
      names += version_name(v);
    }
    if (start.versions_left_out != 0) names += fmt::format(",+{} more", start.versions_left_out);
    d.quic->offered_versions = ctx.strings->intern(names);
  }
}

void QuicHandler::on_server_initial(app::AppContext& ctx, flow::Flow& f, std::span<const std::uint8_t> payload) {
  const auto state = server_->feed(payload);
  if (state == InitialAssembler::State::kComplete) {
    app::FlowDetails& d = ctx.details_for(f);
    tls::record_server_hello(ctx, d, server_->hello());
    server_.reset();
    if (decryption_ && d.tls && d.tls->server_hello) decryption_->decryptor.set_suite(d.tls->cipher);
    if (!decryption_) app::done(f);
  } else if (state != InitialAssembler::State::kCollecting || ++after_hello_ >= ctx.config.max_quic_datagrams) {
    server_.reset();
    if (!decryption_) app::done(f);  // the client's side is what names the flow; the server's is a bonus
  }
}

void QuicHandler::on_datagram(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender,
                              std::span<const std::uint8_t> payload, core::TimestampNs /*ts*/) {
  if (sender != f.client) {
    ServerStart start;
    if (read_server_start(payload, start)) {
      record_server_start(ctx, f, start);
      // After a Retry the server's Initials use keys from the Retry's connection ID.
      if (start.retry && server_) server_->rekey_server({start.retry_scid.begin(), start.retry_scid.size()});
      return;
    }
    if (server_) {
      // A server that answers in another version it knows the client accepts (compatible version
      // negotiation, RFC 9368) switches the connection to it: the version reported is the one
      // negotiated, and the server's Initials are read in it.
      const std::uint32_t v = long_header_version(payload);
      if (v != 0 && v != server_->version() && server_->change_server_version(v)) {
        app::FlowDetails& d = ctx.details_for(f);
        if (d.quic) {
          d.quic->version = v;
          d.quic->version_name = ctx.strings->intern(version_name(v));
        }
      }
      on_server_initial(ctx, f, payload);
    }
    if (decryption_ && !decryption_over_) decrypt(ctx, f, sender, payload);
    return;
  }
  if (server_ || decryption_ || decryption_over_) {  // the client's hello is in
    if (decryption_ && !decryption_over_) {
      decrypt(ctx, f, sender, payload);
    } else if (server_ && ++after_hello_ >= ctx.config.max_quic_datagrams) {
      app::done(f);
    }
    return;
  }
  app::FlowDetails& d = ctx.details_for(f);
  if (!assembler_) assembler_ = std::make_unique<InitialAssembler>();
  const auto state = assembler_->feed(payload);
  if (!d.quic) d.quic = std::make_unique<app::QuicDetails>();
  d.quic->version = assembler_->version();
  d.quic->version_name = ctx.strings->intern(version_name(assembler_->version()));
  using State = InitialAssembler::State;
  // Set while the first Initial's version was unknown; the next Initial may be readable.
  if (state != State::kUnsupportedVersion && d.blind_spot == app::BlindSpot::kQuicUndecryptable) {
    d.blind_spot = app::BlindSpot::kNone;
  }
  if (state == State::kComplete) {
    d.quic->decrypted = true;
    tls::record_client_hello(ctx, d, assembler_->client_hello(), true);
    // The server's Initial carries its ServerHello (JA3S, version, cipher, ALPN), as readable as
    // the client's: wait for it, a few datagrams at most.
    server_ = InitialAssembler::for_server(*assembler_);
    start_decryption(ctx, f);
    assembler_.reset();
    if (decryption_) {
      decrypt(ctx, f, sender, payload);  // 0-RTT packets may follow the Initial in this datagram
    } else if (!server_) {
      app::done(f);
    }
  } else if (state == State::kLimit ||
             (state == State::kCollecting && ++datagrams_ >= ctx.config.max_quic_datagrams &&
              assembler_->decrypted_any())) {
    // Decrypted, but the hello did not fit the limits: hidden on purpose, or too large to read.
    d.quic->decrypted = true;
    ctx.inspection_limit(f, app::InspectionLimit::kQuicClientHello);
    app::done(f);
  } else if (state == State::kUnsupportedVersion && ++datagrams_ < ctx.config.max_quic_datagrams) {
    // Undecryptable unless a Version Negotiation brings an Initial in a version we read: said now,
    // withdrawn then, so that a flow that ends here is not silent.
    app::mark_blind_spot(d, app::BlindSpot::kQuicUndecryptable);
  } else if (state != State::kCollecting || datagrams_ >= ctx.config.max_quic_datagrams) {
    app::mark_blind_spot(d, app::BlindSpot::kQuicUndecryptable);
    app::done(f);
  }
}

void GquicHandler::on_datagram(app::AppContext& ctx, flow::Flow& f, std::uint8_t /*sender*/,
                               std::span<const std::uint8_t> payload, core::TimestampNs /*ts*/) {
  app::FlowDetails& d = ctx.details_for(f);
  GquicHello hello;
  if (parse_gquic_hello(payload, hello) == app::ParseStatus::kOk) {
    if (!d.quic) d.quic = std::make_unique<app::QuicDetails>();
    d.quic->version_name = ctx.strings->intern(hello.version);
    d.quic->decrypted = true;
    if (!d.tls) d.tls = std::make_unique<app::TlsDetails>();
    d.tls->client_hello = true;
    d.tls->has_sni = !hello.sni.empty();
    d.tls->sni = ctx.strings->intern(hello.sni);
    app::done(f);
  } else if (++datagrams_ >= ctx.config.max_quic_datagrams) {
    app::mark_blind_spot(d, app::BlindSpot::kQuicUndecryptable);
    app::done(f);
  }
}

}  // namespace flowaudit::analysis::quic
