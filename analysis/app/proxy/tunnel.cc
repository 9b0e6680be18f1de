#include "analysis/app/proxy/tunnel.h"

#include <algorithm>

namespace flowaudit::analysis::proxy {

void Tunnel::decide(app::AppContext& ctx, flow::Flow& f, std::span<const std::uint8_t> first) {
  const app::ProbeInput in{first, f.key.port[f.client], f.key.port[f.server()], true};
  const app::Claim tls = tls::TlsHandler::claims(in);
  if (tls == app::Claim::kYes) {
    inner_.emplace<tls::TlsHandler>();
    if (!tls_only_) ctx.details_for(f).app = app::AppProtocol::kTls;
    return;
  }
  const app::Claim http = tls_only_ ? app::Claim::kNo : http::HttpHandler::claims(in);
  if (http == app::Claim::kYes) {
    inner_.emplace<http::HttpHandler>();
    ctx.details_for(f).app = app::AppProtocol::kHttp;
    return;
  }
  if (tls == app::Claim::kNeedMore || http == app::Claim::kNeedMore) {
    if (first.size() >= app::kProbeBytes) {
      ctx.inspection_limit(f, app::InspectionLimit::kProtocolDetection);
      app::done(f);
    }
    return;  // wait for more
  }
  // Something else in the tunnel (SSH, a server-first protocol...): the name the client asked the
  // proxy for is what there is.
  app::done(f);
}

void Tunnel::on_stream(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return;
  if (std::holds_alternative<std::monostate>(inner_)) {
    if (sender != f.client) {
      // The client's first bytes are what tell; but a capture that lost them (or a server that
      // answers first) may still show the server's TLS handshake: its ServerHello and, before
      // TLS 1.3, its certificate name the server.
      if (held_size_ == 0 && tls::TlsHandler::claims(app::ProbeInput{bytes, 0, 0, false}) == app::Claim::kYes) {
        inner_.emplace<tls::TlsHandler>();
        if (!tls_only_) ctx.details_for(f).app = app::AppProtocol::kTls;
        std::get<tls::TlsHandler>(inner_).on_stream(ctx, f, sender, bytes);
      }
      return;
    }
    const std::size_t take = std::min(bytes.size(), app::kProbeBytes - held_size_);
    std::copy_n(bytes.begin(), take, held_.begin() + held_size_);
    held_size_ = static_cast<std::uint8_t>(held_size_ + take);
    decide(ctx, f, std::span<const std::uint8_t>(held_.data(), held_size_));
    if (app::is_done(f) || std::holds_alternative<std::monostate>(inner_)) return;
    // The handler gets every byte from the first: the held ones were copied from the head of
    // these bytes or of earlier ones.
    const std::size_t earlier = held_size_ - take;
    std::visit(
        [&]<typename H>(H& h) {
          if constexpr (!std::is_same_v<H, std::monostate>) {
            if (earlier > 0) h.on_stream(ctx, f, sender, std::span<const std::uint8_t>(held_.data(), earlier));
            if (!app::is_done(f)) h.on_stream(ctx, f, sender, bytes);
          }
        },
        inner_);
    return;
  }
  std::visit(
      [&]<typename H>(H& h) {
        if constexpr (!std::is_same_v<H, std::monostate>) h.on_stream(ctx, f, sender, bytes);
      },
      inner_);
}

void Tunnel::on_stream_stopped(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, app::InspectionLimit which) {
  std::visit(
      [&]<typename H>(H& h) {
        if constexpr (std::is_same_v<H, std::monostate>) {
          if (sender == f.client) ctx.inspection_limit(f, which);
        } else {
          h.on_stream_stopped(ctx, f, sender, which);
        }
      },
      inner_);
}

void Tunnel::on_retire(app::AppContext& ctx, flow::Flow& f) {
  if (auto* h = std::get_if<http::HttpHandler>(&inner_)) h->on_retire(ctx, f);
}

}  // namespace flowaudit::analysis::proxy
