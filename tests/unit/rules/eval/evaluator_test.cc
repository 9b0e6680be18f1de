// The evaluator on a hand-built audit result: scopes, grouping per destination, waivers, the
// per-rule cap, allowlists, the verdict, and built-in rules no committed capture can trigger
// (SSL 3.0, undecryptable QUIC, ECH).
#include "rules/eval/evaluator.h"

#include <doctest/doctest.h>

#include <array>
#include <memory>

#include "analysis/enrich/service_catalog.h"
#include "analysis/packet/transport.h"
#include "rules/eval/records.h"
#include "rules/load/loader.h"
#include "unit/rules/eval/result_builder.h"

namespace flowaudit::rules::eval {
namespace {

using analysis::app::AppProtocol;
using analysis::app::BlindSpot;

core::IpAddress ip(const char* text) { return *core::IpAddress::parse(text); }

struct Builder {
  analysis::AuditResult r;
  std::uint64_t next_id = 1;

  // A flow from the device to server:port; returns its details to fill in.
  analysis::app::FlowDetails& flow(const char* server, std::uint16_t port, std::uint8_t proto, std::uint64_t bytes_out,
                                   AppProtocol app = AppProtocol::kUnknown) {
    const analysis::flow::Flow f = test::device_flow(next_id++, server, port, proto, bytes_out);
    // Valid until the next flow is added (the rows move as the vector grows).
    auto& d = r.flows.emplace_back(f).details.emplace();
    d.app = app;
    return d;
  }

  analysis::AuditResult& finish() { return test::finish_result(r); }
};

Policy policy(const std::string& text) {
  load::LoadOptions options;
  options.allow_includes = false;
  auto loaded = load::load_policy_text(text, "test.yaml", options);
  for (const auto& e : loaded.errors) INFO(e);
  REQUIRE(loaded.ok());
  return std::move(loaded.policy);
}

Policy builtin(const std::string& name) { return test::builtin_policy(name); }

std::size_t count(const Evaluation& e, const std::string& rule) {
  std::size_t n = 0;
  for (const auto& f : e.findings) n += f.rule->id == rule ? 1 : 0;
  return n;
}

const char* kRules = R"yaml(rules:
  - id: t.big-flow
    title: Big flow
    severity: medium
    scope: flow
    condition: bytes_out > 1 KB
    message: "{hostname} got {bytes_out} bytes ({tls.version})"
  - id: t.destination
    title: Port 443
    severity: low
    scope: destination
    condition: port = 443
  - id: t.capture
    title: Capture
    severity: info
    scope: capture
    condition: capture.flows > 1
  - id: t.off
    title: Off
    severity: critical
    scope: destination
    condition: true
    enabled: false
waivers:
  - rule: t.destination
    condition: "ip = '10.9.9.9'"
    reason: accepted
    expires: 2999-01-01
)yaml";

}  // namespace

