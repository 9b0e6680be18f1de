// Plaintext HTTP/1.x: the client's first request head (method, target, Host, User-Agent, body
// type and length). Only the client's direction is read; the head is parsed once, when it is
// complete, when a limit cuts it, or when the flow ends.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "analysis/app/app_context.h"

namespace flowaudit::analysis::http {

class HttpHandler {
 public:
  static constexpr app::AppProtocol kProtocol = app::AppProtocol::kHttp;
  static app::Claim claims(const app::ProbeInput& in) noexcept;  // a request line from the client

  void on_stream(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> bytes);
  void on_stream_stopped(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, app::InspectionLimit which);
  // A request head the capture ended in (or the flow table evicted) is still a request sent.
  void on_retire(app::AppContext& ctx, flow::Flow& f);

 private:
  void head(app::AppContext& ctx, flow::Flow& f, app::InspectionLimit cut);

  std::vector<std::uint8_t> head_;  // the client's bytes, up to kMaxHeaderBytes
};

}  // namespace flowaudit::analysis::http
