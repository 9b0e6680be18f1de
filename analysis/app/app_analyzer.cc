#include "analysis/app/app_analyzer.h"

#include <algorithm>
#include <array>
#include <new>
#include <tuple>
#include <type_traits>
#include <variant>

#include "analysis/app/dns/dns_handler.h"
#include "analysis/app/http/http_handler.h"
#include "analysis/app/proxy/proxy_handler.h"
#include "analysis/app/quic/quic_handler.h"
#include "analysis/app/starttls/starttls_handler.h"
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
  Claim (*claims)(const ProbeInput&);  // may this handler take a flow starting with these bytes?
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
    // Before HTTP, which would take "CONNECT " as a request like any other.
    Row<proxy::ProxyHandler, kTcp>{proxy::ProxyHandler::claims_connect},
    Row<http::HttpHandler, kTcp>{http::HttpHandler::claims},
    Row<dns::DnsHandler, kTcp>{dns::DnsHandler::on_port},
    // Binary first bytes (SOCKS versions 4 and 5, BER, an SSLRequest) after DNS over TCP, whose
    // length prefix may look like them; server-first greetings last.
    Row<proxy::ProxyHandler, kTcp>{proxy::ProxyHandler::claims_socks},
    Row<starttls::StartTlsHandler, kTcp>{starttls::StartTlsHandler::claims_client},
    Row<starttls::StartTlsHandler, kTcp>{starttls::StartTlsHandler::claims_banner},
    Row<dns::DnsHandler, kUdp>{dns::DnsHandler::looks_like_dns},
};

}  // namespace

// Before a row has claimed a TCP flow: the first bytes so far, while a claim needs more of them.
// Kept here, inside the variant that the handlers' larger state sizes anyway, so waiting costs no
// allocation and no byte of per-flow state. Only the direction that spoke first is probed.
struct AppAnalyzer::Probing {
  std::array<std::uint8_t, kProbeBytes> bytes{};
  std::uint8_t size = 0;
  std::uint8_t sender = 0;  // valid when size > 0
  bool server_passed = false;  // the server spoke first in bytes no row took: the client is probed
};
static_assert(kProbeBytes <= 255, "Probing::size is a byte");
static_assert(sizeof(AppAnalyzer::Probing) <= sizeof(tls::TlsHandler), "waiting must not grow the per-flow state");

namespace {

using Probing = AppAnalyzer::Probing;

// std::variant<Probing, each handler of the table once>; Probing: not claimed yet.
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
  using type = typename AppendUnique<std::variant<Probing>, H...>::type;
};
using HandlerState = StateOf<std::remove_cv_t<decltype(kHandlers)>>::type;

// kYes: the row takes the flow. kNeedMore stops the search as kYes does: a later row may take
// the flow only once every earlier row has said no, or the order of the table would depend on
// how the sender cut its first segment. Over UDP a datagram is whole: kNeedMore is kNo.
template <typename H, std::uint8_t T>
Claim claim(const Row<H, T>& row, std::uint8_t transport, const ProbeInput& in, HandlerState& state) {
  if (transport != T) return Claim::kNo;
  const Claim c = row.claims(in);
  if (c == Claim::kYes) state.template emplace<H>();
  if (c == Claim::kNeedMore && T == kUdp) return Claim::kNo;
  return c;
}

// Gives the flow to the first row that claims it. kYes: `state` holds that row's handler; kNo:
// no row takes these bytes (unknown); kNeedMore: a row needs more bytes to decide.
Claim probe(std::uint8_t transport, const ProbeInput& in, HandlerState& state) {
  Claim result = Claim::kNo;
  std::apply(
      [&](const auto&... row) {
        // The fold stops at the first row that does not say kNo; its value itself is not needed.
        static_cast<void>(((result = claim(row, transport, in, state), result != Claim::kNo) || ...));
      },
      kHandlers);
  return result;
}