TEST_SUITE("rules.eval") {

TEST_CASE("flow findings are grouped per destination with their evidence; disabled rules do not run") {
  Builder b;
  b.flow("10.9.9.9", 443, analysis::packet::kProtoTcp, 5000);
  b.flow("10.9.9.9", 443, analysis::packet::kProtoTcp, 7000);
  b.flow("10.9.9.9", 443, analysis::packet::kProtoTcp, 10);  // below the threshold
  b.flow("10.8.8.8", 443, analysis::packet::kProtoTcp, 2000);
  const auto& r = b.finish();
  const Policy p = policy(kRules);
  const Evaluation e = evaluate(p, r, {});
  CHECK(e.rules_evaluated == 3);
  REQUIRE(count(e, "t.big-flow") == 2);
  const Finding* big = nullptr;
  for (const auto& f : e.findings) {
    if (f.rule->id == "t.big-flow" && r.destinations[*f.destination].ip == ip("10.9.9.9")) big = &f;
  }
  REQUIRE(big != nullptr);
  CHECK(big->evidence.flows == 2);
  CHECK(big->evidence.bytes_out == 12000);
  CHECK(big->evidence.flow_ids == std::vector<std::uint64_t>{1, 2});
  CHECK(big->message == "unknown got 5000 bytes (unknown)");
  CHECK(count(e, "t.off") == 0);
  CHECK(count(e, "t.capture") == 1);
  // The waiver covers one destination of t.destination, not the other.
  CHECK(e.waived == 1);
  CHECK(e.counts[static_cast<std::size_t>(Severity::kLow)] == 1);
  CHECK(e.counts[static_cast<std::size_t>(Severity::kMedium)] == 2);
  CHECK_FALSE(e.failed);  // nothing at high
  CHECK(std::string(e.verdict()) == "pass");
  // Not waived first, highest severity first.
  CHECK(e.findings.front().rule->severity == Severity::kMedium);
  CHECK(e.findings.back().waiver != nullptr);

  EvalOptions strict;
  strict.fail_on = Severity::kMedium;
  CHECK(evaluate(p, r, strict).failed);
  EvalOptions never;
  never.fail_on = std::nullopt;
  strict.fail_on = Severity::kInfo;
  CHECK(evaluate(p, r, strict).failed);
  CHECK_FALSE(evaluate(p, r, never).failed);
}

TEST_CASE("a rule that fires everywhere is capped, counted and warned about") {
  Builder b;
  for (std::size_t i = 0; i < kMaxFindingsPerRule + 5; ++i) {
    const std::string addr = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    b.flow(addr.c_str(), 443, analysis::packet::kProtoTcp, 10);
  }
  const auto& r = b.finish();
  const Policy p = policy(kRules);
  const Evaluation e = evaluate(p, r, {});
  CHECK(count(e, "t.destination") == kMaxFindingsPerRule);
  CHECK(e.dropped == 5);
  CHECK(e.counts[static_cast<std::size_t>(Severity::kLow)] == kMaxFindingsPerRule + 5);
  REQUIRE(e.warnings.size() == 1);
}

TEST_CASE("weak-tls.ssl fires on SSL 3.0 and weak-tls stays quiet on TLS 1.3") {
  Builder b;
  auto& ssl = b.flow("203.0.113.5", 443, analysis::packet::kProtoTcp, 900, AppProtocol::kTls);
  ssl.tls = std::make_unique<analysis::app::TlsDetails>();
  ssl.tls->client_hello = ssl.tls->server_hello = true;
  ssl.tls->has_sni = true;
  ssl.tls->sni = "legacy.example";
  ssl.tls->ja3 = "0123456789abcdef0123456789abcdef";
  ssl.tls->version = 0x0300;
  ssl.tls->cipher = 0x0035;  // TLS_RSA_WITH_AES_256_CBC_SHA
  auto& modern = b.flow("203.0.113.6", 443, analysis::packet::kProtoTcp, 900, AppProtocol::kTls);
  modern.tls = std::make_unique<analysis::app::TlsDetails>();
  modern.tls->client_hello = modern.tls->server_hello = true;
  modern.tls->has_sni = true;
  modern.tls->sni = "modern.example";
  modern.tls->ja3 = "0123456789abcdef0123456789abcdef";
  modern.tls->version = 0x0304;
  modern.tls->cipher = 0x1301;
  const auto& r = b.finish();
  const Policy p = builtin("weak-tls");  // findings point into the policy: it must outlive them
  const Evaluation e = evaluate(p, r, {});
  REQUIRE(count(e, "weak-tls.ssl") == 1);
  for (const auto& f : e.findings) CHECK(r.destinations[*f.destination].ip == ip("203.0.113.5"));
}

// A service as the catalog resolves it from data/companies.yaml: its operator (named by its id),
// the operator's jurisdiction, the group and the group's jurisdiction; `category` a catalog name.
std::shared_ptr<analysis::enrich::Service> owned_service(const char* id, const char* jurisdiction, const char* parent,
                                                         const char* parent_jurisdiction,
                                                         const char* category = nullptr) {
  auto s = std::make_shared<analysis::enrich::Service>();
  s->id = id;
  s->name = id;
  if (category != nullptr) s->category = *analysis::enrich::parse_category(category);
  s->operator_name = id;
  s->jurisdiction = jurisdiction;
  s->parent = parent;
  s->parent_jurisdiction = parent_jurisdiction;
  return s;
}

TEST_CASE("china-transfer: the operator rule for entities under Chinese law, the group rule for their foreign siblings") {
  // No committed capture reaches a ByteDance entity outside China; the services are built by hand
  // as the catalog resolves them from data/companies.yaml.
  Builder b;
  b.flow("203.0.113.10", 443, analysis::packet::kProtoTcp, 900);  // TikTok Pte. Ltd. (SG), group CN
  b.flow("203.0.113.11", 443, analysis::packet::kProtoTcp, 900);  // Volcano Engine (CN), group CN
  b.flow("203.0.113.12", 443, analysis::packet::kProtoTcp, 900);  // Google LLC (US), group US
  b.flow("203.0.113.13", 443, analysis::packet::kProtoTcp, 900);  // no parent
  auto& r = b.finish();
  const std::array<std::shared_ptr<analysis::enrich::Service>, 4> services{
      owned_service("tiktok-pixel", "SG", "ByteDance Ltd.", "CN"), owned_service("volcengine", "CN", "ByteDance Ltd.", "CN"),
      owned_service("google-analytics", "US", "Alphabet Inc.", "US"), owned_service("stripe", "US", "", "")};
  for (auto& d : r.destinations) {
    const auto last = d.ip.bytes()[3];
    d.enrichment.emplace();
    d.enrichment->geo.country = "US";
    d.enrichment->service = services[static_cast<std::size_t>(last - 10)];
  }
  const Policy p = builtin("china-transfer");
  const Evaluation e = evaluate(p, r, {});
  const auto fired = [&](const std::string& rule, std::uint8_t last) {
    for (const auto& f : e.findings) {
      if (f.rule->id == rule && r.destinations[*f.destination].ip.bytes()[3] == last) return true;
    }
    return false;
  };
  CHECK(fired("china-transfer.parent-group", 10));
  CHECK_FALSE(fired("china-transfer.operator", 10));
  CHECK(fired("china-transfer.operator", 11));
  CHECK_FALSE(fired("china-transfer.parent-group", 11));  // one finding per destination: the operator's
  CHECK(count(e, "china-transfer.parent-group") == 1);
  CHECK(count(e, "china-transfer.operator") == 1);
  for (const auto& f : e.findings) {
    if (f.rule->id == "china-transfer.parent-group") {
      CHECK(f.message.find("operated by tiktok-pixel (SG), part of ByteDance Ltd. under CN law") != std::string::npos);
    }
  }
}

TEST_CASE("trackers: a Chinese operator, a foreign entity of a Chinese group and the rest get one rule each") {
  Builder b;
  b.flow("203.0.113.10", 443, analysis::packet::kProtoTcp, 900);  // Pangle (SG), group ByteDance (CN)
  b.flow("203.0.113.11", 443, analysis::packet::kProtoTcp, 900);  // Volcengine DataRangers (CN)
  b.flow("203.0.113.12", 443, analysis::packet::kProtoTcp, 900);  // Google Analytics (US), group US
  b.flow("203.0.113.13", 443, analysis::packet::kProtoTcp, 900);  // a push service of a Chinese group, abroad
  auto& r = b.finish();
  const std::array<std::shared_ptr<analysis::enrich::Service>, 4> services{
      owned_service("pangle", "SG", "Group", "CN", "ads"), owned_service("datarangers", "CN", "Group", "CN", "telemetry"),
      owned_service("google-analytics", "US", "Group", "US", "analytics"),
      owned_service("push-abroad", "SG", "Group", "CN", "push")};
  for (auto& d : r.destinations) {
    d.enrichment.emplace();
    d.enrichment->geo.country = "SG";
    d.enrichment->service = services[static_cast<std::size_t>(d.ip.bytes()[3] - 10)];
  }
  const Policy p = builtin("trackers");  // findings point into the policy: it must outlive them
  const Evaluation e = evaluate(p, r, {});
  const auto rule_of = [&](std::uint8_t last) {
    std::vector<std::string> ids;
    for (const auto& f : e.findings) {
      if (r.destinations[*f.destination].ip.bytes()[3] == last) ids.push_back(f.rule->id);
    }
    return ids;
  };
  CHECK(rule_of(10) == std::vector<std::string>{"trackers.china-group"});
  CHECK(rule_of(11) == std::vector<std::string>{"trackers.china-jurisdiction"});
  CHECK(rule_of(12) == std::vector<std::string>{"trackers.analytics"});
  CHECK(rule_of(13) == std::vector<std::string>{"trackers.china-group"});
  for (const auto& f : e.findings) {
    if (f.rule->id == "trackers.china-group" && r.destinations[*f.destination].ip.bytes()[3] == 10) {
      CHECK(f.message.find("operated by pangle (SG), part of Group under CN law") != std::string::npos);
    }
  }
}

TEST_CASE("blind-spots: undecryptable QUIC and ECH are findings") {
  Builder b;
  auto& quic = b.flow("203.0.113.7", 443, analysis::packet::kProtoUdp, 1300, AppProtocol::kQuic);
  quic.blind_spot = BlindSpot::kQuicUndecryptable;
  quic.quic = std::make_unique<analysis::app::QuicDetails>();
  quic.quic->version_name = "0x5a6b7c8d";
  auto& ech = b.flow("203.0.113.8", 443, analysis::packet::kProtoTcp, 1300, AppProtocol::kTls);
  ech.blind_spot = BlindSpot::kEch;
  ech.tls = std::make_unique<analysis::app::TlsDetails>();
  ech.tls->client_hello = true;
  ech.tls->ech = true;
  ech.tls->has_sni = true;
  ech.tls->sni = "public.example";
  const auto& r = b.finish();
  const Policy p = builtin("blind-spots");
  const Evaluation e = evaluate(p, r, {});
  CHECK(count(e, "blind-spots.quic-undecryptable") == 1);
  CHECK(count(e, "blind-spots.ech") == 1);
}

TEST_CASE("allowlists: names, services and networks allow; special ranges are never findings") {
  Builder b;
  b.flow("44.1.1.10", 443, analysis::packet::kProtoTcp, 100);
  b.flow("45.1.1.1", 443, analysis::packet::kProtoTcp, 100);
  b.flow("192.168.1.1", 53, analysis::packet::kProtoUdp, 60);
  auto& r = b.finish();
  const Policy p = policy("allowlists:\n  - app: demo\n    networks: ['44.1.1.0/24']\n");
  EvalOptions options;
  options.app = "demo";
  const Evaluation e = evaluate(p, r, options);
  REQUIRE(count(e, "allowlist.demo") == 1);
  CHECK(r.destinations[*e.findings.front().destination].ip == ip("45.1.1.1"));
  CHECK(e.findings.front().message == "45.1.1.1 port 443 is not an expected destination of demo");
  options.app = "other";
  const Evaluation none = evaluate(p, r, options);
  CHECK(none.findings.empty());
  CHECK(none.warnings.size() == 1);
}

TEST_CASE("records give lists with the list separator and messages join them with commas") {
  Builder b;
  b.flow("203.0.113.9", 53, analysis::packet::kProtoUdp, 60, AppProtocol::kDns);
  auto& r = b.finish();
  analysis::app::DnsRecord q;
  q.flow_id = 1;
  q.server = ip("203.0.113.9");
  q.transport = "udp";
  q.query = "chat.deepseek.com";
  q.qtype = "A";
  q.answers = {"d2vmr3bhtjgxmt.cloudfront.net", "3.173.21.63"};
  r.dns.push_back(q);
  const Policy p = policy(R"(rules:
  - id: t.dns
    title: DNS
    severity: high
    scope: dns
    condition: dns.answers contains '3.173.21.63' and not dns.encrypted
    message: "{dns.query} -> {dns.answers}"
)");
  const Evaluation e = evaluate(p, r, {});
  REQUIRE(e.findings.size() == 1);
  CHECK(e.findings[0].message == "chat.deepseek.com -> d2vmr3bhtjgxmt.cloudfront.net, 3.173.21.63");
  CHECK(e.findings[0].evidence.dns_query == "chat.deepseek.com");
  REQUIRE(e.findings[0].destination.has_value());
  CHECK(e.failed);
}

}  // TEST_SUITE
}  // namespace flowaudit::rules::eval
