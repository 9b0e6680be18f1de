// Proxied and STARTTLS flows in the committed captures made with real software (scripts/gen/proxies):
// the name the client asked the proxy for, the SNI that wins over it, `via`, the destination of
// the requested host (its address unknown unless asked by address) and the proxy's own
// destination; STARTTLS flows keep their protocol and carry the TLS handshake after the upgrade.
#include <limits>
#include <map>

#include "analysis/audit.h"
#include "capture/pcap_file_source.h"
#include "unit/session/audited.h"

#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

using boost::json::object;

std::string s(const object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

const object* find_dest(const object& r, const std::string& ip_or_host, std::int64_t port) {
  for (const auto& d : r.at("destinations").as_array()) {
    const auto& o = d.as_object();
    const bool match = s(o, "ip") == ip_or_host || (o.at("ip").is_null() && s(o, "requested_host") == ip_or_host);
    if (match && get_int(o.at("port")) == port) return &o;
  }
  return nullptr;
}

}  // namespace

TEST_SUITE("e2e") {

TEST_CASE("HTTP CONNECT through tinyproxy: TLS in the tunnel, and plain HTTP in absolute form") {
  const auto r = audit_json({source_path("tests/data/proxy-connect.pcap")});
  const auto& flows = r.at("flows").as_array();
  REQUIRE(flows.size() == 2);
  const object& tunnel = flows[0].as_object();
  CHECK(s(tunnel, "app_protocol") == "tls");
  CHECK(s(tunnel, "hostname") == "chat.deepseek.com");
  CHECK(s(tunnel, "hostname_source") == "tls-sni");  // the SNI wins over the CONNECT target
  CHECK(s(tunnel.at("tls").as_object(), "ja3") == "0149f47eabf9a20d0893e2a44e5a6323");
  const object& via = tunnel.at("via").as_object();
  CHECK(s(via, "type") == "http-connect");
  CHECK(s(via, "proxy_ip") == "185.46.212.88");
  CHECK(get_int(via.at("proxy_port")) == 8888);
  CHECK(s(via, "host") == "chat.deepseek.com");
  CHECK(get_int(via.at("port")) == 443);
  CHECK(via.at("granted").as_bool());
  const object& plain = flows[1].as_object();
  CHECK(s(plain, "hostname") == "gator.volces.com");
  CHECK(s(plain.at("via").as_object(), "type") == "http-proxy");
  CHECK(plain.at("encrypted").as_bool() == false);

  const object* target = find_dest(r, "chat.deepseek.com", 443);
  REQUIRE(target != nullptr);
  CHECK(target->at("ip").is_null());  // only the proxy's address was on the wire
  CHECK(s(target->at("via").as_object(), "proxy_ip") == "185.46.212.88");
  CHECK(s(*target, "hostname") == "chat.deepseek.com");
  const object* http_target = find_dest(r, "gator.volces.com", 80);
  REQUIRE(http_target != nullptr);
  const object* proxy = find_dest(r, "185.46.212.88", 8888);
  REQUIRE(proxy != nullptr);
  CHECK(get_int(proxy->at("proxied_flows")) == 2);
  std::int64_t flows_out = 0;
  for (const auto& f : flows) flows_out += get_int(f.as_object().at("bytes_out"));
  CHECK(get_int(proxy->at("proxied_bytes_out")) == flows_out);  // all its bytes were for the two targets
  CHECK(get_int(proxy->at("proxied_bytes_out")) == get_int(proxy->at("bytes_out")));
  CHECK(s(*proxy, "hostname").empty());  // not named after the sites behind it
  CHECK(r.at("destinations").as_array().size() == 3);
}

TEST_CASE("live new destinations through a proxy: each requested host told once, with via; the proxy's address is not the server's") {
  // As `flowaudit capture` sees the flows: both go to the same proxy endpoint, so a key by the
  // wire's server address would tell only the first.
  analysis::Auditor a(analysis::AuditOptions{});
  a.track_new_destinations(true);
  const auto opened = capture::open_capture_file(source_path("tests/data/proxy-connect.pcap"));
  REQUIRE(opened.source != nullptr);
  a.run(*opened.source, 0, {});
  const auto told = a.take_new_destinations(std::numeric_limits<core::TimestampNs>::max() / 2, 0);
  REQUIRE(told.size() == 2);
  std::map<std::string, const analysis::NewDestination*> by_host;
  for (const auto& d : told) by_host[d.hostname] = &d;
  REQUIRE(by_host.count("chat.deepseek.com") == 1);
  REQUIRE(by_host.count("gator.volces.com") == 1);
  const auto& tls = *by_host["chat.deepseek.com"];
  CHECK(tls.via_type == "http-connect");
  CHECK(tls.via_ip.to_string() == "185.46.212.88");
  CHECK(tls.via_port == 8888);
  CHECK(tls.port == 443);
  CHECK_FALSE(tls.address_known());
  CHECK(tls.requested_host == "chat.deepseek.com");
  CHECK(by_host["gator.volces.com"]->via_type == "http-proxy");
  CHECK(by_host["gator.volces.com"]->port == 80);
  CHECK(a.take_new_destinations(std::numeric_limits<core::TimestampNs>::max() / 2, 0).empty());  // told once
}

TEST_CASE("a proxied flow's findings belong to the destination it asked for, not to the proxy's") {
  // flow_destinations is what flow rules use to attach a finding to its destination: it keys flows
  // as the destinations were aggregated (requested host, port and proxy).
  const auto r = test::audited({source_path("tests/data/proxy-connect.pcap")});
  const auto of = analysis::flow_destinations(r);
  REQUIRE(of.size() == r.flows.size());
  REQUIRE(r.flows.size() == 2);
  for (std::size_t i = 0; i < r.flows.size(); ++i) {
    REQUIRE(of[i] != analysis::kNoDestination);
    const auto& d = r.destinations[of[i]];
    CHECK_FALSE(d.via_type.empty());  // the target's destination...
    CHECK(d.proxied_flows == 0);      // ...not the proxy's
  }
  CHECK(r.destinations[of[0]].requested_host == "chat.deepseek.com");
  CHECK(r.destinations[of[1]].requested_host == "gator.volces.com");
}

TEST_CASE("SOCKS5 by name and by address, SOCKS4, SOCKS4A") {
  const auto r = audit_json({source_path("tests/data/proxy-socks.pcap")});
  const auto& flows = r.at("flows").as_array();
  REQUIRE(flows.size() == 3);
  const char* types[] = {"socks5", "socks5", "socks4"};
  const char* hosts[] = {"chat.deepseek.com", "3.173.21.63", "3.173.21.63"};
  for (std::size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    const object& f = flows[i].as_object();
    CHECK(s(f, "hostname") == "chat.deepseek.com");
    CHECK(s(f, "hostname_source") == "tls-sni");
    const object& via = f.at("via").as_object();
    CHECK(s(via, "type") == types[i]);
    CHECK(s(via, "host") == hosts[i]);
    CHECK(get_int(via.at("port")) == 443);
    CHECK(s(via, "proxy_ip") == "95.217.163.246");
  }
  // By address: that address is the destination (and its geo); by name: no address.
  const object* by_addr = find_dest(r, "3.173.21.63", 443);
  REQUIRE(by_addr != nullptr);
  CHECK(get_int(by_addr->at("flows")) == 2);
  const object* by_name = find_dest(r, "chat.deepseek.com", 443);
  REQUIRE(by_name != nullptr);
  CHECK(by_name->at("ip").is_null());
  CHECK(get_int(find_dest(r, "95.217.163.246", 1080)->at("proxied_flows")) == 3);

  const auto r4a = audit_json({source_path("tests/data/proxy-socks4a.pcap")});
  const object& f = r4a.at("flows").as_array()[0].as_object();
  CHECK(s(f.at("via").as_object(), "type") == "socks4a");
  CHECK(s(f.at("via").as_object(), "host") == "chat.deepseek.com");
  CHECK(s(f.at("tls").as_object(), "sni") == "chat.deepseek.com");
}

TEST_CASE("STARTTLS: SMTP (exim4), IMAP and POP3 (dovecot), FTP AUTH (vsftpd)") {
  const auto r = audit_json({source_path("tests/data/starttls.pcap")});
  std::map<std::int64_t, const object*> by_port;
  for (const auto& f : r.at("flows").as_array()) {
    const auto& o = f.as_object();
    by_port[get_int(o.at("server").as_object().at("port"))] = &o;
  }
  const std::pair<std::int64_t, std::pair<const char*, const char*>> expect[] = {
      {587, {"smtp", "smtp.gmail.com"}}, {143, {"imap", "imap.gmail.com"}},
      {110, {"pop3", "pop.gmail.com"}},  {21, {"ftp", "ftp.acc.umu.se"}}};
  for (const auto& e : expect) {  // not a structured binding: clang 14 cannot capture one
    const std::int64_t port = e.first;
    const auto& want = e.second;
    CAPTURE(port);
    REQUIRE(by_port.count(port) == 1);
    const object& f = *by_port[port];
    CHECK(s(f, "app_protocol") == want.first);
    CHECK(s(f, "hostname") == want.second);
    CHECK(s(f, "hostname_source") == "tls-sni");
    CHECK(f.at("encrypted").as_bool());
    const object& tls = f.at("tls").as_object();
    CHECK(s(tls, "version") == "TLS 1.3");
    CHECK(!s(tls, "ja3").empty());
    CHECK(f.if_contains("via") == nullptr);
  }
  CHECK(s(by_port[587]->at("tls").as_object(), "ja3") == "8f2dfd01a68a182e6d58f285ff59c02b");
}

TEST_CASE("STARTTLS, binary: LDAP (slapd) and PostgreSQL (SSLRequest)") {
  const auto r = audit_json({source_path("tests/data/starttls-binary.pcap")});
  const auto& flows = r.at("flows").as_array();
  REQUIRE(flows.size() == 2);
  const char* apps[] = {"ldap", "postgres"};
  const char* names[] = {"ldap.example.org", "db.example.org"};
  for (std::size_t i = 0; i < 2; ++i) {
    CAPTURE(i);
    const object& f = flows[i].as_object();
    CHECK(s(f, "app_protocol") == apps[i]);
    CHECK(s(f, "hostname") == names[i]);
    CHECK(s(f, "hostname_source") == "tls-sni");
    CHECK(f.at("encrypted").as_bool());
    CHECK(!s(f.at("tls").as_object(), "ja4").empty());
  }
}

}  // TEST_SUITE

}  // namespace flowaudit::e2e