AppProtocol protocol_of(const HandlerState& state) {
  return std::visit(
      []<typename H>(const H&) {
        if constexpr (std::is_same_v<H, Probing>) {
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
            if constexpr (std::is_same_v<H, Probing>) {
              // The flow ended on first bytes no claim could decide ("G", one 0x16): the
              // protocol, and so what it sent, stays unknown.
              if (h.size > 0) ctx_.inspection_limit(f, InspectionLimit::kProtocolDetection);
            } else if constexpr (requires { h.on_retire(ctx_, f); }) {
              h.on_retire(ctx_, f);
            }
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
  std::uint64_t budget = ctx_.config.tcp_inspect_bytes;
  std::visit(
      [&]<typename H>(const H& h) {
        if constexpr (requires { h.stream_budget(ctx_); }) budget = h.stream_budget(ctx_);
      },
      in.handler);
  stream.add(seq, payload, budget,
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
        if constexpr (std::is_same_v<H, Probing>) {
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
  if (auto* probing = std::get_if<Probing>(&in.handler)) {
    claim_stream(f, sender, bytes, *probing, in);
  } else {
    feed(f, sender, bytes, in);
  }
}

void AppAnalyzer::feed(flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> bytes, Inspection& in) {
  std::visit(
      [&]<typename H>(H& h) {
        if constexpr (StreamHandler<H>) h.on_stream(ctx_, f, sender, bytes);
      },
      in.handler);
}

// The flow's first bytes in stream order, probed as they come: the first run alone when it
// decides (no copy), else gathered in `held` (up to kProbeBytes) until a claim decides. Once a
// row takes the flow, its handler gets every byte from the first, the held ones included.
void AppAnalyzer::claim_stream(flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> bytes,
                               Probing& held, Inspection& in) {
  if (held.server_passed && sender != f.client) return;
  if (held.size > 0 && sender != held.sender) {
    // The other side spoke before the first side's bytes said what they are: which bytes lead
    // is unclear, so the flow is not guessed at.
    ctx_.inspection_limit(f, InspectionLimit::kProtocolDetection);
    done(f);
    return;
  }
  std::array<std::uint8_t, kProbeBytes> first{};
  std::size_t first_size = 0;  // held bytes, with the head of `bytes` that joined them
  std::span<const std::uint8_t> probe_bytes = bytes;
  if (held.size > 0) {
    const std::size_t take = std::min(bytes.size(), kProbeBytes - held.size);
    std::copy_n(bytes.begin(), take, held.bytes.begin() + held.size);
    held.size = static_cast<std::uint8_t>(held.size + take);
    first = held.bytes;  // `held` goes when a handler takes its place
    first_size = held.size;
    bytes = bytes.subspan(take);
    probe_bytes = std::span<const std::uint8_t>(first.data(), first_size);
  }
  const ProbeInput probe_input{probe_bytes, f.key.port[f.client], f.key.port[f.server()], sender == f.client};
  switch (probe(packet::kProtoTcp, probe_input, in.handler)) {
    case Claim::kNo:
      // A server that speaks first in bytes no server-first row takes (an IDS evasion such as
      // CVE-2018-6794 sends its answer before the request) does not hide the client's request:
      // the client's first bytes are probed as if the server had been silent.
      if (sender != f.client && first_size == 0 && !held.server_passed) {
        held.server_passed = true;
        return;
      }
      done(f);
      return;
    case Claim::kNeedMore:
      if (first_size == 0 && bytes.size() < kProbeBytes) {
        std::copy(bytes.begin(), bytes.end(), held.bytes.begin());
        held.size = static_cast<std::uint8_t>(bytes.size());
        held.sender = sender;
        return;
      }
      if (first_size > 0 && first_size < kProbeBytes) return;
      // Every claim decides within kProbeBytes: undecided past them is a claim's bug or a
      // sender's trick; either way the flow is named as one the audit could not see into.
      ctx_.inspection_limit(f, InspectionLimit::kProtocolDetection);
      done(f);
      return;
    case Claim::kYes:
      break;
  }
  ctx_.details_for(f).app = protocol_of(in.handler);
  if (first_size > 0) {
    feed(f, sender, std::span<const std::uint8_t>(first.data(), first_size), in);
    if (is_done(f) || bytes.empty()) return;
  }
  feed(f, sender, bytes, in);
}

void AppAnalyzer::on_udp(flow::Flow& f, std::uint8_t sender, const packet::DecodedPacket& p, Inspection& in) {
  const auto payload = p.transport.payload;
  if (payload.empty()) return;
  if (std::holds_alternative<Probing>(in.handler)) {
    const ProbeInput probe_input{payload, f.key.port[f.client], f.key.port[f.server()], sender == f.client};
    probe(packet::kProtoUdp, probe_input, in.handler);
    const AppProtocol protocol = protocol_of(in.handler);
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
