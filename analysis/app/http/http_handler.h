// Plaintext HTTP/1.x: the client's first request head (method, target, Host, User-Agent, body
// type and length), parsed once, when it is complete, when a limit cuts it, or when the flow ends;
// and then every exchange of the connection, both directions, through the same Http1Connection
// that reads decrypted TLS (flows[].requests), within AppConfig::tcp_decrypt_bytes per direction.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "analysis/app/app_context.h"
#include "analysis/app/http/http1_connection.h"

namespace flowaudit::analysis::http {

class HttpHandler {
 public:
  static constexpr app::AppProtocol kProtocol = app::AppProtocol::kHttp;
  static app::Claim claims(const app::ProbeInput& in) noexcept;  // a request line from the client

  void on_stream(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> bytes);
  void on_stream_stopped(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, app::InspectionLimit which);
  // A request head the capture ended in (or the flow table evicted) is still a request sent.
  void on_retire(app::AppContext& ctx, flow::Flow& f);
  [[nodiscard]] std::uint64_t stream_budget(const app::AppContext& ctx) const noexcept;

 private:
  void head(app::AppContext& ctx, flow::Flow& f, app::InspectionLimit cut);
  void finish(app::AppContext& ctx, flow::Flow& f);

  std::vector<std::uint8_t> head_;  // the client's bytes, up to kMaxHeaderBytes
  bool head_done_ = false;
  std::unique_ptr<Http1Connection> exchanges_;  // null once they went into the flow's details
};

// The exchanges of a flow (decrypted or plaintext) into its details, once: a request body whose
// content decoding crossed a limit is an inspection-limit blind spot (content-decoding), since
// what it carried was not read.
void report_exchanges(app::AppContext& ctx, const flow::Flow& f, std::string_view scheme, std::vector<Exchange>&& list,
                      std::uint64_t dropped);

}  // namespace flowaudit::analysis::http
