#include "analysis/app/naming.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "analysis/app/proxy/proxy_messages.h"
#include "analysis/packet/transport.h"

namespace flowaudit::analysis::app {
namespace {

constexpr std::uint16_t kDotPort = 853;
constexpr std::uint16_t kHttpsPort = 443;

// Well-known public resolvers (their operators' documentation). The service catalog will carry
// these with operators and jurisdictions; until then they only mark DoH/DoT as a blind spot.
constexpr std::array<std::string_view, 20> kResolverAddresses = {
    "8.8.8.8",         "8.8.4.4",         "1.1.1.1",         "1.0.0.1",
    "9.9.9.9",         "149.112.112.112", "208.67.222.222",  "208.67.220.220",
    "94.140.14.14",    "94.140.15.15",    "223.5.5.5",       "223.6.6.6",
    "119.29.29.29",    "180.76.76.76",    "2001:4860:4860::8888", "2001:4860:4860::8844",
    "2606:4700:4700::1111", "2606:4700:4700::1001", "2620:fe::fe", "2620:fe::9",
};

constexpr std::array<std::string_view, 16> kDohHosts = {
    "dns.google",          "dns.google.com",      "cloudflare-dns.com", "mozilla.cloudflare-dns.com",
    "one.one.one.one",     "security.cloudflare-dns.com", "dns.quad9.net", "dns9.quad9.net",
    "dns11.quad9.net",     "doh.opendns.com",     "dns.adguard-dns.com", "dns.nextdns.io",
    "doh.cleanbrowsing.org", "dns.alidns.com",    "doh.pub",            "doh.360.cn",
};

}  // namespace

bool is_public_resolver_address(const core::IpAddress& ip) {
  const std::string text = ip.to_string();
  return std::find(kResolverAddresses.begin(), kResolverAddresses.end(), text) != kResolverAddresses.end();
}

bool is_doh_host(std::string_view host) {
  return std::find(kDohHosts.begin(), kDohHosts.end(), host) != kDohHosts.end();
}

FlowName name_flow(const flow::Flow& f, const FlowDetails* d, const dns::NameCache& names, core::StringPool& pool) {
  FlowName n;
  if (d != nullptr && d->tls && d->tls->has_sni && !d->tls->sni.empty()) {
    n.hostname = d->tls->sni;
    n.source = d->app == AppProtocol::kQuic || d->app == AppProtocol::kGquic ? "quic-sni" : "tls-sni";
    return n;
  }
  // What the client asked a proxy for: on the wire only the proxy's address is seen, so the name
  // the client gave the proxy is the flow's destination. A request by address names nothing
  // itself; the DNS answer for that address may (below).
  if (d != nullptr && d->proxy && !d->proxy->host.empty() && !d->proxy->by_address) {
    n.hostname = d->proxy->host;
    n.source = d->proxy->type == "http-connect" ? "proxy-connect" : "socks";
    return n;
  }
  if (d != nullptr && d->http && !d->http->host.empty()) {
    // Host may carry a port ("example.com:8080"); the name is what comes before it.
    std::string_view host = d->http->host;
    if (!host.empty() && host.front() != '[') host = host.substr(0, host.find(':'));
    n.hostname = pool.intern(host);
    n.source = "http-host";
    return n;
  }
  core::IpAddress server = f.key.addr[f.server()];
  if (d != nullptr && d->proxy) {
    // Through a proxy the server's address is the requested one, if any: the proxy's own name
    // (from DNS) is not the destination's.
    const auto asked = d->proxy->by_address ? core::IpAddress::parse(d->proxy->host) : std::nullopt;
    if (!asked) return n;
    server = *asked;
  }
  if (auto cached = names.lookup(server, f.first_seen())) {
    n.hostname = pool.intern(cached->name);
    n.source = "dns";
    n.dns_cnames = pool.intern(core::join_items(cached->cnames));
  }
  if (n.hostname.empty()) n.unnamed = unnamed_reason(f, d);
  return n;
}

std::optional<ProxyTarget> proxy_target(const flow::Flow& f, const FlowDetails* d) {
  if (d == nullptr) return std::nullopt;
  ProxyTarget t;
  t.proxy_ip = f.key.addr[f.server()];
  t.proxy_port = f.key.port[f.server()];
  if (d->proxy && !d->proxy->host.empty()) {
    t.type = d->proxy->type;
    t.host = d->proxy->host;
    t.port = d->proxy->port;
    if (d->proxy->by_address) t.ip = core::IpAddress::parse(d->proxy->host);
    return t;
  }
  // Plain HTTP through a proxy: the request target is absolute ("GET http://host/path").
  proxy::Target target;
  if (d->http && !d->http->method.empty() && d->http->method != "CONNECT" &&
      proxy::absolute_form_target(d->http->path, target)) {
    t.type = "http-proxy";
    t.host = std::move(target.host);
    t.port = target.port;
    if (target.by_address) t.ip = core::IpAddress::parse(t.host);
    return t;
  }
  return std::nullopt;
}

void label_target(const ProxyTarget& t, std::string_view type, std::string_view host, flow::FlowLabel& label) {
  label.via_type = type;
  label.target_port = t.port;
  if (t.ip) {
    label.target_ip = *t.ip;
  } else {
    label.target_host = host;
  }
}

void label_proxy(const flow::Flow& f, const FlowDetails* d, const dns::NameCache& names, core::StringPool& pool,
                 flow::FlowLabel& label) {
  auto t = proxy_target(f, d);
  if (!t) return;
  label_target(*t, pool.intern(t->type), pool.intern(t->host), label);
  if (auto cached = names.lookup(t->proxy_ip, f.first_seen())) label.proxy_hostname = pool.intern(cached->name);
}

void classify_blind_spot(const flow::Flow& f, FlowDetails& d) {
  if (d.blind_spot != BlindSpot::kNone) return;
  const std::uint16_t port = f.key.port[f.server()];
  const bool tcp = f.key.protocol == packet::kProtoTcp;
  // When a server accepts ECH, the session's secrets belong to the inner ClientHello's random,
  // which the capture never shows. A flow decrypted with the secrets of the outer ClientHello's
  // random did not use ECH (GREASE ECH, which Chromium sends by default, or ECH the server
  // rejected): its SNI is the real name, and nothing is hidden.
  const bool outer_decrypted =
      d.decryption && d.decryption->records_opened[0] + d.decryption->records_opened[1] > 0;
  if (d.tls && d.tls->ech && !outer_decrypted) {
    d.blind_spot = BlindSpot::kEch;
  } else if (port == kDotPort && (tcp || d.app == AppProtocol::kQuic)) {
    d.blind_spot = BlindSpot::kDnsOverTls;
  } else if (d.tls && ((d.tls->has_sni && is_doh_host(d.tls->sni)) ||
                       (port == kHttpsPort && is_public_resolver_address(f.key.addr[f.server()])))) {
    d.blind_spot = BlindSpot::kDnsOverHttps;
  }
}

}  // namespace flowaudit::analysis::app
