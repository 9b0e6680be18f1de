#include "analysis/app/proxy/proxy_handler.h"

#include <algorithm>

#include "analysis/app/proxy/proxy_messages.h"

namespace flowaudit::analysis::proxy {
namespace {

using app::Claim;
using app::ParseStatus;

constexpr std::size_t kClient = 0;
constexpr std::size_t kServer = 1;

void consume(std::vector<std::uint8_t>& buf, std::size_t n) {
  buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(std::min(n, buf.size())));
}

}  // namespace

Claim ProxyHandler::claims_connect(const app::ProbeInput& in) noexcept {
  static constexpr std::string_view kMethod = "CONNECT ";
  if (!in.from_client) return Claim::kNo;
  const std::size_t n = std::min(in.payload.size(), kMethod.size());
  if (!std::equal(in.payload.begin(), in.payload.begin() + static_cast<std::ptrdiff_t>(n), kMethod.begin())) {
    return Claim::kNo;
  }
  return n == kMethod.size() ? Claim::kYes : Claim::kNeedMore;
}

// SOCKS4: version 4, command CONNECT or BIND, a port that is not 0. SOCKS5: version 5, 1 to 9
// methods, each a method of RFC 1928 / the IANA registry (0x00-0x09) or a private one
// (0x80-0xfe), and nothing after them but what follows a greeting: a request or credentials.
// Decided within 10 bytes.
Claim ProxyHandler::claims_socks(const app::ProbeInput& in) noexcept {
  const auto p = in.payload;
  if (!in.from_client || p.empty()) return in.from_client ? Claim::kNeedMore : Claim::kNo;
  if (p[0] == 4) {
    if (p.size() < 2) return Claim::kNeedMore;
    if (p[1] != 1 && p[1] != 2) return Claim::kNo;
    if (p.size() < 4) return Claim::kNeedMore;
    return (p[2] | p[3]) != 0 ? Claim::kYes : Claim::kNo;
  }
  if (p[0] != 5) return Claim::kNo;
  if (p.size() < 2) return Claim::kNeedMore;
  const std::size_t n = p[1];
  if (n == 0 || n > 9) return Claim::kNo;
  for (std::size_t i = 2; i < std::min(p.size(), 2 + n); ++i) {
    if (!(p[i] <= 0x09 || (p[i] >= 0x80 && p[i] != 0xff))) return Claim::kNo;
  }
  if (p.size() < 2 + n) return Claim::kNeedMore;
  if (p.size() > 2 + n && p[2 + n] != 5 && p[2 + n] != 1) return Claim::kNo;
  return Claim::kYes;
}

void ProxyHandler::record(app::AppContext& ctx, const flow::Flow& f, const Target& t, const char* type) {
  app::FlowDetails& d = ctx.details_for(f);
  if (!d.proxy) d.proxy = std::make_unique<app::ProxyDetails>();
  d.proxy->type = type;
  d.proxy->host = ctx.strings->intern(t.host);
  d.proxy->port = t.port;
  d.proxy->by_address = t.by_address;
  d.proxy->granted = false;
}

void ProxyHandler::fail(app::AppContext& ctx, flow::Flow& f, bool malformed) {
  if (malformed) ++ctx.stats.proxy_malformed;
  step_[kClient] = step_[kServer] = Step::kStopped;
  app::done(f);
}

void ProxyHandler::open_tunnel(app::AppContext& ctx, flow::Flow& f) {
  granted_ = true;
  if (auto& p = ctx.details_for(f).proxy) p->granted = true;
  tunnel_ = std::make_unique<Tunnel>(false);
  step_[kClient] = step_[kServer] = Step::kTunnel;
  // What each side sent after its part of the handshake is already the tunnel's.
  std::vector<std::uint8_t> client;
  std::vector<std::uint8_t> server;
  client.swap(buf_[kClient]);
  server.swap(buf_[kServer]);
  if (!client.empty()) tunnel_->on_stream(ctx, f, f.client, client);
  if (!server.empty() && !app::is_done(f)) tunnel_->on_stream(ctx, f, f.server(), server);
}

bool ProxyHandler::client_step(app::AppContext& ctx, flow::Flow& f) {
  std::vector<std::uint8_t>& b = buf_[kClient];
  Target t;
  std::size_t size = 0;
  ParseStatus st = ParseStatus::kNeedMore;
  switch (step_[kClient]) {
    case Step::kFirst:
      if (kind_ == Kind::kConnect) {
        st = parse_connect(b, t, size);
        if (st == ParseStatus::kOk) record(ctx, f, t, "http-connect");
      } else if (kind_ == Kind::kSocks4) {
        bool socks4a = false;
        st = socks4_request(b, t, socks4a, size);
        if (st == ParseStatus::kOk) record(ctx, f, t, socks4a ? "socks4a" : "socks4");
      } else {
        st = socks5_greeting(b, size);
        if (st == ParseStatus::kOk) {
          consume(b, size);
          step_[kClient] = Step::kUserPass;
          return true;
        }
      }
      if (st == ParseStatus::kOk) {
        consume(b, size);
        step_[kClient] = Step::kWaiting;
        return true;
      }
      break;
    case Step::kUserPass:  // SOCKS5, after the greeting: what follows depends on the server's choice
      if (method_ == 0xff) return false;
      if (method_ == kSocks5NoAuth) {
        step_[kClient] = Step::kRequest;
        return true;
      }
      st = socks5_userpass(b, size);
      if (st == ParseStatus::kOk) {
        consume(b, size);
        step_[kClient] = Step::kRequest;
        return true;
      }
      break;
    case Step::kRequest:
      st = socks5_request(b, t, size);
      if (st == ParseStatus::kOk) {
        record(ctx, f, t, "socks5");
        consume(b, size);
        step_[kClient] = Step::kWaiting;
        return true;
      }
      break;
    default:
      return false;
  }
  if (st == ParseStatus::kMalformed) fail(ctx, f, true);
  return false;
}

