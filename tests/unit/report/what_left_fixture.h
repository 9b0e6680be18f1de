// A small audit with reconstructed requests and their findings, for the "What left" tests of the
// aggregation and of every format: a CN chat service over TLS (e-mail, canary, prompt), a plaintext
// host whose name is hostile (markup, ESC, U+202E) with no catalog entry, and an unnamed address.
// Every finding's value is kSecretValue: no report of the matrix may print it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analysis/audit.h"
#include "analysis/enrich/service_catalog.h"

namespace flowaudit::report::test {

inline constexpr std::string_view kSecretValue = "SECRET-VALUE-0451";
inline constexpr std::string_view kHostileHost = "<script>alert(1)</script>\x1b]0;pwned\x07\xe2\x80\xae" "evil.example";

inline analysis::inspect::Finding finding(std::string type, std::string field, std::string encoding = {}) {
  return analysis::inspect::Finding{std::move(type), std::move(field), std::string(kSecretValue), std::move(encoding),
                                    "test"};
}

inline analysis::FlowRow flow_to(std::uint64_t id, std::string_view server, std::uint16_t port, std::string_view name,
                                 std::string_view scheme, std::vector<analysis::http::Exchange> exchanges) {
  analysis::flow::Flow f;
  f.id = id;
  f.key.addr[0] = *core::IpAddress::parse("10.0.0.2");
  f.key.port[0] = static_cast<std::uint16_t>(40000 + id);
  f.key.addr[1] = *core::IpAddress::parse(server);
  f.key.port[1] = port;
  f.key.protocol = 6;
  f.client = 0;
  f.tcp = analysis::flow::TcpState::kEstablished;
  f.from[0] = {5, 500, 300, 1, 2};
  f.last_seen = 2;
  analysis::app::FlowName n;
  n.hostname = name;
  n.source = name.empty() ? std::string_view() : std::string_view("tls-sni");
  analysis::FlowRow row(std::move(f), n);
  row.details.emplace();
  row.details->app = scheme == "http" ? analysis::app::AppProtocol::kHttp : analysis::app::AppProtocol::kTls;
  row.details->requests = std::make_unique<analysis::app::HttpExchanges>();
  row.details->requests->scheme = scheme;
  row.details->requests->list = std::move(exchanges);
  return row;
}

inline analysis::http::Exchange exchange(std::vector<analysis::inspect::Finding> findings, std::uint64_t prompt_bytes = 0) {
  analysis::http::Exchange e;
  e.method = "POST";
  e.authority = "x";
  e.path = "/";
  e.request_complete = true;
  e.findings = std::move(findings);
  e.prompt_bytes = prompt_bytes;
  return e;
}

inline std::shared_ptr<const analysis::enrich::Service> cn_service() {
  auto s = std::make_shared<analysis::enrich::Service>();
  s->id = "example-chat";
  s->name = "Example Chat";
  s->operator_name = "Example AI Ltd";
  s->jurisdiction = "CN";
  s->parent = "Example Group";
  s->parent_jurisdiction = "KY";
  return s;
}

// With `requests` false, the same flows without any reconstructed request (no keys).
inline analysis::AuditResult what_left_audit(bool requests = true) {
  analysis::AuditResult r;
  std::vector<analysis::http::Exchange> chat;
  std::vector<analysis::http::Exchange> plain;
  std::vector<analysis::http::Exchange> bare;
  if (requests) {
    chat.push_back(exchange({finding("prompt", "body.messages[0].content"), finding("email", "body.user.email"),
                             finding("email", "query.email", "url")},
                            1200));
    chat.push_back(exchange({finding("canary", "header.x-id", "sha256(lower(trim)) as hex"),
                             finding("email", "body.user.email", "json")},
                            300));
    chat.push_back(exchange({}));  // inspected, nothing found
    plain.push_back(exchange({finding("advertising-id", "body.idfa"), finding("device-id", "<b>field</b>")}));
    bare.push_back(exchange({finding("phone", "form.tel")}));
    bare.back().findings_dropped = 3;
  }
  r.flows.push_back(flow_to(1, "203.0.113.10", 443, "chat.example.cn", "https", std::move(chat)));
  r.flows.push_back(flow_to(2, "198.51.100.7", 80, kHostileHost, "http", std::move(plain)));
  r.flows.push_back(flow_to(3, "192.0.2.5", 443, "", "https", std::move(bare)));
  if (!requests) {
    for (auto& f : r.flows) f.details->requests.reset();
  }
  r.destinations = analysis::destinations_of(r.flows);
  for (auto& d : r.destinations) {
    d.enrichment.emplace();
    if (d.hostname == "chat.example.cn") {
      d.enrichment->service = cn_service();
      d.enrichment->service_match = "hostname";
    }
  }
  r.coverage.encrypted_flows = 2;
  r.coverage.decrypted_flows = requests ? 2 : 0;
  return r;
}

}  // namespace flowaudit::report::test
