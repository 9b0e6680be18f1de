#include "analysis/app/app_analyzer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <new>

#include "analysis/app/http/http_request.h"
#include "analysis/app/quic/quic_initial.h"
#include "analysis/app/tls/client_hello.h"
#include "analysis/app/tls/fingerprint.h"
#include "analysis/app/tls/handshake_reader.h"
#include "analysis/flow/tcp_stream.h"
#include "core/byte_reader.h"

namespace flowaudit::analysis::app {
namespace {

// Flow::app_state values.
constexpr std::uint8_t kStateNew = 0;
constexpr std::uint8_t kStateInspecting = 1;
constexpr std::uint8_t kStateDone = 2;

constexpr std::uint16_t kDnsPort = 53;
constexpr std::uint16_t kMdnsPort = 5353;
constexpr std::size_t kMaxStreamBuffer = 64 * 1024;

struct ProbeInput {
  std::span<const std::uint8_t> payload;
  std::uint16_t client_port;
  std::uint16_t server_port;
  bool from_client;
};

bool is_dns_port(const ProbeInput& in) {
  return in.server_port == kDnsPort || in.client_port == kDnsPort || in.server_port == kMdnsPort;
}

// DNS on another port (dig -p, local resolvers): a message that parses strictly as one standard
// query or response. Runs only for UDP that nothing else claimed.
bool looks_like_dns(const ProbeInput& in) {
  thread_local dns::Message m;
  return in.payload.size() >= 12 && dns::parse_message(in.payload, m) == ParseStatus::kOk && m.opcode == 0 &&
         m.question_count == 1 && m.qname.length > 0;
}

bool is_gquic_version(std::span<const std::uint8_t> v) {
  return v.size() >= 4 && (v[0] == 'Q' || v[0] == 'T') && v[1] == '0' && v[2] >= '0' && v[2] <= '9' &&
         v[3] >= '0' && v[3] <= '9';
}

bool looks_like_gquic(const ProbeInput& in) {
  const auto p = in.payload;
  if (!in.from_client || p.size() < 13) return false;
  if ((p[0] & 0x80) != 0) return is_gquic_version(p.subspan(1, 4));  // Q046+ long header
  // Older gQUIC: public flags with the version bit, an 8-byte connection id, then the version.
  return (p[0] & 0x01) != 0 && (p[0] & 0x08) != 0 && is_gquic_version(p.subspan(9, 4));
}

bool looks_like_quic(const ProbeInput& in) {
  return in.from_client && quic::is_long_header(in.payload) && !looks_like_gquic(in);
}

bool looks_like_tls(const ProbeInput& in) {
  const auto p = in.payload;
  return p.size() >= 3 && p[0] == 0x16 && p[1] == 0x03 && p[2] <= 0x04;
}

bool looks_like_http(const ProbeInput& in) { return in.from_client && http::looks_like_request(in.payload); }

struct Probe {
  AppProtocol protocol;
  std::uint8_t transport;
  bool (*matches)(const ProbeInput&);
};

// First match wins; the order puts the cheap and certain checks first.
constexpr std::array kProbes = {
    Probe{AppProtocol::kDns, packet::kProtoUdp, is_dns_port},
    Probe{AppProtocol::kGquic, packet::kProtoUdp, looks_like_gquic},
    Probe{AppProtocol::kQuic, packet::kProtoUdp, looks_like_quic},
    Probe{AppProtocol::kTls, packet::kProtoTcp, looks_like_tls},
    Probe{AppProtocol::kHttp, packet::kProtoTcp, looks_like_http},
    Probe{AppProtocol::kDns, packet::kProtoTcp, is_dns_port},
    Probe{AppProtocol::kDns, packet::kProtoUdp, looks_like_dns},
};

AppProtocol probe(std::uint8_t transport, const ProbeInput& in) {
  for (const Probe& p : kProbes) {
    if (p.transport == transport && p.matches(in)) return p.protocol;
  }
  return AppProtocol::kUnknown;
}

std::string quic_version_name(std::uint32_t v) {
  switch (v) {
    case quic::kVersion1: return "1";
    case quic::kVersion2: return "2";
    case quic::kDraft29: return "draft-29";
    default: break;
  }
  if ((v >> 8) == 0xff0000) return fmt::format("draft-{}", v & 0xff);
  return fmt::format("0x{:08x}", v);
}

std::uint16_t highest_version(const tls::ClientHello& hello) {
  std::uint16_t best = 0;
  for (const std::uint16_t v : hello.supported_versions) {
    if (!tls::is_grease(v)) best = std::max(best, v);
  }
  return best != 0 ? best : hello.legacy_version;
}

// The blank line that ends an HTTP head lies in buf at or after `from` (it may begin before).
bool head_ends(const std::vector<std::uint8_t>& buf, std::size_t from) noexcept {
  for (std::size_t i = std::max<std::size_t>(from, 1); i < buf.size(); ++i) {
    if (buf[i] != '\n') continue;
    if (buf[i - 1] == '\n' || (buf[i - 1] == '\r' && i >= 2 && buf[i - 2] == '\n')) return true;
  }
  return false;
}

}  // namespace

struct AppAnalyzer::Inspection {
  AppProtocol protocol = AppProtocol::kUnknown;
  flow::TcpStream stream[2];
  tls::HandshakeReader tls[2];
  std::vector<std::uint8_t> buffer[2];  // HTTP headers / DNS-over-TCP framing
  std::unique_ptr<quic::InitialAssembler> quic;  // only for QUIC flows
  std::uint32_t datagrams = 0;
  std::uint32_t dns_messages = 0;
  // DNS queries of this flow waiting for their response: (DNS id, index into dns_).
  core::FixedList<std::pair<std::uint16_t, std::size_t>, 16> pending;
};

AppAnalyzer::AppAnalyzer(AppConfig config)
    : config_(config),
      names_(config.max_dns_records),
      message_(std::make_unique<dns::Message>()),
      strings_(std::make_shared<core::StringPool>()) {}

AppAnalyzer::~AppAnalyzer() = default;

FlowDetails& AppAnalyzer::details_for(const flow::Flow& f) { return details_[f.id]; }

// Marks the flow finished; its inspection state is dropped by on_packet once the parsers have
// returned (they may still be running on it when this is called).
void AppAnalyzer::done(flow::Flow& f) noexcept { f.app_state = kStateDone; }

void AppAnalyzer::drop_inspection(flow::Flow& f) noexcept {
  if (f.app_data == nullptr) return;
  f.app_data = nullptr;
  inspections_.erase(f.id);
}

void AppAnalyzer::on_retire(flow::Flow& f) noexcept {
  // A request head the capture ended in (or the flow table evicted) is still a request sent.
  auto* in = f.app_state == kStateInspecting ? static_cast<Inspection*>(f.app_data) : nullptr;
  if (in != nullptr && in->protocol == AppProtocol::kHttp && !in->buffer[f.client].empty()) {
    try {
      http_head(f, *in, InspectionLimit::kNone);
    } catch (const std::bad_alloc&) {
    }
  }
  drop_inspection(f);
}

void AppAnalyzer::on_packet(flow::Flow& f, std::uint8_t sender, const packet::DecodedPacket& p) noexcept {
  if (f.app_state == kStateDone) return;
  try {
    Inspection* in = nullptr;
    if (f.app_state == kStateNew) {
      const bool syn = p.protocol == packet::kProtoTcp && (p.transport.tcp_flags & packet::tcp_flag::kSyn) != 0;
      if (p.transport.payload.empty() && !syn) return;
      if (inspections_.size() >= config_.max_inspections) {
        // A bare SYN may still find a free slot with its first data; data that finds none is a
        // flow nobody looked into, which a sender can cause by holding many flows open.
        if (p.transport.payload.empty()) return;
        ++stats_.inspections_skipped;
        inspection_limit(f, InspectionLimit::kConcurrentInspections);
        f.app_state = kStateDone;
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
        f.app_state = kStateDone;
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
  if (f.app_state == kStateDone) drop_inspection(f);
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
  stream.add(seq, payload, config_.tcp_inspect_bytes,
             [&](std::span<const std::uint8_t> bytes) { on_stream_bytes(f, sender, bytes, in); });
  if (f.app_state == kStateDone) return;
  if (stream.state() != before) {  // the reordering limit or the byte budget stopped this direction
    if (stream.state() == flow::TcpStream::State::kGap) ++stats_.tcp_gaps;
    stream_stopped(f, sender, in,
                   stream.state() == flow::TcpStream::State::kGap ? InspectionLimit::kTcpReorder
                                                                   : InspectionLimit::kTcpBudget);
    if (f.app_state == kStateDone) return;
  }
  const bool both_closed = in.stream[0].state() != flow::TcpStream::State::kOpen &&
                           in.stream[1].state() != flow::TcpStream::State::kOpen;
  if (both_closed) done(f);
}

void AppAnalyzer::inspection_limit(const flow::Flow& f, InspectionLimit which) {
  FlowDetails& d = details_for(f);
  mark_blind_spot(d, BlindSpot::kInspectionLimit);
  if (d.limit == InspectionLimit::kNone) d.limit = which;
  ++stats_.inspection_limits;
}

// One direction stopped before its parser had what the audit needs from it: the first bytes in
// order (to know the protocol), the ClientHello or ServerHello, the HTTP request head.
void AppAnalyzer::stream_stopped(flow::Flow& f, std::uint8_t sender, Inspection& in, InspectionLimit which) {
  const bool from_client = sender == f.client;
  switch (in.protocol) {
    case AppProtocol::kUnknown:
      inspection_limit(f, which);
      return;
    case AppProtocol::kTls: {
      const auto it = details_.find(f.id);
      const TlsDetails* t = it != details_.end() ? it->second.tls.get() : nullptr;
      if (t == nullptr || !(from_client ? t->client_hello : t->server_hello)) inspection_limit(f, which);
      return;
    }
    case AppProtocol::kHttp:
      if (from_client) http_head(f, in, which);
      return;
    default:
      return;
  }
}

void AppAnalyzer::on_stream_bytes(flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> bytes,
                                  Inspection& in) {
  if (f.app_state == kStateDone) return;
  const bool from_client = sender == f.client;
  if (in.protocol == AppProtocol::kUnknown) {
    const ProbeInput probe_input{bytes, f.key.port[f.client], f.key.port[f.server()], from_client};
    in.protocol = probe(packet::kProtoTcp, probe_input);
    if (in.protocol == AppProtocol::kUnknown) {
      done(f);
      return;
    }
    details_for(f).app = in.protocol;
  }
  switch (in.protocol) {
    case AppProtocol::kTls: {
      FlowDetails& d = details_for(f);
      const auto reader_before = in.tls[sender].state();
      in.tls[sender].feed(bytes, [&](const tls::HandshakeReader::Message& m) {
        if (m.type == tls::handshake::kClientHello && from_client) {
          on_client_hello(d, m.body, false);
        } else if (m.type == tls::handshake::kServerHello && !from_client) {
          tls::ServerHello sh;
          if (tls::parse_server_hello(m.body, sh) != ParseStatus::kOk) {
            ++stats_.tls_malformed;
            return;
          }
          if (!d.tls) d.tls = std::make_unique<TlsDetails>();
          d.tls->server_hello = true;
          d.tls->version = sh.version();
          d.tls->cipher = sh.cipher_suite;
          d.tls->alpn = strings_->intern(sh.alpn);
          d.tls->ja3s = strings_->intern(tls::ja3s(sh));
        } else if (m.type == tls::handshake::kCertificate && !from_client) {
          if (!d.tls || d.tls->version >= 0x0304) return;  // TLS 1.3 certificates are encrypted
          const CachedCertificate& cert = certificate(m.body);
          if (!cert.ok) {
            ++stats_.tls_malformed;
            return;
          }
          d.tls->cert_subject = cert.subject;
          d.tls->cert_issuer = cert.issuer;
          d.tls->cert_san = cert.san;
        }
      });
      if (in.tls[sender].state() == tls::HandshakeReader::State::kLimit && reader_before != in.tls[sender].state()) {
        stream_stopped(f, sender, in, InspectionLimit::kTlsHandshake);
      }
      const auto client_state = in.tls[f.client].state();
      const auto server_state = in.tls[f.server()].state();
      const bool server_finished = server_state != tls::HandshakeReader::State::kReading ||
                                   (d.tls && d.tls->server_hello && d.tls->version >= 0x0304);
      if (client_state != tls::HandshakeReader::State::kReading && server_finished) done(f);
      if (client_state == tls::HandshakeReader::State::kNotTls && !(d.tls && d.tls->client_hello)) done(f);
      return;
    }
    case AppProtocol::kHttp: {
      if (!from_client) return;
      auto& buf = in.buffer[sender];
      const std::size_t old = buf.size();
      const std::size_t room = http::kMaxHeaderBytes - std::min(old, http::kMaxHeaderBytes);
      buf.insert(buf.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(std::min(room, bytes.size())));
      // Parsed once, when the head is complete or the limit is reached, not once per segment.
      if (buf.size() < http::kMaxHeaderBytes && !head_ends(buf, old)) return;
      http_head(f, in, InspectionLimit::kNone);
      return;
    }
    case AppProtocol::kDns: {
      // DNS over TCP: each message is preceded by its 2-byte length.
      auto& buf = in.buffer[sender];
      if (buf.size() + bytes.size() > kMaxStreamBuffer) {
        done(f);
        return;
      }
      buf.insert(buf.end(), bytes.begin(), bytes.end());
      std::size_t used = 0;
      while (buf.size() - used >= 2) {
        const std::size_t len = (static_cast<std::size_t>(buf[used]) << 8) | buf[used + 1];
        if (buf.size() - used - 2 < len) break;
        on_dns_message(f, std::span<const std::uint8_t>(buf).subspan(used + 2, len), f.last_seen, true, in);
        used += 2 + len;
        if (++in.dns_messages >= config_.max_dns_messages_per_flow) {
          done(f);
          return;
        }
      }
      buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(used));
      return;
    }
    default:
      return;
  }
}

// The client's request head as far as it arrived. `cut` (not kNone): its direction stopped at that
// limit before the head was complete. A head cut by a limit is still reported with what
// was read (method, target, Host when it came before the limit), so the plaintext rules see it.
void AppAnalyzer::http_head(flow::Flow& f, Inspection& in, InspectionLimit cut) {
  done(f);
  const auto& buf = in.buffer[f.client];
  if (buf.empty()) {
    if (cut != InspectionLimit::kNone) inspection_limit(f, cut);
    return;
  }
  http::Request req;
  const ParseStatus st = http::parse_request(buf, req);
  if (st == ParseStatus::kMalformed) ++stats_.http_malformed;
  // A valid request line followed by a broken header (obs-fold, a line without a colon) was
  // still sent in plaintext, and some servers accept it: it is reported, as far as it was read.
  if (req.method.empty()) {
    if (cut != InspectionLimit::kNone) inspection_limit(f, cut);
    return;
  }
  if (st == ParseStatus::kLimit) {
    inspection_limit(f, req.header_count == http::kMaxHeaders ? InspectionLimit::kHttpHeadLines
                                                               : InspectionLimit::kHttpHeadBytes);
  } else if (cut != InspectionLimit::kNone && st == ParseStatus::kNeedMore) {
    inspection_limit(f, cut);
  }
  FlowDetails& d = details_for(f);
  if (!d.http) d.http = std::make_unique<HttpDetails>();
  HttpDetails& h = *d.http;
  h.method = strings_->intern(req.method);
  h.host = strings_->intern(req.host);
  h.path = strings_->intern(req.target);
  h.user_agent = strings_->intern(req.user_agent);
  h.content_type = strings_->intern(req.content_type);
  h.content_length = req.content_length;
  h.requests = 1;
}

const AppAnalyzer::CachedCertificate& AppAnalyzer::certificate(std::span<const std::uint8_t> body) {
  constexpr std::size_t kMaxCached = 4096;
  std::string key(body.begin(), body.end());
  if (const auto it = certificates_.find(key); it != certificates_.end()) return it->second;
  if (certificates_.size() >= kMaxCached) certificates_.clear();
  CachedCertificate c;
  tls::Certificate cert;
  if (tls::parse_certificate(body, cert) == ParseStatus::kOk) {
    c.ok = true;
    c.subject = strings_->intern(cert.subject);
    c.issuer = strings_->intern(cert.issuer);
    c.san = strings_->intern(core::join_items(cert.san_dns));
  }
  return certificates_.emplace(std::move(key), c).first->second;
}

void AppAnalyzer::on_client_hello(FlowDetails& d, std::span<const std::uint8_t> body, bool quic) {
  tls::ClientHello hello;
  if (tls::parse_client_hello(body, hello) != ParseStatus::kOk) {
    ++stats_.tls_malformed;
    return;
  }
  if (!d.tls) d.tls = std::make_unique<TlsDetails>();
  TlsDetails& t = *d.tls;
  t.client_hello = true;
  t.has_sni = hello.has_sni;
  t.sni = strings_->intern(hello.sni);
  t.alpn_offered = strings_->intern(core::join_items(hello.alpn));
  t.client_version = highest_version(hello);
  t.cipher_count = 0;
  for (const auto c : hello.cipher_suites) t.cipher_count = static_cast<std::uint16_t>(t.cipher_count + !tls::is_grease(c));
  t.ech = hello.has_ech;
  const std::string ja3_text = tls::ja3_string(hello);
  t.ja3_string = strings_->intern(ja3_text);
  t.ja3 = strings_->intern(tls::ja3(hello));
  t.ja4 = strings_->intern(tls::ja4(hello, quic));
}

void AppAnalyzer::on_udp(flow::Flow& f, std::uint8_t sender, const packet::DecodedPacket& p, Inspection& in) {
  const auto payload = p.transport.payload;
  if (payload.empty()) return;
  const bool from_client = sender == f.client;
  if (in.protocol == AppProtocol::kUnknown) {
    const ProbeInput probe_input{payload, f.key.port[f.client], f.key.port[f.server()], from_client};
    in.protocol = probe(packet::kProtoUdp, probe_input);
    FlowDetails& d = details_for(f);
    d.app = in.protocol;
    if (in.protocol == AppProtocol::kUnknown) {
      mark_blind_spot(d, BlindSpot::kUdpUnknown);
      done(f);
      return;
    }
  }
  switch (in.protocol) {
    case AppProtocol::kDns:
      on_dns_message(f, payload, p.ts_ns, false, in);
      if (++in.dns_messages >= config_.max_dns_messages_per_flow) done(f);
      return;
    case AppProtocol::kQuic: {
      if (!from_client) return;
      FlowDetails& d = details_for(f);
      if (!in.quic) in.quic = std::make_unique<quic::InitialAssembler>();
      const auto state = in.quic->feed(payload);
      if (!d.quic) d.quic = std::make_unique<QuicDetails>();
      d.quic->version = in.quic->version();
      d.quic->version_name = strings_->intern(quic_version_name(in.quic->version()));
      using State = quic::InitialAssembler::State;
      if (state == State::kComplete) {
        d.quic->decrypted = true;
        on_client_hello(d, in.quic->client_hello(), true);
        done(f);
      } else if (state == State::kLimit ||
                 (state == State::kCollecting && ++in.datagrams >= config_.max_quic_datagrams &&
                  in.quic->decrypted_any())) {
        // Decrypted, but the hello did not fit the limits: hidden on purpose, or too large to read.
        d.quic->decrypted = true;
        inspection_limit(f, InspectionLimit::kQuicClientHello);
        done(f);
      } else if (state != State::kCollecting || in.datagrams >= config_.max_quic_datagrams) {
        mark_blind_spot(d, BlindSpot::kQuicUndecryptable);
        done(f);
      }
      return;
    }
    case AppProtocol::kGquic: {
      FlowDetails& d = details_for(f);
      quic::GquicHello hello;
      if (quic::parse_gquic_hello(payload, hello) == ParseStatus::kOk) {
        if (!d.quic) d.quic = std::make_unique<QuicDetails>();
        d.quic->version_name = strings_->intern(hello.version);
        d.quic->decrypted = true;
        if (!d.tls) d.tls = std::make_unique<TlsDetails>();
        d.tls->client_hello = true;
        d.tls->has_sni = !hello.sni.empty();
        d.tls->sni = strings_->intern(hello.sni);
        done(f);
      } else if (++in.datagrams >= config_.max_quic_datagrams) {
        mark_blind_spot(d, BlindSpot::kQuicUndecryptable);
        done(f);
      }
      return;
    }
    default:
      done(f);
      return;
  }
}

void AppAnalyzer::on_dns_message(const flow::Flow& f, std::span<const std::uint8_t> bytes, core::TimestampNs ts,
                                 bool tcp, Inspection& in) {
  dns::Message& m = *message_;
  const ParseStatus status = dns::parse_message(bytes, m);
  // A message cut short (snap length) still says what was asked and the answers read before the cut.
  if (status == ParseStatus::kMalformed || (status == ParseStatus::kNeedMore && m.qname.length == 0)) {
    ++stats_.dns_malformed;
    return;
  }
  std::array<char, 16> scratch{};
  if (!m.response) {
    if (dns_.size() >= config_.max_dns_records) {
      ++stats_.dns_records_dropped;
      return;
    }
    DnsRecord r;
    r.flow_id = f.id;
    r.ts_ns = ts;
    r.transport = tcp ? "tcp" : "udp";
    r.server = f.key.addr[f.server()];
    r.query = std::string(m.qname.view());
    r.qtype = std::string(dns::type_name(m.qtype, scratch));
    if (in.pending.size() == in.pending.capacity()) {  // forget the oldest unanswered query
      for (std::size_t i = 1; i < in.pending.size(); ++i) in.pending[i - 1] = in.pending[i];
      in.pending.clear_last();
    }
    in.pending.push_back({m.id, dns_.size()});
    dns_.push_back(std::move(r));
    return;
  }
  names_.add_response(m, ts);
  DnsRecord* r = nullptr;
  for (std::size_t i = 0; i < in.pending.size(); ++i) {
    if (in.pending[i].first != m.id) continue;
    r = &dns_[in.pending[i].second];
    in.pending[i] = in.pending[in.pending.size() - 1];
    in.pending.clear_last();
    break;
  }
  if (r == nullptr) {
    if (dns_.size() >= config_.max_dns_records) {
      ++stats_.dns_records_dropped;
      return;
    }
    dns_.emplace_back();
    r = &dns_.back();
    r->flow_id = f.id;
    r->ts_ns = ts;
    r->transport = tcp ? "tcp" : "udp";
    r->server = f.key.addr[f.server()];
    r->query = std::string(m.qname.view());
    r->qtype = std::string(dns::type_name(m.qtype, scratch));
  }
  r->rcode = std::string(dns::rcode_name(m.rcode, scratch));
  r->answers.clear();
  r->svcb.clear();
  for (const auto& a : m.answers) {
    switch (a.type) {
      case dns::rr::kA:
      case dns::rr::kAaaa:
        r->answers.push_back(a.address.to_string());
        break;
      case dns::rr::kCname:
      case dns::rr::kPtr:
        r->answers.emplace_back(a.target.view());
        break;
      case dns::rr::kSvcb:
      case dns::rr::kHttps: {
        SvcbAnswer svc;
        svc.priority = a.svc_priority;
        svc.target = a.target.length == 0 ? std::string(".") : std::string(a.target.view());
        svc.ech = a.ech;
        for (const auto& h : a.hints) svc.hints.push_back(h.to_string());
        r->ech = r->ech || a.ech;
        r->svcb.push_back(std::move(svc));
        break;
      }
      default:
        break;
    }
  }
}

void AppAnalyzer::finish() {
  inspections_.clear();  // flows still pointing here were all retired by the flow table's finish()
}

}  // namespace flowaudit::analysis::app