bool ProxyHandler::server_step(app::AppContext& ctx, flow::Flow& f) {
  std::vector<std::uint8_t>& b = buf_[kServer];
  if (b.empty()) return false;
  std::size_t size = 0;
  ParseStatus st = ParseStatus::kNeedMore;
  std::uint8_t code = 0;
  if (kind_ == Kind::kSocks5 && step_[kServer] == Step::kFirst) {
    st = socks5_choice(b, code);
    if (st == ParseStatus::kOk) {
      consume(b, 2);
      method_ = code;
      if (code != kSocks5NoAuth && code != kSocks5UserPass) {
        // No acceptable method (0xff), or one whose messages are not read here (GSSAPI): the
        // request, and so the target, will not be seen.
        fail(ctx, f, false);
        return false;
      }
      step_[kServer] = code == kSocks5UserPass ? Step::kUserPass : Step::kRequest;
      return true;
    }
  } else if (kind_ == Kind::kSocks5 && step_[kServer] == Step::kUserPass) {
    st = socks5_userpass_status(b, code);
    if (st == ParseStatus::kOk) {
      consume(b, 2);
      if (code != 0) {
        fail(ctx, f, false);
        return false;
      }
      step_[kServer] = Step::kRequest;
      return true;
    }
  } else if (step_[kClient] != Step::kWaiting) {
    return false;  // the answer to a request not read yet: wait for the request
  } else if (kind_ == Kind::kConnect) {
    int status = 0;
    st = parse_response_head(b, status, size);
    if (st == ParseStatus::kOk) {
      consume(b, size);
      if (status >= 100 && status < 200) return true;  // interim: the final answer follows
      if (status >= 200 && status < 300) {
        open_tunnel(ctx, f);
        return false;
      }
      // Refused (407 asks for credentials): a client may ask again on the same connection. The
      // refusal's body is not the next answer.
      b.clear();
      step_[kClient] = Step::kFirst;
      return true;
    }
  } else if (kind_ == Kind::kSocks4) {
    st = socks4_reply(b, code);
    if (st == ParseStatus::kOk) {
      consume(b, 8);
      if (code == kSocks4Granted) {
        open_tunnel(ctx, f);
      } else {
        fail(ctx, f, false);
      }
      return false;
    }
  } else {
    st = socks5_reply(b, code, size);
    if (st == ParseStatus::kOk) {
      consume(b, size);
      if (code == 0) {
        open_tunnel(ctx, f);
      } else {
        fail(ctx, f, false);
      }
      return false;
    }
  }
  if (st == ParseStatus::kMalformed) fail(ctx, f, true);
  return false;
}

void ProxyHandler::advance(app::AppContext& ctx, flow::Flow& f) {
  // Each step takes one message; a message of one side may unblock the other (the SOCKS5 method
  // choice tells how to read the client's next bytes).
  for (int i = 0; i < 16 && !app::is_done(f) && step_[kClient] != Step::kTunnel; ++i) {
    const bool c = client_step(ctx, f);
    const bool s = !app::is_done(f) && step_[kServer] != Step::kTunnel && server_step(ctx, f);
    if (!c && !s) break;
  }
}

void ProxyHandler::on_stream(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender,
                             std::span<const std::uint8_t> bytes) {
  const std::size_t side = sender == f.client ? kClient : kServer;
  if (kind_ == Kind::kUnset) {
    if (side != kClient || bytes.empty()) return;
    kind_ = bytes[0] == 4 ? Kind::kSocks4 : bytes[0] == 5 ? Kind::kSocks5 : Kind::kConnect;
    if (kind_ != Kind::kConnect) ctx.details_for(f).app = app::AppProtocol::kSocks;
  }
  if (step_[side] == Step::kTunnel) {
    tunnel_->on_stream(ctx, f, sender, bytes);
    return;
  }
  if (step_[side] == Step::kStopped) return;
  std::vector<std::uint8_t>& b = buf_[side];
  if (b.size() + bytes.size() > kMaxHandshakeBytes) {
    ctx.inspection_limit(f, app::InspectionLimit::kProxyHandshake);
    fail(ctx, f, false);
    return;
  }
  b.insert(b.end(), bytes.begin(), bytes.end());
  advance(ctx, f);
}

void ProxyHandler::on_stream_stopped(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender,
                                     app::InspectionLimit which) {
  if (tunnel_) {
    tunnel_->on_stream_stopped(ctx, f, sender, which);
    return;
  }
  // The client's request not read: where the flow goes is unknown.
  if (sender == f.client && step_[kClient] != Step::kWaiting) ctx.inspection_limit(f, which);
}

void ProxyHandler::on_retire(app::AppContext& ctx, flow::Flow& f) {
  if (tunnel_) tunnel_->on_retire(ctx, f);
}

}  // namespace flowaudit::analysis::proxy
