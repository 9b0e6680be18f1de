// Proxy handshakes and STARTTLS upgrades, message by message and through the handlers: what the
// client asked the proxy for, and that the TLS after the upgrade reaches the TLS handler.
#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "analysis/app/proxy/proxy_handler.h"
#include "analysis/app/proxy/proxy_messages.h"
#include "analysis/app/starttls/starttls_handler.h"

using namespace flowaudit::analysis;
using app::ParseStatus;

namespace {

std::vector<std::uint8_t> b(std::string_view s) { return {s.begin(), s.end()}; }
std::vector<std::uint8_t> hex(std::initializer_list<int> v) {
  std::vector<std::uint8_t> out;
  for (const int x : v) out.push_back(static_cast<std::uint8_t>(x));
  return out;
}

// A minimal TLS 1.2 ClientHello record with SNI `name` (enough for the TLS handler to record it).
std::vector<std::uint8_t> client_hello(std::string_view name) {
  const std::size_t n = name.size();
  std::string body("\x03\x03", 2);
  body.append(32, '\x11');                                    // random
  body.append("\x00\x00\x02\x13\x01\x01\x00", 7);          // session id, one suite, null compression
  body.push_back('\0');
  body.push_back(static_cast<char>(n + 9));                   // extensions length
  body.append("\x00\x00\x00", 3);                            // server_name
  body.push_back(static_cast<char>(n + 5));
  body.push_back('\0');
  body.push_back(static_cast<char>(n + 3));
  body.append("\x00\x00", 2);
  body.push_back(static_cast<char>(n));
  body.append(name);
  std::string rec("\x16\x03\x01\x00", 4);
  rec.push_back(static_cast<char>(body.size() + 4));
  rec.append("\x01\x00\x00", 3);
  rec.push_back(static_cast<char>(body.size()));
  rec.append(body);
  return {rec.begin(), rec.end()};
}

struct Harness {
  app::AppContext ctx{app::AppConfig{}};
  flow::Flow f;
  explicit Harness(std::uint16_t server_port) {
    f.id = 7;
    f.client = 0;
    f.key.protocol = 6;
    f.key.port[0] = 40000;
    f.key.port[1] = server_port;
    f.app_state = app::kStateInspecting;
  }
  template <typename H>
  void send(H& h, bool from_client, const std::vector<std::uint8_t>& bytes) {
    if (!app::is_done(f)) h.on_stream(ctx, f, from_client ? f.client : f.server(), bytes);
  }
  const app::FlowDetails& d() { return ctx.details_for(f); }
};

}  // namespace

