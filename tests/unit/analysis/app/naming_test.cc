#include "analysis/app/naming.h"

#include <doctest/doctest.h>

#include "analysis/packet/transport.h"

using namespace flowaudit::analysis;
using flowaudit::core::IpAddress;

namespace {

flowaudit::core::StringPool pool;

flow::Flow make_flow(const char* client, const char* server, std::uint16_t port, std::uint8_t proto,
                     std::int64_t first_ns) {
  flow::Flow f;
  f.key.addr[0] = *IpAddress::parse(client);
  f.key.addr[1] = *IpAddress::parse(server);
  f.key.port[0] = 50000;
  f.key.port[1] = port;
  f.key.protocol = proto;
  f.client = 0;
  f.from[0].packets = 1;
  f.from[0].first_ns = first_ns;
  f.last_seen = first_ns;
  return f;
}

// A DNS response "name A address" as the name cache sees it.
dns::Message answer(const char* name, const char* address) {
  dns::Message m;
  m.response = true;
  m.question_count = 1;
  auto set = [](auto& n, std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) n.text[i] = text[i];
    n.length = static_cast<std::uint16_t>(text.size());
  };
  set(m.qname, name);
  m.qtype = dns::rr::kA;
  dns::Answer a;
  set(a.name, name);
  a.type = dns::rr::kA;
  a.klass = 1;  // IN
  a.address = *IpAddress::parse(address);
  m.answers.push_back(a);
  return m;
}

}  // namespace

TEST_SUITE("analysis.app.naming") {

TEST_CASE("SNI wins over Host, Host over DNS") {
  dns::NameCache cache;
  cache.add_response(answer("from-dns.example", "3.173.21.63"), 100);
  const auto f = make_flow("192.168.1.23", "3.173.21.63", 443, packet::kProtoTcp, 200);

  app::FlowDetails d;
  d.app = app::AppProtocol::kTls;
  d.tls = std::make_unique<app::TlsDetails>();
  d.tls->has_sni = true;
  d.tls->sni = "chat.deepseek.com";
  d.http = std::make_unique<app::HttpDetails>();
  d.http->host = "from-host.example:8080";
  auto n = app::name_flow(f, &d, cache, pool);
  CHECK(n.hostname == "chat.deepseek.com");
  CHECK(n.source == "tls-sni");

  d.tls.reset();
  n = app::name_flow(f, &d, cache, pool);
  CHECK(n.hostname == "from-host.example");  // the port is not part of the name
  CHECK(n.source == "http-host");

  d.http.reset();
  n = app::name_flow(f, &d, cache, pool);
  CHECK(n.hostname == "from-dns.example");
  CHECK(n.source == "dns");

  n = app::name_flow(f, nullptr, cache, pool);
  CHECK(n.source == "dns");
}

TEST_CASE("QUIC SNI is its own source") {
  dns::NameCache cache;
  const auto f = make_flow("192.168.1.23", "3.173.21.63", 443, packet::kProtoUdp, 200);
  app::FlowDetails d;
  d.app = app::AppProtocol::kQuic;
  d.tls = std::make_unique<app::TlsDetails>();
  d.tls->has_sni = true;
  d.tls->sni = "chat.deepseek.com";
  CHECK(app::name_flow(f, &d, cache, pool).source == "quic-sni");
}

TEST_CASE("a DNS answer names only the flows that start after it") {
  dns::NameCache cache;
  cache.add_response(answer("later.example", "3.173.21.63"), 500);
  const auto early = make_flow("192.168.1.23", "3.173.21.63", 443, packet::kProtoTcp, 200);
  const auto late = make_flow("192.168.1.23", "3.173.21.63", 443, packet::kProtoTcp, 600);
  CHECK(app::name_flow(early, nullptr, cache, pool).hostname.empty());
  CHECK(app::name_flow(late, nullptr, cache, pool).hostname == "later.example");
}

TEST_CASE("blind spots: ECH, DoT, DoH by name and by resolver address") {
  auto tls_details = [](const char* sni, bool ech) {
    app::FlowDetails d;
    d.app = app::AppProtocol::kTls;
    d.tls = std::make_unique<app::TlsDetails>();
    d.tls->has_sni = sni[0] != '\0';
    d.tls->sni = sni;
    d.tls->ech = ech;
    return d;
  };
  auto d = tls_details("chat.deepseek.com", true);
  app::classify_blind_spot(make_flow("192.168.1.23", "3.173.21.63", 443, packet::kProtoTcp, 0), d);
  CHECK(d.blind_spot == app::BlindSpot::kEch);

  d = tls_details("dns.google", false);
  app::classify_blind_spot(make_flow("192.168.1.23", "8.8.8.8", 853, packet::kProtoTcp, 0), d);
  CHECK(d.blind_spot == app::BlindSpot::kDnsOverTls);

  d = tls_details("cloudflare-dns.com", false);
  app::classify_blind_spot(make_flow("192.168.1.23", "104.16.248.249", 443, packet::kProtoTcp, 0), d);
  CHECK(d.blind_spot == app::BlindSpot::kDnsOverHttps);

  d = tls_details("", false);
  app::classify_blind_spot(make_flow("192.168.1.23", "1.1.1.1", 443, packet::kProtoTcp, 0), d);
  CHECK(d.blind_spot == app::BlindSpot::kDnsOverHttps);

  d = tls_details("chat.deepseek.com", false);
  app::classify_blind_spot(make_flow("192.168.1.23", "3.173.21.63", 443, packet::kProtoTcp, 0), d);
  CHECK(d.blind_spot == app::BlindSpot::kNone);
}

}  // TEST_SUITE
