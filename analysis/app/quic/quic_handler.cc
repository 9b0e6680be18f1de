#include "analysis/app/quic/quic_handler.h"

#include <fmt/format.h>

#include <string>

#include "analysis/app/tls/tls_handler.h"

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
    tls::record_server_hello(ctx, ctx.details_for(f), server_->hello());
    app::done(f);
  } else if (state != InitialAssembler::State::kCollecting || ++after_hello_ >= ctx.config.max_quic_datagrams) {
    app::done(f);  // the client's side is what names the flow; the server's is a bonus
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
    if (server_) on_server_initial(ctx, f, payload);
    return;
  }
  if (server_) {  // the client's hello is in; only the server's Initial is still awaited
    if (++after_hello_ >= ctx.config.max_quic_datagrams) app::done(f);
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
    assembler_.reset();
    if (!server_) app::done(f);
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
