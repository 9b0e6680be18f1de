#include "analysis/flow/flow_table.h"

#include "analysis/flow/audit_clock.h"

#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

using namespace flowaudit::analysis::flow;
using flowaudit::analysis::packet::DecodedPacket;
using flowaudit::analysis::packet::kProtoTcp;
using flowaudit::analysis::packet::kProtoUdp;
using flowaudit::core::Cidr;
using flowaudit::core::IpAddress;
using flowaudit::core::kNsPerSecond;
using flowaudit::core::TimestampNs;
namespace tcp_flag = flowaudit::analysis::packet::tcp_flag;

namespace {

const std::array<std::uint8_t, 2048> kPayload{};

constexpr std::uint8_t kSyn = tcp_flag::kSyn;
constexpr std::uint8_t kSynAck = tcp_flag::kSyn | tcp_flag::kAck;
constexpr std::uint8_t kAck = tcp_flag::kAck;
constexpr std::uint8_t kFinAck = tcp_flag::kFin | tcp_flag::kAck;
constexpr std::uint8_t kRst = tcp_flag::kRst;

DecodedPacket pkt(const std::string& src, std::uint16_t sport, const std::string& dst, std::uint16_t dport,
                  std::uint8_t proto, std::uint8_t flags, TimestampNs ts, std::size_t payload = 0,
                  std::uint64_t wire_bytes = 100) {
  DecodedPacket p;
  p.ts_ns = ts;
  p.src = *IpAddress::parse(src);
  p.dst = *IpAddress::parse(dst);
  p.protocol = proto;
  p.transport.src_port = sport;
  p.transport.dst_port = dport;
  p.transport.tcp_flags = flags;
  p.transport.payload = std::span<const std::uint8_t>(kPayload).first(payload);
  p.wire_bytes = wire_bytes;
  return p;
}

const char* const kClient = "10.0.0.2";
const char* const kServer = "93.184.216.34";

DecodedPacket c2s(std::uint8_t flags, TimestampNs ts = 0, std::uint16_t cport = 50000, std::size_t payload = 0) {
  return pkt(kClient, cport, kServer, 443, kProtoTcp, flags, ts, payload);
}
DecodedPacket s2c(std::uint8_t flags, TimestampNs ts = 0, std::uint16_t cport = 50000, std::size_t payload = 0) {
  return pkt(kServer, 443, kClient, cport, kProtoTcp, flags, ts, payload);
}

struct Table {
  explicit Table(FlowTableConfig c = {}) : t(std::move(c)) {}
  FlowTable t;
  std::uint8_t sender = 9;
  Flow& operator()(const DecodedPacket& p, std::uint32_t input = 0) { return t.update(p, input, sender); }
};

const Flow* find_flow(const std::vector<Flow>& flows, std::uint64_t id) {
  for (const auto& f : flows) {
    if (f.id == id) return &f;
  }
  return nullptr;
}

// The key update() builds for a client -> server packet: endpoints in canonical order.
FlowKey key_for(const std::string& client, std::uint16_t cport, const std::string& server, std::uint16_t sport,
                std::uint8_t proto) {
  FlowKey k;
  const auto a = *IpAddress::parse(client);
  const auto b = *IpAddress::parse(server);
  const bool client_first = a != b ? a < b : cport < sport;
  k.addr[client_first ? 0 : 1] = a;
  k.port[client_first ? 0 : 1] = cport;
  k.addr[client_first ? 1 : 0] = b;
  k.port[client_first ? 1 : 0] = sport;
  k.protocol = proto;
  return k;
}

}  // namespace

