// What runs inside a proxy tunnel or after a STARTTLS upgrade: TLS or plaintext HTTP, decided on
// the client's first bytes in the tunnel by the same claims the dispatcher uses, then handed to
// the ordinary TLS or HTTP handler, so names and fingerprints come out exactly as for a direct
// connection. Allocated only when a tunnel opens (the per-flow state of every other flow stays
// the size it was).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <variant>

#include "analysis/app/app_context.h"
#include "analysis/app/http/http_handler.h"
#include "analysis/app/tls/tls_handler.h"

namespace flowaudit::analysis::proxy {

class Tunnel {
 public:
  // `tls_only`: after a STARTTLS upgrade only TLS may follow; the flow keeps its protocol (smtp,
  // ...). Otherwise the flow's protocol becomes the tunnel's (tls, http).
  explicit Tunnel(bool tls_only) noexcept : tls_only_(tls_only) {}

  void on_stream(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> bytes);
  void on_stream_stopped(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, app::InspectionLimit which);
  void on_retire(app::AppContext& ctx, flow::Flow& f);

 private:
  void decide(app::AppContext& ctx, flow::Flow& f, std::span<const std::uint8_t> first);

  std::variant<std::monostate, tls::TlsHandler, http::HttpHandler> inner_;
  std::array<std::uint8_t, app::kProbeBytes> held_{};  // the client's first bytes, until decided
  std::uint8_t held_size_ = 0;
  bool tls_only_;
};

}  // namespace flowaudit::analysis::proxy
