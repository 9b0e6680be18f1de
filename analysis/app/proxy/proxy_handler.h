// A connection to an HTTP proxy (CONNECT) or a SOCKS4/4A/5 server: the handshake says which host
// and port the client asked for (FlowDetails::proxy); once the proxy grants it, what the tunnel
// carries (TLS or HTTP) goes to the ordinary handlers through a Tunnel. Each side's handshake is
// read in order, at most kMaxHandshakeBytes of it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "analysis/app/app_context.h"
#include "analysis/app/proxy/proxy_messages.h"
#include "analysis/app/proxy/tunnel.h"

namespace flowaudit::analysis::proxy {

class ProxyHandler {
 public:
  // The protocol named before the tunnel says more (the SOCKS claim sets kSocks on first bytes).
  static constexpr app::AppProtocol kProtocol = app::AppProtocol::kHttpConnect;
  static app::Claim claims_connect(const app::ProbeInput& in) noexcept;  // "CONNECT " from the client
  static app::Claim claims_socks(const app::ProbeInput& in) noexcept;    // a SOCKS4 request or SOCKS5 greeting

  void on_stream(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> bytes);
  void on_stream_stopped(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, app::InspectionLimit which);
  void on_retire(app::AppContext& ctx, flow::Flow& f);

 private:
  enum class Kind : std::uint8_t { kUnset, kConnect, kSocks4, kSocks5 };
  // Where each side's handshake stands. Client: the request (SOCKS5: greeting, then
  // username/password when the server chose it, then the request). Server: the answer (SOCKS5:
  // the method choice, the username/password status, the reply).
  enum class Step : std::uint8_t { kFirst, kUserPass, kRequest, kWaiting, kTunnel, kStopped };

  void advance(app::AppContext& ctx, flow::Flow& f);
  bool client_step(app::AppContext& ctx, flow::Flow& f);
  bool server_step(app::AppContext& ctx, flow::Flow& f);
  void record(app::AppContext& ctx, const flow::Flow& f, const Target& t, const char* type);
  void open_tunnel(app::AppContext& ctx, flow::Flow& f);
  void fail(app::AppContext& ctx, flow::Flow& f, bool malformed);

  std::vector<std::uint8_t> buf_[2];  // 0 client, 1 server: handshake bytes not parsed yet
  std::unique_ptr<Tunnel> tunnel_;
  Kind kind_ = Kind::kUnset;
  Step step_[2] = {Step::kFirst, Step::kFirst};
  std::uint8_t method_ = 0xff;  // SOCKS5: the server's choice (0xff: not yet)
  bool granted_ = false;
};

}  // namespace flowaudit::analysis::proxy
