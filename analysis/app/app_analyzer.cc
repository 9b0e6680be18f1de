#include "analysis/app/app_analyzer.h"

#include <new>
#include <tuple>
#include <type_traits>
#include <variant>

#include "analysis/app/dns/dns_handler.h"
#include "analysis/app/http/http_handler.h"
#include "analysis/app/quic/quic_handler.h"
#include "analysis/app/tls/tls_handler.h"
#include "analysis/flow/tcp_stream.h"

namespace flowaudit::analysis::app {
namespace {

// What a row's handler must offer for its transport (README.md in this folder).
template <typename H>
concept Handler = std::is_nothrow_default_constructible_v<H> && requires {
  { H::kProtocol } -> std::convertible_to<AppProtocol>;
};
template <typename H>
concept StreamHandler = Handler<H> && requires(H h, AppContext& c, flow::Flow& f, std::span<const std::uint8_t> b) {
  h.on_stream(c, f, std::uint8_t{}, b);
};
template <typename H>
concept DatagramHandler = Handler<H> && requires(H h, AppContext& c, flow::Flow& f, std::span<const std::uint8_t> b) {
  h.on_datagram(c, f, std::uint8_t{}, b, core::TimestampNs{});
};

template <typename H, std::uint8_t Transport>
struct Row {
  static_assert(Transport != packet::kProtoTcp || StreamHandler<H>, "a TCP row needs on_stream");
  static_assert(Transport != packet::kProtoUdp || DatagramHandler<H>, "a UDP row needs on_datagram");
  bool (*claims)(const ProbeInput&);  // may this handler take a flow starting with these bytes?
};

constexpr std::uint8_t kTcp = packet::kProtoTcp;
constexpr std::uint8_t kUdp = packet::kProtoUdp;

// THE protocol table. A flow belongs to the first row whose transport matches and whose claims()
// accepts its first bytes (first datagram, or first bytes in TCP stream order); nothing claims it:
// unknown. The order puts the cheap and certain checks first. The per-flow state is a variant of
// the handler types listed here, so adding a protocol is exactly: a folder analysis/app/<proto>/
// with its handler (state + on_stream / on_datagram, see README.md), its include above, and a
// row here (plus its AppProtocol value if reports are to name it).
constexpr std::tuple kHandlers{
    Row<dns::DnsHandler, kUdp>{dns::DnsHandler::on_port},
    Row<quic::GquicHandler, kUdp>{quic::GquicHandler::claims},
    Row<quic::QuicHandler, kUdp>{quic::QuicHandler::claims},
    Row<tls::TlsHandler, kTcp>{tls::TlsHandler::claims},
    Row<http::HttpHandler, kTcp>{http::HttpHandler::claims},
    Row<dns::DnsHandler, kTcp>{dns::DnsHandler::on_port},
    Row<dns::DnsHandler, kUdp>{dns::DnsHandler::looks_like_dns},
};

// std::variant<std::monostate, each handler of the table once>; monostate: not claimed yet.
template <typename V, typename... Ts>
struct AppendUnique {
  using type = V;
};
template <typename... Vs, typename T, typename... Ts>
struct AppendUnique<std::variant<Vs...>, T, Ts...>
    : AppendUnique<std::conditional_t<(std::is_same_v<T, Vs> || ...), std::variant<Vs...>, std::variant<Vs..., T>>,
                   Ts...> {};
template <typename Table>
struct StateOf;
template <typename... H, std::uint8_t... T>
struct StateOf<std::tuple<Row<H, T>...>> {
  using type = typename AppendUnique<std::variant<std::monostate>, H...>::type;
};
using HandlerState = StateOf<std::remove_cv_t<decltype(kHandlers)>>::type;

template <typename H, std::uint8_t T>
bool claim(const Row<H, T>& row, std::uint8_t transport, const ProbeInput& in, HandlerState& state) {
  if (transport != T || !row.claims(in)) return false;
  state.template emplace<H>();
  return true;
}

// Gives the flow to the first row that claims it; returns its protocol (kUnknown: none did).
AppProtocol probe(std::uint8_t transport, const ProbeInput& in, HandlerState& state) {
  std::apply([&](const auto&... row) { (claim(row, transport, in, state) || ...); }, kHandlers);
  return std::visit(
      []<typename H>(const H&) {
        if constexpr (std::is_same_v<H, std::monostate>) {
          return AppProtocol::kUnknown;
        } else {
          return H::kProtocol;
        }
      },
      state);
}

}  // namespace

struct AppAnalyzer::Inspection {
  flow::TcpStream stream[2];  // by sender; unused over UDP
  HandlerState handler;
};

std::size_t AppAnalyzer::inspection_size() noexcept { return sizeof(Inspection); }

AppAnalyzer::AppAnalyzer(AppConfig config) : ctx_(config) {}

AppAnalyzer::~AppAnalyzer() = default;

void AppAnalyzer::drop_inspection(flow::Flow& f) noexcept {
  if (f.app_data == nullptr) return;
  f.app_data = nullptr;
  inspections_.erase(f.id);
}

void AppAnalyzer::on_retire(flow::Flow& f) noexcept {
  auto* in = f.app_state == kStateInspecting ? static_cast<Inspection*>(f.app_data) : nullptr;
  if (in != nullptr) {
    try {
      std::visit(
          [&]<typename H>(H& h) {
            if constexpr (requires { h.on_retire(ctx_, f); }) h.on_retire(ctx_, f);
          },
          in->handler);
    } catch (const std::bad_alloc&) {
    }
  }
  drop_inspection(f);
}

void AppAnalyzer::on_packet(flow::Flow& f, std::uint8_t sender, const packet::DecodedPacket& p) noexcept {
  if (is_done(f)) return;
  try {
    Inspection* in = nullptr;
    if (f.app_state == kStateNew) {
      const bool syn = p.protocol == packet::kProtoTcp && (p.transport.tcp_flags & packet::tcp_flag::kSyn) != 0;
      if (p.transport.payload.empty() && !syn) return;
      if (inspections_.size() >= ctx_.config.max_inspections) {
        // A bare SYN may still find a free slot with its first data; data that finds none is a
        // flow nobody looked into, which a sender can cause by holding many flows open.
        if (p.transport.payload.empty()) return;
        ++ctx_.stats.inspections_skipped;
        ctx_.inspection_limit(f, InspectionLimit::kConcurrentInspections);
        done(f);
        return;
      }
      auto& slot = inspections_[f.id];
      slot = std::make_unique<Inspection>();
      in = slot.get();
      f.app_data = in;
      f.app_state = kStateInspecting;
    } else {
      in = static_cast<Inspection*>(f.app_data);
      if (in == nullptr) {
        done(f);
        return;
      }
    }
    if (p.protocol == packet::kProtoTcp) {
      on_tcp(f, sender, p, *in);
    } else {
      on_udp(f, sender, p, *in);
    }
  } catch (const std::bad_alloc&) {
    done(f);
  }
  if (is_done(f)) drop_inspection(f);
}

void AppAnalyzer::on_tcp(flow::Flow& f, std::uint8_t sender, const packet::DecodedPacket& p, Inspection& in) {
  flow::TcpStream& stream = in.stream[sender];
  const bool syn = (p.transport.tcp_flags & packet::tcp_flag::kSyn) != 0;
  if (syn && !stream.started()) stream.start(p.transport.tcp_seq + 1);
  const auto payload = p.transport.payload;
  if (payload.empty()) return;
  // Data on a SYN (TCP Fast Open) starts one past the sequence number the SYN itself takes.
  const std::uint32_t seq = syn ? p.transport.tcp_seq + 1 : p.transport.tcp_seq;
  const auto before = stream.state();
  // The protocol is probed on the first bytes in stream order (on_stream_bytes), not on the first
  // segment to arrive: a ClientHello whose second segment overtakes the first is still TLS.
  stream.add(seq, payload, ctx_.config.tcp_inspect_bytes,
             [&](std::span<const std::uint8_t> bytes) { on_stream_bytes(f, sender, bytes, in); });
  if (is_done(f)) return;
  if (stream.state() != before) {  // the reordering limit or the byte budget stopped this direction
    if (stream.state() == flow::TcpStream::State::kGap) ++ctx_.stats.tcp_gaps;
    stream_stopped(f, sender, in,
                   stream.state() == flow::TcpStream::State::kGap ? InspectionLimit::kTcpReorder
                                                                   : InspectionLimit::kTcpBudget);
    if (is_done(f)) return;
  }
  const bool both_closed = in.stream[0].state() != flow::TcpStream::State::kOpen &&
                           in.stream[1].state() != flow::TcpStream::State::kOpen;
  if (both_closed) done(f);
}

// One direction stopped before its handler had what the audit needs from it. Before any handler
// claimed the flow, the first bytes in order (to know the protocol) are what is missing.
void AppAnalyzer::stream_stopped(flow::Flow& f, std::uint8_t sender, Inspection& in, InspectionLimit which) {
  std::visit(
      [&]<typename H>(H& h) {
        if constexpr (std::is_same_v<H, std::monostate>) {
          ctx_.inspection_limit(f, which);
        } else if constexpr (requires { h.on_stream_stopped(ctx_, f, sender, which); }) {
          h.on_stream_stopped(ctx_, f, sender, which);
        }
      },
      in.handler);
}

void AppAnalyzer::on_stream_bytes(flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> bytes,
                                  Inspection& in) {
  if (is_done(f)) return;
  if (std::holds_alternative<std::monostate>(in.handler)) {
    const ProbeInput probe_input{bytes, f.key.port[f.client], f.key.port[f.server()], sender == f.client};
    const AppProtocol protocol = probe(packet::kProtoTcp, probe_input, in.handler);
    if (protocol == AppProtocol::kUnknown) {
      done(f);
      return;
    }
    ctx_.details_for(f).app = protocol;
  }
  std::visit(
      [&]<typename H>(H& h) {
        if constexpr (StreamHandler<H>) h.on_stream(ctx_, f, sender, bytes);
      },
      in.handler);
}

void AppAnalyzer::on_udp(flow::Flow& f, std::uint8_t sender, const packet::DecodedPacket& p, Inspection& in) {
  const auto payload = p.transport.payload;
  if (payload.empty()) return;
  if (std::holds_alternative<std::monostate>(in.handler)) {
    const ProbeInput probe_input{payload, f.key.port[f.client], f.key.port[f.server()], sender == f.client};
    const AppProtocol protocol = probe(packet::kProtoUdp, probe_input, in.handler);
    FlowDetails& d = ctx_.details_for(f);
    d.app = protocol;
    if (protocol == AppProtocol::kUnknown) {
      mark_blind_spot(d, BlindSpot::kUdpUnknown);
      done(f);
      return;
    }
  }
  std::visit(
      [&]<typename H>(H& h) {
        if constexpr (DatagramHandler<H>) {
          h.on_datagram(ctx_, f, sender, payload, p.ts_ns);
        } else {
          done(f);
        }
      },
      in.handler);
}

void AppAnalyzer::finish() {
  inspections_.clear();  // flows still pointing here were all retired by the flow table's finish()
}

}  // namespace flowaudit::analysis::app