TEST_SUITE("analysis.flow.flow_table") {
  TEST_CASE("both directions share one flow") {
    Table tb;
    const std::uint64_t id = tb(c2s(kSyn, 1'000)).id;
    const std::uint8_t first_sender = tb.sender;
    Flow& f = tb(s2c(kSynAck, 2'000, 50000, 0));
    CHECK(f.id == id);
    CHECK(tb.sender != first_sender);
    tb(c2s(kAck, 3'000, 50000, 200));
    CHECK(tb.t.stats().created == 1);
    CHECK(tb.t.live() == 1);
    tb.t.finish();
    REQUIRE(tb.t.finished().size() == 1);
    const Flow& done = tb.t.finished()[0];
    CHECK(done.out().packets == 2);
    CHECK(done.in().packets == 1);
    CHECK(done.out().bytes == 200);
    CHECK(done.out().payload_bytes == 200);
    CHECK(done.out().first_ns == 1'000);
    CHECK(done.out().last_ns == 3'000);
    CHECK(done.in().first_ns == 2'000);
    CHECK(done.first_seen() == 1'000);
    CHECK(done.last_seen == 3'000);
    CHECK(done.end == FlowEnd::kActive);
    CHECK(done.key.addr[done.client] == *IpAddress::parse(kClient));
    CHECK(done.key.port[done.server()] == 443);
  }

  TEST_CASE("different ports, addresses or protocols are different flows") {
    Table tb;
    tb(c2s(kSyn, 0, 50000));
    tb(c2s(kSyn, 0, 50001));
    tb(pkt(kClient, 50000, "93.184.216.35", 443, kProtoTcp, kSyn, 0));
    tb(pkt(kClient, 50000, kServer, 443, kProtoUdp, 0, 0));
    CHECK(tb.t.stats().created == 4);
    CHECK(tb.t.live() == 4);
  }

  TEST_CASE("wire packets and bytes of reassembled datagrams are counted") {
    Table tb;
    DecodedPacket p = pkt(kClient, 5000, kServer, 4433, kProtoUdp, 0, 0, 3000, 3068);
    p.wire_packets = 3;
    tb(p);
    tb.t.finish();
    const Flow& f = tb.t.finished()[0];
    CHECK(f.out().packets == 3);
    CHECK(f.out().bytes == 3068);
    CHECK(f.out().payload_bytes == 3000);
  }

  TEST_CASE("orientation from the SYN") {
    Table tb;
    Flow& f = tb(c2s(kSyn));
    CHECK(f.orientation == Orientation::kTcpHandshake);
    CHECK(f.key.addr[f.client] == *IpAddress::parse(kClient));
    // The handshake wins over the ports: here the SYN comes from port 443.
    Flow& g = tb(pkt("10.0.0.9", 443, "10.0.0.8", 50000, kProtoTcp, kSyn, 0));
    CHECK(g.orientation == Orientation::kTcpHandshake);
    CHECK(g.key.addr[g.client] == *IpAddress::parse("10.0.0.9"));
    CHECK(g.key.port[g.client] == 443);
  }

  TEST_CASE("orientation from a SYN-ACK seen first") {
    Table tb;
    Flow& f = tb(s2c(kSynAck));
    CHECK(f.orientation == Orientation::kTcpHandshake);
    CHECK(f.key.addr[f.client] == *IpAddress::parse(kClient));
    CHECK(f.tcp == TcpState::kSynAckSeen);
  }

  TEST_CASE("orientation from --client") {
    FlowTableConfig c;
    c.clients.push_back(*Cidr::parse("10.0.0.0/8"));
    c.clients.push_back(*Cidr::parse("2001:db8::/32"));
    Table tb(c);
    // A reply seen first, from a port that looks like a client's.
    Flow& f = tb(pkt("8.8.8.8", 40000, kClient, 53, kProtoUdp, 0, 0));
    CHECK(f.orientation == Orientation::kClientCidr);
    CHECK(f.key.addr[f.client] == *IpAddress::parse(kClient));
    Flow& g = tb(pkt("2606:4700::1111", 443, "2001:db8::5", 50000, kProtoUdp, 0, 0));
    CHECK(g.orientation == Orientation::kClientCidr);
    CHECK(g.key.addr[g.client] == *IpAddress::parse("2001:db8::5"));
    // Both ends inside: the CIDR cannot decide, the ports do.
    Flow& h = tb(pkt("10.0.0.1", 53, "10.0.0.2", 41000, kProtoUdp, 0, 0));
    CHECK(h.orientation == Orientation::kPort);
    CHECK(h.key.port[h.client] == 41000);
    // TCP midstream is oriented by the CIDR too; a SYN still wins.
    Flow& m = tb(pkt(kServer, 443, kClient, 50000, kProtoTcp, kAck, 0));
    CHECK(m.orientation == Orientation::kClientCidr);
    Flow& s = tb(pkt(kServer, 443, kClient, 50001, kProtoTcp, kSyn, 0));
    CHECK(s.orientation == Orientation::kTcpHandshake);
    CHECK(s.key.addr[s.client] == *IpAddress::parse(kServer));
  }

  TEST_CASE("port heuristic") {
    Table tb;
    // Well-known port on the sender: the receiver is the client.
    Flow& a = tb(pkt("8.8.8.8", 53, kClient, 40000, kProtoUdp, 0, 0));
    CHECK(a.orientation == Orientation::kPort);
    CHECK(a.key.port[a.client] == 40000);
    Flow& b = tb(pkt(kClient, 40001, "8.8.8.8", 53, kProtoUdp, 0, 0));
    CHECK(b.orientation == Orientation::kPort);
    CHECK(b.key.port[b.client] == 40001);
    // Both registered/ephemeral: the ephemeral one is the client.
    Flow& c = tb(pkt(kServer, 8443, kClient, 50000, kProtoUdp, 0, 0));
    CHECK(c.orientation == Orientation::kPort);
    CHECK(c.key.port[c.client] == 50000);
    Flow& d = tb(pkt(kClient, 33000, kServer, 3478, kProtoUdp, 0, 0));
    CHECK(d.orientation == Orientation::kPort);
    CHECK(d.key.port[d.client] == 33000);
    // TCP without a handshake.
    Flow& e = tb(s2c(kAck, 0, 50000, 10));
    CHECK(e.orientation == Orientation::kPort);
    CHECK(e.key.addr[e.client] == *IpAddress::parse(kClient));
  }

  TEST_CASE("first-packet fallback") {
    Table tb;
    Flow& a = tb(pkt("10.0.0.1", 40000, "10.0.0.2", 50000, kProtoUdp, 0, 0));  // both ephemeral
    CHECK(a.orientation == Orientation::kFirstPacket);
    CHECK(a.key.addr[a.client] == *IpAddress::parse("10.0.0.1"));
    Flow& b = tb(pkt("10.0.0.2", 123, "10.0.0.1", 123, kProtoUdp, 0, 0));  // both well-known
    CHECK(b.orientation == Orientation::kFirstPacket);
    CHECK(b.key.addr[b.client] == *IpAddress::parse("10.0.0.2"));
    Flow& c = tb(pkt("10.0.0.3", 5000, "10.0.0.4", 6000, kProtoUdp, 0, 0));  // both registered
    CHECK(c.orientation == Orientation::kFirstPacket);
    CHECK(c.key.addr[c.client] == *IpAddress::parse("10.0.0.3"));
  }

  TEST_CASE("TCP states through a handshake and an orderly close") {
    Table tb;
    CHECK(tb(c2s(kSyn)).tcp == TcpState::kSynSent);
    CHECK(tb(s2c(kAck)).tcp == TcpState::kSynSent);  // stray ACK changes nothing
    CHECK(tb(s2c(kSynAck)).tcp == TcpState::kSynAckSeen);
    CHECK(tb(s2c(kAck)).tcp == TcpState::kSynAckSeen);  // the server's ACK does not complete it
    CHECK(tb(c2s(kAck)).tcp == TcpState::kEstablished);
    CHECK(tb(c2s(kAck, 0, 50000, 100)).tcp == TcpState::kEstablished);
    Flow& closing = tb(c2s(kFinAck));
    CHECK(closing.tcp == TcpState::kClosing);
    CHECK(tb(c2s(kFinAck)).tcp == TcpState::kClosing);  // retransmitted FIN
    Flow& closed = tb(s2c(kFinAck));
    CHECK(closed.tcp == TcpState::kClosed);
    CHECK(closed.fin_from == 3);
    CHECK(tb(c2s(kAck)).tcp == TcpState::kClosed);
    CHECK(tb.t.stats().created == 1);
  }

  TEST_CASE("TCP reset") {
    Table tb;
    tb(c2s(kSyn));
    CHECK(tb(s2c(kRst | kAck)).tcp == TcpState::kReset);
    CHECK(tb(c2s(kFinAck)).tcp == TcpState::kReset);  // nothing after a reset changes it
    Table mid;
    CHECK(mid(c2s(kAck, 0, 50000, 10)).tcp == TcpState::kMidstream);
    CHECK(mid(s2c(kRst)).tcp == TcpState::kReset);
  }

  TEST_CASE("TCP midstream") {
    Table tb;
    Flow& f = tb(s2c(kAck, 0, 50000, 500));
    CHECK(f.tcp == TcpState::kMidstream);
    CHECK(tb(c2s(kAck)).tcp == TcpState::kMidstream);
    CHECK(tb(c2s(kFinAck)).tcp == TcpState::kClosing);
    CHECK(tb(s2c(kFinAck)).tcp == TcpState::kClosed);
    // UDP flows have no TCP state.
    Table u;
    CHECK(u(pkt(kClient, 40000, "8.8.8.8", 53, kProtoUdp, 0, 0)).tcp == TcpState::kNone);
  }

  TEST_CASE("idle timeout retires flows as the clock hand passes") {
    Table tb;
    tb(pkt(kClient, 40000, "8.8.8.8", 53, kProtoUdp, 0, 0));  // idle from t = 0
    // Plenty of later traffic on another flow walks the hand over every slot.
    for (int i = 0; i < 2048; ++i) tb(c2s(kAck, 200 * kNsPerSecond + i, 50000, 1));
    CHECK(tb.t.stats().idle_expired == 1);
    CHECK(tb.t.live() == 1);
    REQUIRE(tb.t.finished().size() == 1);
    CHECK(tb.t.finished()[0].end == FlowEnd::kIdleTimeout);
    CHECK(tb.t.finished()[0].key.protocol == kProtoUdp);
    // The TCP flow is not idle long enough (300 s).
    tb.t.finish();
    CHECK(tb.t.finished().size() == 2);
    CHECK(tb.t.finished()[1].end == FlowEnd::kActive);
  }

  // --threads (issue 18): one table and N tables put their sweep hands in different places, so the
  // end of a flow must not depend on where the hand was when the capture ended.
  TEST_CASE("at the end, a flow idle past its timeout ends as idle whether or not the hand reached it") {
    // The UDP flow's home slot is far from where the hand starts: two sweeps do not reach it.
    REQUIRE((key_for(kClient, 40000, "8.8.8.8", 53, kProtoUdp).hash() & 1023) > 8);
    Table tb;
    tb(pkt(kClient, 40000, "8.8.8.8", 53, kProtoUdp, 0, 0));   // idle from t = 0
    tb(c2s(kAck, 200 * kNsPerSecond, 50000, 1));              // a TCP packet at t = 200 s
    CHECK(tb.t.stats().idle_expired == 0);                      // not swept yet
    tb.t.finish();
    REQUIRE(tb.t.finished().size() == 2);
    const auto& udp = tb.t.finished()[0].key.protocol == kProtoUdp ? tb.t.finished()[0] : tb.t.finished()[1];
    const auto& tcp = tb.t.finished()[0].key.protocol == kProtoUdp ? tb.t.finished()[1] : tb.t.finished()[0];
    CHECK(udp.end == FlowEnd::kIdleTimeout);  // 200 s idle > 120 s
    CHECK(tcp.end == FlowEnd::kActive);       // just seen
    CHECK(tb.t.stats().idle_expired == 1);
  }

  TEST_CASE("advance() moves the clock for packets of flows the table does not track") {
    Table tb;
    tb(pkt(kClient, 40000, "8.8.8.8", 53, kProtoUdp, 0, 0));
    tb.t.advance(130 * kNsPerSecond);  // another worker's packet, later than the UDP timeout
    // The same key now starts a new flow (its old one expired on the advanced clock).
    const auto& again = tb(pkt(kClient, 40000, "8.8.8.8", 53, kProtoUdp, 0, 1));
    CHECK(again.id == 2);
    CHECK(tb.t.stats().idle_expired == 1);
  }

  TEST_CASE("closed TCP flows leave after the short timeout") {
    FlowTableConfig c;
    Table tb(c);
    tb(c2s(kSyn, 0));
    tb(s2c(kSynAck, 0));
    tb(c2s(kFinAck, 0));
    tb(s2c(kFinAck, 0));
    tb(pkt(kClient, 40001, "8.8.8.8", 53, kProtoUdp, 0, 0));
    for (int i = 0; i < 2048; ++i) tb(pkt(kClient, 40001, "8.8.8.8", 53, kProtoUdp, 0, 11 * kNsPerSecond + i));
    CHECK(tb.t.stats().idle_expired == 1);
    REQUIRE(tb.t.finished().size() == 1);
    CHECK(tb.t.finished()[0].end == FlowEnd::kTcpClosed);
    CHECK(tb.t.finished()[0].tcp == TcpState::kClosed);
  }

  // Regression: expiry must not depend on the sweep hand reaching the flow's slot.
  TEST_CASE("a packet after the idle timeout starts a new flow") {
    // The key's home slot is far from where the hand starts, so the two sweeps do not reach it.
    REQUIRE((key_for(kClient, 40000, "8.8.8.8", 53, kProtoUdp).hash() & 1023) > 8);
    Table tb;
    const std::uint64_t first = tb(pkt(kClient, 40000, "8.8.8.8", 53, kProtoUdp, 0, 0)).id;
    const std::uint64_t second = tb(pkt(kClient, 40000, "8.8.8.8", 53, kProtoUdp, 0, 600 * kNsPerSecond)).id;
    CHECK(second != first);
    CHECK(tb.t.stats().created == 2);
    CHECK(tb.t.stats().idle_expired == 1);
  }

  // Regression (issue 13): after a timestamp went back, every new flow was idle-expired at its
  // next packet, because "now" stayed at the latest timestamp.
  TEST_CASE("a timestamp that goes back expires nothing") {
    constexpr TimestampNs k2023 = 1'685'000'000 * kNsPerSecond;
    constexpr TimestampNs k2020 = 1'590'000'000 * kNsPerSecond;
    Table tb;
    const std::uint64_t before = tb(c2s(kSyn, k2023)).id;
    const std::uint64_t after = tb(c2s(kSyn, k2020, 50001)).id;
    CHECK(tb(s2c(kSynAck, k2020 + 1, 50001)).id == after);
    CHECK(tb(c2s(kAck, k2020 + 2, 50001)).id == after);
    CHECK(tb(s2c(kAck, k2023 + 1)).id == before);
    CHECK(tb.t.stats().created == 2);
    CHECK(tb.t.stats().idle_expired == 0);
  }

  TEST_CASE("with an audit clock, idle time after a jump back is measured on the audit clock") {
    constexpr TimestampNs k2023 = 1'685'000'000 * kNsPerSecond;
    constexpr TimestampNs k2020 = 1'590'000'000 * kNsPerSecond;
    Table tb;
    AuditClock clock(300 * kNsPerSecond);
    auto at = [&](const DecodedPacket& p) -> Flow& { return tb.t.update(p, 0, tb.sender, clock.tick(p.ts_ns, 0, 0)); };
    const std::uint64_t old_flow = at(pkt(kClient, 40000, "8.8.8.8", 53, kProtoUdp, 0, k2023)).id;
    const std::uint64_t udp = at(pkt(kClient, 40001, "8.8.8.8", 53, kProtoUdp, 0, k2020)).id;
    CHECK(at(pkt(kClient, 40001, "8.8.8.8", 53, kProtoUdp, 0, k2020 + 100 * kNsPerSecond)).id == udp);
    CHECK(at(pkt(kClient, 40001, "8.8.8.8", 53, kProtoUdp, 0, k2020 + 200 * kNsPerSecond)).id == udp);
    // On the earlier timeline, time passes: the flow from 2023 has been idle 201 s (> 120 s).
    CHECK(at(pkt(kClient, 40000, "8.8.8.8", 53, kProtoUdp, 0, k2020 + 301 * kNsPerSecond)).id != old_flow);
    CHECK(tb.t.stats().idle_expired == 1);
    CHECK(clock.stats().jumps_back == 1);
  }

  TEST_CASE("eviction picks the flow idle longest on the audit clock, not the earliest timestamp") {
    FlowTableConfig c;
    c.max_flows = 2;
    Table tb(c);
    const std::uint64_t a = tb.t.update(c2s(kSyn, 2'000, 50000), 0, tb.sender, 10).id;
    tb.t.update(c2s(kSyn, 1'000, 50001), 0, tb.sender, 20);  // stamped earlier, seen later
    tb.t.update(c2s(kSyn, 3'000, 50002), 0, tb.sender, 30);
    REQUIRE(tb.t.finished().size() == 1);
    CHECK(tb.t.finished()[0].id == a);
  }

  TEST_CASE("port reuse after close or reset starts a new flow") {
    Table tb;
    const std::uint64_t first = tb(c2s(kSyn, 0)).id;
    tb(s2c(kSynAck, 1));
    tb(c2s(kAck, 2));
    // A new SYN on an open connection is a retransmission, not a new flow.
    CHECK(tb(c2s(kSyn, 3)).id == first);
    tb(c2s(kFinAck, 4));
    tb(s2c(kFinAck, 5));
    Flow& second = tb(c2s(kSyn, 6));
    CHECK(second.id != first);
    CHECK(second.tcp == TcpState::kSynSent);
    CHECK(second.from[tb.sender].packets == 1);
    const std::uint64_t second_id = second.id;
    tb(s2c(kRst, 7));
    const std::uint64_t third = tb(c2s(kSyn, 8)).id;
    CHECK(third != second_id);
    CHECK(tb.t.stats().created == 3);
    REQUIRE(tb.t.finished().size() == 2);
    CHECK(tb.t.finished()[0].id == first);
    CHECK(tb.t.finished()[0].end == FlowEnd::kPortReused);
    CHECK(tb.t.finished()[0].from[0].packets + tb.t.finished()[0].from[1].packets == 6);
    CHECK(tb.t.finished()[1].end == FlowEnd::kPortReused);
    CHECK(tb.t.finished()[1].tcp == TcpState::kReset);
    // A SYN-ACK on a closed flow is not a reuse.
    Table t2;
    const std::uint64_t id = t2(c2s(kSyn)).id;
    t2(s2c(kRst));
    CHECK(t2(s2c(kSynAck)).id == id);
  }

  TEST_CASE("cap on flows evicts the stalest and counts it") {
    FlowTableConfig c;
    c.max_flows = 3;
    Table tb(c);
    for (std::uint16_t i = 0; i < 3; ++i) tb(c2s(kSyn, 10 + i, static_cast<std::uint16_t>(50000 + i)));
    tb(c2s(kAck, 20, 50000));  // 50000 is fresh again; 50001 is now the stalest
    tb(c2s(kSyn, 21, 50010));
    CHECK(tb.t.live() == 3);
    CHECK(tb.t.stats().evicted == 1);
    REQUIRE(tb.t.finished().size() == 1);
    CHECK(tb.t.finished()[0].end == FlowEnd::kEvicted);
    CHECK(tb.t.finished()[0].key.port[tb.t.finished()[0].client] == 50001);
    tb(c2s(kSyn, 22, 50011));
    CHECK(tb.t.stats().evicted == 2);
    CHECK(tb.t.stats().created == 5);
    CHECK(tb.t.stats().peak_live == 3);
    tb.t.finish();
    CHECK(tb.t.finished().size() == 5);
    int evicted = 0;
    for (const auto& f : tb.t.finished()) evicted += f.end == FlowEnd::kEvicted ? 1 : 0;
    CHECK(evicted == 2);
    // finish() orders flows by id.
    for (std::size_t i = 1; i < tb.t.finished().size(); ++i) {
      CHECK(tb.t.finished()[i - 1].id < tb.t.finished()[i].id);
    }
  }

  TEST_CASE("a cap of one flow still works") {
    FlowTableConfig c;
    c.max_flows = 0;  // taken as 1
    Table tb(c);
    tb(c2s(kSyn, 0, 50000));
    tb(c2s(kSyn, 1, 50001));
    CHECK(tb.t.live() == 1);
    CHECK(tb.t.stats().evicted == 1);
  }

  TEST_CASE("growth keeps every flow findable") {
    Table tb;
    constexpr std::uint16_t kFlows = 3000;
    for (std::uint16_t i = 0; i < kFlows; ++i) tb(c2s(kSyn, 1, static_cast<std::uint16_t>(20000 + i)));
    CHECK(tb.t.live() == kFlows);
    for (std::uint16_t i = 0; i < kFlows; ++i) tb(s2c(kSynAck, 2, static_cast<std::uint16_t>(20000 + i)));
    CHECK(tb.t.stats().created == kFlows);
    CHECK(tb.t.live() == kFlows);
    tb.t.finish();
    for (const auto& f : tb.t.finished()) {
      CHECK(f.tcp == TcpState::kSynAckSeen);
      CHECK(f.in().packets == 1);
    }
  }

  TEST_CASE("backward-shift deletion keeps colliding flows findable") {
    // Pick keys whose home slots (in the initial 1024-slot array) fall in one narrow band, so that
    // they form one long probe chain; then retire every other one and look the rest up.
    struct Candidate {
      std::uint16_t port;
      std::uint8_t proto;
    };
    std::vector<Candidate> chosen;
    for (std::uint32_t port = 1024; port < 65536 && chosen.size() < 80; ++port) {
      for (const std::uint8_t proto : {kProtoTcp, kProtoUdp}) {
        const FlowKey k = key_for(kClient, static_cast<std::uint16_t>(port), kServer, 443, proto);
        const std::uint64_t home = k.hash() & 1023;
        if (home >= 1016 || home <= 3) chosen.push_back({static_cast<std::uint16_t>(port), proto});  // wraps
      }
    }
    REQUIRE(chosen.size() >= 60);
    Table tb;
    for (const auto& c : chosen) {
      tb(pkt(kClient, c.port, kServer, 443, c.proto, c.proto == kProtoTcp ? kSyn : 0, 0));
    }
    const std::uint64_t n = chosen.size();
    CHECK(tb.t.stats().created == n);
    std::uint64_t tcp = 0;
    for (const auto& c : chosen) tcp += c.proto == kProtoTcp ? 1 : 0;

    SUBCASE("retired by the idle sweep") {
      // At 200 s the UDP flows (120 s) are stale and the TCP flows (300 s) are not. Touch every TCP
      // flow over and over while the hand walks the whole array; none may be lost.
      for (int round = 0; round < 40; ++round) {
        for (const auto& c : chosen) {
          if (c.proto != kProtoTcp) continue;
          tb(pkt(kServer, 443, kClient, c.port, kProtoTcp, kSynAck, 200 * kNsPerSecond));
          REQUIRE(tb.t.stats().created == n);
        }
      }
      CHECK(tb.t.stats().idle_expired == n - tcp);
      CHECK(tb.t.live() == tcp);
    }
    SUBCASE("retired by port reuse, in the middle of the chain") {
      std::uint64_t reused = 0;
      for (std::size_t i = 0; i < chosen.size(); i += 3) {
        if (chosen[i].proto != kProtoTcp) continue;
        tb(pkt(kServer, 443, kClient, chosen[i].port, kProtoTcp, kRst, 1));
        tb(pkt(kClient, chosen[i].port, kServer, 443, kProtoTcp, kSyn, 2));
        ++reused;
      }
      REQUIRE(reused > 0);
      CHECK(tb.t.stats().created == n + reused);
      // Every flow, reused or not, is found again.
      for (const auto& c : chosen) {
        tb(pkt(kServer, 443, kClient, c.port, c.proto, c.proto == kProtoTcp ? kAck : 0, 3));
        REQUIRE(tb.t.stats().created == n + reused);
      }
      CHECK(tb.t.live() == n);
    }
    SUBCASE("retired by eviction") {
      FlowTableConfig c;
      c.max_flows = chosen.size() / 2;
      Table small(c);
      for (std::size_t i = 0; i < chosen.size(); ++i) {
        small(pkt(kClient, chosen[i].port, kServer, 443, chosen[i].proto, 0, static_cast<TimestampNs>(i)));
      }
      const std::uint64_t created = small.t.stats().created;
      CHECK(small.t.live() == c.max_flows);
      // The newest flows are live; looking them up must not create anything.
      for (std::size_t i = chosen.size() - 5; i < chosen.size(); ++i) {
        small(pkt(kServer, 443, kClient, chosen[i].port, chosen[i].proto, 0, 1000));
      }
      CHECK(small.t.stats().created == created);
    }
  }

  TEST_CASE("the input index of the first packet is kept") {
    Table tb;
    tb(c2s(kSyn), 2);
    tb(s2c(kSynAck), 5);
    tb.t.finish();
    CHECK(tb.t.finished()[0].input == 2);
    CHECK(find_flow(tb.t.finished(), tb.t.finished()[0].id) != nullptr);
  }

  TEST_CASE("names") {
    CHECK(std::string(to_string(TcpState::kEstablished)) == "established");
    CHECK(std::string(to_string(TcpState::kMidstream)) == "midstream");
    CHECK(std::string(to_string(Orientation::kPort)) == "port-heuristic");
    CHECK(std::string(to_string(FlowEnd::kActive)) == "end-of-capture");
    CHECK(std::string(to_string(FlowEnd::kPortReused)) == "port-reused");
  }

  // Issue 18: the end of the audit hands the flows over without copying the live ones first, and
  // folds the lowest ids as drop_records() did on the one sorted vector: what is folded and in what
  // order, and what is kept, must not change.
  TEST_CASE("take_finished folds the lowest ids of retired and live flows together, in id order") {
    Table tb;
    std::vector<std::uint64_t> retired_early;
    // Flows 1..6 alternate: odd ids end with a RST (retired during the capture), even ids stay live.
    for (std::uint16_t i = 0; i < 6; ++i) {
      Flow& f = tb(c2s(kSyn, i, static_cast<std::uint16_t>(50000 + i)));
      if (i % 2 == 0) {
        tb(s2c(kRst, i, static_cast<std::uint16_t>(50000 + i)));
      }
      static_cast<void>(f);
    }
    // A short while later the closed flows leave the table (the RSTs' short timeout).
    for (int i = 0; i < 4096; ++i) tb(c2s(kAck, 20 * kNsPerSecond + i, 60000, 1));
    const std::size_t live_before = tb.t.live();
    const std::size_t retired_before = tb.t.finished().size();
    REQUIRE(retired_before >= 3);
    tb.t.retire_all();
    CHECK(tb.t.live() == 0);
    std::vector<std::uint64_t> folded;
    const std::size_t keep = 3;
    const auto kept = tb.t.take_finished([&](std::size_t left) { return left > keep; },
                                         [&](Flow& f) { folded.push_back(f.id); });
    CHECK(folded.size() + kept.size() == live_before + retired_before);
    REQUIRE(kept.size() == keep);
    // Folded: the lowest ids, ascending; kept: the rest, ascending.
    for (std::size_t i = 1; i < folded.size(); ++i) CHECK(folded[i - 1] < folded[i]);
    for (std::size_t i = 1; i < kept.size(); ++i) CHECK(kept[i - 1].id < kept[i].id);
    REQUIRE_FALSE(folded.empty());
    CHECK(folded.back() < kept.front().id);
    for (std::size_t i = 0; i < folded.size(); ++i) CHECK(folded[i] == i + 1);
    // The table is empty afterwards and lookup() still answers.
    CHECK(tb.t.finished().empty());
    CHECK(tb.t.lookup(key_for(kClient, 50001, kServer, 443, kProtoTcp)) == nullptr);
  }
}
