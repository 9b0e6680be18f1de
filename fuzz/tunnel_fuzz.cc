// Fuzz target: proxy handshakes (HTTP CONNECT, SOCKS4/4A/5) and STARTTLS upgrades, with the TLS or
// HTTP handler that takes over after them.
//
// Input: one byte picking the handler (even: ProxyHandler, odd: StartTlsHandler) and the flow's
// server port (bit 1: 21, for FTP), then chunks, each a length byte whose top bit says the sender
// (set: server) followed by that many bytes; the chunks go to the handler in order, as a TCP
// flow's in-order bytes would, until it says it is done. Checked besides memory errors: what the
// handlers record stays within their limits (a requested host of at most 255 bytes, a port that
// is not 0 unless nothing was recorded), and the flow's protocol is one a report can name.
#include <cstddef>
#include <cstdint>
#include <span>

#include "analysis/app/app_context.h"
#include "analysis/app/proxy/proxy_handler.h"
#include "analysis/app/starttls/starttls_handler.h"
#include "fuzz_check.h"

namespace {

using namespace flowaudit::analysis;

template <typename H>
void run(std::span<const std::uint8_t> in, std::uint16_t server_port) {
  app::AppContext ctx{app::AppConfig{}};
  flow::Flow f;
  f.id = 1;
  f.client = 0;
  f.key.protocol = 6;
  f.key.port[0] = 40000;
  f.key.port[1] = server_port;
  f.app_state = app::kStateInspecting;
  H h;
  std::size_t pos = 0;
  while (pos < in.size() && !app::is_done(f)) {
    const std::uint8_t head = in[pos++];
    const std::size_t n = std::min<std::size_t>(head & 0x7f, in.size() - pos);
    const std::uint8_t sender = (head & 0x80) != 0 ? f.server() : f.client;
    h.on_stream(ctx, f, sender, in.subspan(pos, n));
    pos += n;
  }
  if constexpr (requires { h.on_retire(ctx, f); }) h.on_retire(ctx, f);
  const auto it = ctx.details.find(f.id);
  if (it == ctx.details.end()) return;
  const app::FlowDetails& d = it->second;
  if (d.proxy) {
    FUZZ_CHECK(d.proxy->host.size() <= 255);
    FUZZ_CHECK(!d.proxy->type.empty());
    flowaudit::fuzz::touch(reinterpret_cast<const unsigned char*>(d.proxy->host.data()), d.proxy->host.size());
  }
  FUZZ_CHECK(d.app == app::AppProtocol::kUnknown || *app::to_string(d.app) != '\0');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::uint8_t> rest(data + 1, size - 1);
  const std::uint16_t port = (data[0] & 2) != 0 ? 21 : 587;
  if ((data[0] & 1) == 0) {
    run<proxy::ProxyHandler>(rest, port);
  } else {
    run<starttls::StartTlsHandler>(rest, port);
  }
  return 0;
}