TEST_SUITE("proxy") {

TEST_CASE("CONNECT request and response heads") {
  proxy::Target t;
  std::size_t size = 0;
  const auto req = b("CONNECT chat.deepseek.com:443 HTTP/1.1\r\nHost: chat.deepseek.com:443\r\n\r\n\x16");
  REQUIRE(proxy::parse_connect(req, t, size) == ParseStatus::kOk);
  CHECK(t.host == "chat.deepseek.com");
  CHECK(t.port == 443);
  CHECK(!t.by_address);
  CHECK(size == req.size() - 1);
  for (std::size_t n = 0; n + 1 < size; ++n) {
    CHECK(proxy::parse_connect(std::span(req.data(), n), t, size) == ParseStatus::kNeedMore);
  }
  CHECK(proxy::parse_connect(b("CONNECT [2001:db8::1]:8443 HTTP/1.1\r\n\r\n"), t, size) == ParseStatus::kOk);
  CHECK(t.host == "2001:db8::1");
  CHECK(t.port == 8443);
  CHECK(t.by_address);
  CHECK(proxy::parse_connect(b("CONNECT host HTTP/1.1\r\n\r\n"), t, size) == ParseStatus::kMalformed);  // no port
  CHECK(proxy::parse_connect(b("CONNECT h:0 HTTP/1.1\r\n\r\n"), t, size) == ParseStatus::kMalformed);
  CHECK(proxy::parse_connect(b("CONNECT h:70000 HTTP/1.1\r\n\r\n"), t, size) == ParseStatus::kMalformed);
  CHECK(proxy::parse_connect(b("CONNECT " + std::string(300, 'a') + ":1 HTTP/1.1\r\n\r\n"), t, size) ==
        ParseStatus::kMalformed);
  int status = 0;
  CHECK(proxy::parse_response_head(b("HTTP/1.1 200 Connection established\r\n\r\n"), status, size) == ParseStatus::kOk);
  CHECK(status == 200);
  CHECK(proxy::parse_response_head(b("HTTP/1.0 407 Proxy Auth"), status, size) == ParseStatus::kNeedMore);
  CHECK(proxy::absolute_form_target("http://gator.volces.com/service/2/settings", t));
  CHECK(t.host == "gator.volces.com");
  CHECK(t.port == 80);
  CHECK(proxy::absolute_form_target("HTTP://user@Example.COM:8080?q", t));
  CHECK(t.host == "example.com");
  CHECK(t.port == 8080);
  CHECK(!proxy::absolute_form_target("/path", t));
}

TEST_CASE("SOCKS messages, every address form") {
  proxy::Target t;
  std::size_t size = 0;
  bool socks4a = false;
  CHECK(proxy::socks5_greeting(hex({5, 2, 0, 2}), size) == ParseStatus::kOk);
  CHECK(size == 4);
  CHECK(proxy::socks5_greeting(hex({5, 2, 0}), size) == ParseStatus::kNeedMore);
  CHECK(proxy::socks5_userpass(hex({1, 1, 'u', 2, 'p', 'w'}), size) == ParseStatus::kOk);
  CHECK(size == 6);
  CHECK(proxy::socks5_request(hex({5, 1, 0, 3, 3, 'a', '.', 'b', 0x01, 0xbb}), t, size) == ParseStatus::kOk);
  CHECK(t.host == "a.b");
  CHECK(t.port == 443);
  CHECK(proxy::socks5_request(hex({5, 1, 0, 1, 3, 173, 21, 63, 0x01, 0xbb}), t, size) == ParseStatus::kOk);
  CHECK(t.host == "3.173.21.63");
  CHECK(t.by_address);
  CHECK(proxy::socks5_request(hex({5, 1, 0, 4, 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80}), t,
                              size) == ParseStatus::kOk);
  CHECK(t.host == "2001:db8::1");
  CHECK(proxy::socks5_request(hex({5, 1, 0, 3, 0}), t, size) == ParseStatus::kMalformed);  // empty name
  CHECK(proxy::socks5_request(hex({5, 1, 0, 9, 0}), t, size) == ParseStatus::kMalformed);  // no such form
  std::uint8_t rep = 0xff;
  CHECK(proxy::socks5_reply(hex({5, 0, 0, 1, 127, 0, 0, 1, 0x9c, 0x40}), rep, size) == ParseStatus::kOk);
  CHECK(rep == 0);
  CHECK(proxy::socks4_request(hex({4, 1, 0x01, 0xbb, 3, 173, 21, 63, 'u', 0}), t, socks4a, size) == ParseStatus::kOk);
  CHECK(!socks4a);
  CHECK(t.host == "3.173.21.63");
  CHECK(proxy::socks4_request(hex({4, 1, 0x01, 0xbb, 0, 0, 0, 1, 0, 'a', '.', 'b', 0}), t, socks4a, size) ==
        ParseStatus::kOk);
  CHECK(socks4a);
  CHECK(t.host == "a.b");
  CHECK(size == 13);
  CHECK(proxy::socks4_request(hex({4, 1, 0x01, 0xbb, 0, 0, 0, 1, 0, 'a'}), t, socks4a, size) == ParseStatus::kNeedMore);
}

TEST_CASE("claims decide within the probe bytes and only on what they take") {
  const auto probe = [](const std::vector<std::uint8_t>& p, bool from_client = true) {
    return app::ProbeInput{p, 40000, 1080, from_client};
  };
  CHECK(proxy::ProxyHandler::claims_connect(probe(b("CONNECT "))) == app::Claim::kYes);
  CHECK(proxy::ProxyHandler::claims_connect(probe(b("CONN"))) == app::Claim::kNeedMore);
  CHECK(proxy::ProxyHandler::claims_connect(probe(b("GET / HTTP"))) == app::Claim::kNo);
  CHECK(proxy::ProxyHandler::claims_socks(probe(hex({5, 1, 0}))) == app::Claim::kYes);
  CHECK(proxy::ProxyHandler::claims_socks(probe(hex({5, 2, 0}))) == app::Claim::kNeedMore);
  CHECK(proxy::ProxyHandler::claims_socks(probe(hex({5, 1, 0xff}))) == app::Claim::kNo);
  CHECK(proxy::ProxyHandler::claims_socks(probe(hex({4, 1, 0, 80}))) == app::Claim::kYes);
  CHECK(proxy::ProxyHandler::claims_socks(probe(hex({4, 1, 0, 0}))) == app::Claim::kNo);
  CHECK(proxy::ProxyHandler::claims_socks(probe(hex({5, 1, 0}), false)) == app::Claim::kNo);
  using starttls::StartTlsHandler;
  CHECK(StartTlsHandler::claims_banner(probe(b("220 smtp.gmail.com ESMTP"), false)) == app::Claim::kYes);
  CHECK(StartTlsHandler::claims_banner(probe(b("22"), false)) == app::Claim::kNeedMore);
  CHECK(StartTlsHandler::claims_banner(probe(b("* OK [CAPABILITY"), false)) == app::Claim::kYes);
  CHECK(StartTlsHandler::claims_banner(probe(b("+OK Dovecot"), false)) == app::Claim::kYes);
  CHECK(StartTlsHandler::claims_banner(probe(b("220 x"), true)) == app::Claim::kNo);
  CHECK(StartTlsHandler::claims_client(probe(hex({0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f}))) == app::Claim::kYes);
  CHECK(StartTlsHandler::claims_client(probe(hex({0, 0, 0, 8, 4, 0xd2, 0x16, 0x30}))) == app::Claim::kNo);
  CHECK(StartTlsHandler::claims_client(probe(b("<stream:stream to"))) == app::Claim::kYes);
  CHECK(StartTlsHandler::claims_client(probe(b("<?xml version"))) == app::Claim::kNo);  // not on 5222
  const auto ldap = hex({0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16, '1', '.', '3', '.', '6', '.', '1'});
  CHECK(StartTlsHandler::claims_client(probe(ldap)) == app::Claim::kYes);
}

TEST_CASE("CONNECT then TLS: the target is recorded, the SNI reaches the TLS handler") {
  Harness h(8888);
  proxy::ProxyHandler p;
  h.send(p, true, b("CONNECT chat.deepseek.com:443 HTTP/1.1\r\nHost: chat.deepseek.com:443\r\n\r\n"));
  REQUIRE(h.d().proxy);
  CHECK(h.d().proxy->host == "chat.deepseek.com");
  CHECK(!h.d().proxy->granted);
  h.send(p, false, b("HTTP/1.1 200 Connection established\r\n\r\n"));
  CHECK(h.d().proxy->granted);
  h.send(p, true, client_hello("chat.deepseek.com"));
  REQUIRE(h.d().tls);
  CHECK(h.d().tls->sni == "chat.deepseek.com");
  CHECK(h.d().app == app::AppProtocol::kTls);
}

TEST_CASE("CONNECT refused with 407, then asked again on the same connection") {
  Harness h(8888);
  proxy::ProxyHandler p;
  h.send(p, true, b("CONNECT a.example:443 HTTP/1.1\r\n\r\n"));
  h.send(p, false, b("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"));
  CHECK(!h.d().proxy->granted);
  h.send(p, true, b("CONNECT a.example:443 HTTP/1.1\r\nProxy-Authorization: Basic eDp5\r\n\r\n"));
  h.send(p, false, b("HTTP/1.1 200 OK\r\n\r\n"));
  CHECK(h.d().proxy->granted);
}

TEST_CASE("SOCKS5 with username/password, request by name, then TLS") {
  Harness h(1080);
  proxy::ProxyHandler p;
  h.send(p, true, hex({5, 1, 2}));
  h.send(p, false, hex({5, 2}));
  h.send(p, true, hex({1, 1, 'u', 1, 'p'}));
  h.send(p, false, hex({1, 0}));
  h.send(p, true, hex({5, 1, 0, 3, 17, 'c', 'h', 'a', 't', '.', 'd', 'e', 'e', 'p', 's', 'e', 'e', 'k', '.', 'c', 'o', 'm', 1, 0xbb}));
  REQUIRE(h.d().proxy);
  CHECK(h.d().proxy->type == "socks5");
  CHECK(h.d().proxy->host == "chat.deepseek.com");
  CHECK(h.d().app == app::AppProtocol::kSocks);
  h.send(p, false, hex({5, 0, 0, 1, 0, 0, 0, 0, 0, 0}));
  h.send(p, true, client_hello("chat.deepseek.com"));
  REQUIRE(h.d().tls);
  CHECK(h.d().tls->sni == "chat.deepseek.com");
}

TEST_CASE("SOCKS5 refused: the target stays, not granted, nothing more is read") {
  Harness h(1080);
  proxy::ProxyHandler p;
  h.send(p, true, hex({5, 1, 0, 5, 1, 0, 1, 10, 0, 0, 1, 0, 22}));  // greeting and request in one segment
  h.send(p, false, hex({5, 0, 5, 5, 0, 1, 0, 0, 0, 0, 0, 0}));      // choice, then "connection refused"
  REQUIRE(h.d().proxy);
  CHECK(h.d().proxy->host == "10.0.0.1");
  CHECK(h.d().proxy->by_address);
  CHECK(!h.d().proxy->granted);
  CHECK(app::is_done(h.f));
}

TEST_CASE("a tunnel whose client bytes are missing still reads the server's TLS handshake") {
  // FoxIO's socks4-https.pcap: the capture lacks the client's ClientHello, the ServerHello and
  // the certificate are there.
  Harness h(9901);
  proxy::ProxyHandler p;
  h.send(p, true, hex({4, 1, 1, 0xbb, 0, 0, 0, 1, 'u', 0, 'a', '.', 'b', 0}));
  auto reply = hex({0, 90, 1, 0xbb, 1, 2, 3, 4});
  // A TLS 1.2 ServerHello: version, random, empty session id, suite 0x002f, null compression.
  auto hello = hex({0x16, 0x03, 0x03, 0x00, 0x2a, 0x02, 0x00, 0x00, 0x26, 0x03, 0x03});
  hello.insert(hello.end(), 32, 0x22);
  for (const int x : {0x00, 0x00, 0x2f, 0x00}) hello.push_back(static_cast<std::uint8_t>(x));
  reply.insert(reply.end(), hello.begin(), hello.end());
  h.send(p, false, reply);
  REQUIRE(h.d().tls);
  CHECK(h.d().tls->server_hello);
  CHECK(h.d().tls->cipher == 0x002f);
  CHECK(h.d().app == app::AppProtocol::kTls);
  CHECK(h.d().proxy->host == "a.b");
}

TEST_CASE("a handshake longer than the limit is an inspection-limit blind spot") {
  Harness h(8888);
  proxy::ProxyHandler p;
  const std::string big = "CONNECT a.example:443 HTTP/1.1\r\nX: " + std::string(proxy::kMaxHandshakeBytes, 'x');
  h.send(p, true, b(big));
  CHECK(h.d().blind_spot == app::BlindSpot::kInspectionLimit);
  CHECK(h.d().limit == app::InspectionLimit::kProxyHandshake);
}

TEST_CASE("STARTTLS in each text protocol: the TLS after the go-ahead is parsed") {
  struct Case {
    std::uint16_t port;
    const char* banner;
    const char* command;
    const char* answer;
    app::AppProtocol app;
  };
  const Case cases[] = {
      {587, "220 smtp ESMTP\r\n", "EHLO x\r\nSTARTTLS\r\n", "250-smtp\r\n250 STARTTLS\r\n220 2.0.0 Ready\r\n", app::AppProtocol::kSmtp},
      {143, "* OK IMAP4rev1\r\n", "A002 STARTTLS\r\n", "* BYE no\r\nA001 OK x\r\nA002 OK Begin TLS\r\n", app::AppProtocol::kImap},
      {110, "+OK ready\r\n", "STLS\r\n", "+OK Begin TLS\r\n", app::AppProtocol::kPop3},
      {21, "220 (vsFTPd 3.0.3)\r\n", "AUTH TLS\r\n", "234 Proceed\r\n", app::AppProtocol::kFtp},
  };
  for (const Case& c : cases) {
    CAPTURE(c.banner);
    Harness h(c.port);
    starttls::StartTlsHandler s;
    h.send(s, false, b(c.banner));
    h.send(s, true, b(c.command));
    CHECK(!h.d().tls);
    h.send(s, false, b(c.answer));
    h.send(s, true, client_hello("mail.example"));
    CHECK(h.d().app == c.app);
    REQUIRE(h.d().tls);
    CHECK(h.d().tls->sni == "mail.example");
    CHECK(app::encrypted(&h.d()) == 1);
  }
}

TEST_CASE("STARTTLS refused, or never asked: plaintext, no TLS") {
  Harness h(25);
  starttls::StartTlsHandler s;
  h.send(s, false, b("220 mx\r\n"));
  h.send(s, true, b("STARTTLS\r\n"));
  h.send(s, false, b("454 TLS not available\r\n"));
  h.send(s, true, b("MAIL FROM:<a@b>\r\n\x16\x03\x01"));
  CHECK(!h.d().tls);
  CHECK(h.d().app == app::AppProtocol::kSmtp);
  CHECK(app::encrypted(&h.d()) == 0);
}

TEST_CASE("XMPP, LDAP and PostgreSQL upgrades") {
  {
    Harness h(5222);
    starttls::StartTlsHandler s;
    h.send(s, true, b("<?xml version='1.0'?><stream:stream to='example.com' xmlns='jabber:client'>"));
    h.send(s, false, b("<stream:stream from='example.com'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>"));
    h.send(s, true, b("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"));
    h.send(s, false, b("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"));
    h.send(s, true, client_hello("example.com"));
    CHECK(h.d().app == app::AppProtocol::kXmpp);
    REQUIRE(h.d().tls);
    CHECK(h.d().tls->sni == "example.com");
  }
  {
    Harness h(389);
    starttls::StartTlsHandler s;
    auto req = hex({0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16});
    for (const char c : std::string_view("1.3.6.1.4.1.1466.20037")) req.push_back(static_cast<std::uint8_t>(c));
    h.send(s, true, req);
    h.send(s, false, hex({0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00}));
    h.send(s, true, client_hello("ldap.example"));
    CHECK(h.d().app == app::AppProtocol::kLdap);
    REQUIRE(h.d().tls);
    CHECK(h.d().tls->sni == "ldap.example");
  }
  {
    Harness h(5432);
    starttls::StartTlsHandler s;
    h.send(s, true, hex({0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f}));
    h.send(s, false, b("S"));
    h.send(s, true, client_hello("db.example"));
    CHECK(h.d().app == app::AppProtocol::kPostgres);
    REQUIRE(h.d().tls);
    CHECK(h.d().tls->sni == "db.example");
  }
}

TEST_CASE("plaintext past the STARTTLS limit is an inspection-limit blind spot") {
  Harness h(25);
  starttls::StartTlsHandler s;
  h.send(s, false, b("220 mx\r\n"));
  std::string lines;
  while (lines.size() <= starttls::kMaxPlaintextBytes) lines += "NOOP\r\n";
  h.send(s, true, b(lines));
  CHECK(h.d().limit == app::InspectionLimit::kStartTlsPlaintext);
  CHECK(app::is_done(h.f));
}

}  // TEST_SUITE
