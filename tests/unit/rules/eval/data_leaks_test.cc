// The data-leaks pack (issue 17) on hand-built audit results: what left in requests (pii.*, canary.*,
// prompt.*), in DNS query names and in server names, graded by who received it and how.
#include <doctest/doctest.h>

#include <array>
#include <memory>
#include <string>

#include "analysis/app/http/http1_connection.h"
#include "analysis/enrich/service_catalog.h"
#include "analysis/packet/transport.h"
#include "rules/eval/evaluator.h"
#include "rules/eval/records.h"
#include "rules/lang/compiler.h"
#include "rules/load/loader.h"
#include "unit/rules/eval/result_builder.h"

namespace flowaudit::rules::eval {
namespace {

core::IpAddress ip(const char* text) { return *core::IpAddress::parse(text); }

analysis::inspect::Finding finding(const char* type, const char* field, const char* value, const char* encoding,
                                   const char* detector) {
  return analysis::inspect::Finding{type, field, value, encoding, detector};
}

struct Builder {
  analysis::AuditResult r;
  std::uint64_t next_id = 1;

  // A flow from the device to server:port carrying one request with `findings`.
  analysis::app::FlowDetails& flow(const char* server, std::uint16_t port, const char* scheme, const char* authority,
                                   std::vector<analysis::inspect::Finding> findings, std::uint64_t prompt_bytes = 0,
                                   const char* chat_service = "") {
    const analysis::flow::Flow f = test::device_flow(next_id++, server, port, analysis::packet::kProtoTcp, 900);
    auto& d = r.flows.emplace_back(f).details.emplace();
    d.app = std::string_view(scheme) == "http" ? analysis::app::AppProtocol::kHttp : analysis::app::AppProtocol::kTls;
    d.requests = std::make_unique<analysis::app::HttpExchanges>();
    d.requests->scheme = scheme;
    auto& e = d.requests->list.emplace_back();
    e.method = "POST";
    e.authority = authority;
    e.path = "/collect";
    e.findings = std::move(findings);
    e.prompt_bytes = prompt_bytes;
    e.chat_service = chat_service;
    return d;
  }

  analysis::AuditResult& finish() { return test::finish_result(r); }
};

std::shared_ptr<analysis::enrich::Service> service(const char* id, const char* operator_name, const char* jurisdiction,
                                                   const char* category) {
  auto s = std::make_shared<analysis::enrich::Service>();
  s->id = id;
  s->name = id;
  s->category = *analysis::enrich::parse_category(category);
  s->operator_name = operator_name;
  s->jurisdiction = jurisdiction;
  return s;
}

Policy builtin(const std::string& name) { return test::builtin_policy(name); }

// The rules that fired on the destination whose address ends in `last`, and their messages.
std::vector<std::string> fired(const Evaluation& e, const analysis::AuditResult& r, std::uint8_t last,
                               std::string* messages = nullptr) {
  std::vector<std::string> ids;
  for (const auto& f : e.findings) {
    if (f.destination && r.destinations[*f.destination].ip.bytes()[3] == last) {
      ids.push_back(f.rule->id);
      if (messages != nullptr) *messages += f.message + "\n";
    }
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

TEST_SUITE("rules.eval") {

TEST_CASE("FieldSet: more than 64 fields, in order") {
  static_assert(lang::kFieldCount > 64, "the table outgrew one word: this test checks the second");
  lang::FieldSet s = lang::field_bit(lang::FieldId::kHostname) | lang::field_bit(lang::FieldId::kDataEvidence) |
                     lang::field_bit(lang::FieldId::kPiiTypes);
  CHECK(s.count() == 3);
  CHECK(s.has(lang::FieldId::kDataEvidence));
  CHECK_FALSE(s.has(lang::FieldId::kPort));
  std::vector<lang::FieldId> seen;
  s.for_each([&](lang::FieldId f) { seen.push_back(f); });
  CHECK(seen == std::vector<lang::FieldId>{lang::FieldId::kHostname, lang::FieldId::kPiiTypes,
                                           lang::FieldId::kDataEvidence});
  CHECK((s & ~lang::field_bit(lang::FieldId::kPiiTypes)).count() == 2);
  CHECK((s & lang::field_bit(lang::FieldId::kPort)).none());
  CHECK(lang::FieldSet{} == lang::FieldSet{});
}

TEST_CASE("data-leaks: who received what, and how") {
  Builder b;
  // .10 the AI service itself (CN): the prompt with a canary, over TLS.
  b.flow("203.0.113.10", 443, "https", "chat.example-ai.cn",
         {finding("prompt", "body.prompt", "812 bytes", "", "chat-endpoint"),
          finding("canary", "body.prompt", "Su***", "", "canary")},
         812, "example-ai");
  // .11 a CN telemetry host: the hashed email (a canary chain) and a device id, over TLS.
  b.flow("203.0.113.11", 443, "https", "gator.example-telemetry.cn",
         {finding("canary", "body.user.em", "il***", "sha256(lower(trim)) as hex", "canary"),
          finding("device-id", "body.device_id", "7f3a****", "", "device-id-by-name")});
  // .12 a US ad network over plain HTTP: an IDFA.
  b.flow("203.0.113.12", 80, "http", "ads.example-ads.com",
         {finding("advertising-id", "query.idfa", "6D92****-****-****-****-********F1A2", "", "idfa-by-name")});
  // .13 a US fingerprinting service: a fingerprint group.
  b.flow("203.0.113.13", 443, "https", "fp.example-fp.com",
         {finding("fingerprint", "body.env", "screen, timezone, fonts", "", "fingerprint-group")});
  // .14 a US CDN, nothing found.
  b.flow("203.0.113.14", 443, "https", "cdn.example.com", {});
  auto& r = b.finish();
  const std::array<std::shared_ptr<analysis::enrich::Service>, 5> services{
      service("example-ai", "Example AI Co.", "CN", "ai-chat"),
      service("example-telemetry", "Example Volcano Co.", "CN", "telemetry"),
      service("example-ads", "Example Ads Inc.", "US", "ads"),
      service("example-fp", "Example Fingerprint Inc.", "US", "fingerprinting"),
      service("example-cdn", "Example CDN Inc.", "US", "cdn")};
  for (auto& d : r.destinations) {
    d.enrichment.emplace();
    d.enrichment->geo.country = "US";
    d.enrichment->service = services[static_cast<std::size_t>(d.ip.bytes()[3] - 10)];
  }
  const Policy p = builtin("data-leaks");
  const Evaluation e = evaluate(p, r, {});
  // The AI operator got the prompt and the canary: first party, but under CN law.
  CHECK(fired(e, r, 10) == std::vector<std::string>{"data-leaks.restricted-jurisdiction"});
  std::string m11;
  CHECK(fired(e, r, 11, &m11) == std::vector<std::string>{"data-leaks.canary-third-party",
                                                          "data-leaks.personal-data-tracker",
                                                          "data-leaks.restricted-jurisdiction"});
  // The evidence names the encoding chain, the field and a masked value, never more.
  CHECK(m11.find("canary il*** in body.user.em (sha256(lower(trim)) as hex)") != std::string::npos);
  CHECK(m11.find("device-id 7f3a**** in body.device_id [device-id-by-name]") != std::string::npos);
  CHECK(fired(e, r, 12) == std::vector<std::string>{"data-leaks.personal-data-plaintext",
                                                    "data-leaks.personal-data-tracker"});
  CHECK(fired(e, r, 13) == std::vector<std::string>{"data-leaks.fingerprint-group",
                                                    "data-leaks.personal-data-tracker"});
  CHECK(fired(e, r, 14).empty());
  CHECK(e.failed);
  for (const auto& f : e.findings) {
    if (f.rule->id == "data-leaks.restricted-jurisdiction" || f.rule->id == "data-leaks.personal-data-plaintext") {
      CHECK(f.rule->severity == Severity::kCritical);
    }
  }
}

TEST_CASE("request rules: a flow with several matching requests counts once in every finding") {
  // Regression: the flow's findings were remembered by address; a second rule's finding moved them
  // and the first rule counted the flow again at the next request (2 flows where there was 1).
  Builder b;
  auto& d = b.flow("203.0.113.12", 80, "http", "ads.example-ads.com",
                   {finding("advertising-id", "query.idfa", "6D92****", "", "idfa-by-name")});
  for (int i = 0; i < 3; ++i) d.requests->list.push_back(d.requests->list.front());
  auto& r = b.finish();
  for (auto& dest : r.destinations) {
    dest.enrichment.emplace();
    dest.enrichment->service = service("example-ads", "Example Ads Inc.", "CN", "ads");
  }
  const Policy p = builtin("data-leaks");
  const Evaluation e = evaluate(p, r, {});
  REQUIRE(e.findings.size() == 3);
  for (const auto& f : e.findings) {
    INFO(f.rule->id);
    CHECK(f.evidence.flows == 1);
  }
}

TEST_CASE("data-leaks: the AI service's own hosts are first party; its chat endpoint on another host is not") {
  Builder b;
  b.flow("203.0.113.10", 443, "https", "chat.example-ai.cn", {finding("canary", "query.q", "Su***", "url", "canary")});
  b.flow("203.0.113.11", 443, "https", "relay.example.net",
         {finding("prompt", "body.prompt", "20 bytes", "", "chat-endpoint")}, 20, "example-ai");
  auto& r = b.finish();
  for (auto& d : r.destinations) {
    d.enrichment.emplace();
    d.enrichment->service = d.ip.bytes()[3] == 10 ? service("example-ai", "Example AI Co.", "SG", "ai-chat")
                                                  : service("relay", "Relay Ltd.", "GB", "cloud");
  }
  const Policy p = builtin("data-leaks");
  const Evaluation e = evaluate(p, r, {});
  // The relay carried the prompts of example-ai, whose own destination (.10, same service id) makes
  // its operator first party: the canary there is not a third-party leak.
  CHECK(fired(e, r, 10).empty());
  CHECK(fired(e, r, 11) == std::vector<std::string>{"data-leaks.prompt-third-party"});
}

TEST_CASE("data-leaks: canaries and identifiers in DNS query names and server names") {
  Builder b;
  auto& d = b.flow("203.0.113.20", 443, "https", "x.example.org", {});
  d.requests.reset();
  b.r.flows.back().name.hostname = "6d792e656d61696c.t.example-track.com";
  b.r.flows.back().name.source = "tls-sni";
  auto& r = b.finish();
  analysis::app::DnsRecord q;
  q.flow_id = 99;
  q.query = "nbswy3dp.exfil.example.com";
  q.qtype = "A";
  q.server = ip("192.168.1.1");
  r.dns.push_back(q);
  analysis::app::DnsRecord clean = q;
  clean.query = "www.example.com";
  r.dns.push_back(clean);
  r.name_findings.push_back({"dns", "nbswy3dp.exfil.example.com",
                             {finding("canary", "dns.label[0]", "he***", "base32", "canary")}});
  r.name_findings.push_back({"sni", "6d792e656d61696c.t.example-track.com",
                             {finding("canary", "sni.label[0]", "my***", "hex", "canary")}});
  const Policy p = builtin("data-leaks");
  const Evaluation e = evaluate(p, r, {});
  std::size_t dns = 0;
  std::size_t sni = 0;
  for (const auto& f : e.findings) {
    if (f.rule->id == "data-leaks.dns-name") {
      ++dns;
      CHECK(f.message.find("nbswy3dp.exfil.example.com") != std::string::npos);
      CHECK(f.message.find("in dns.label[0] (base32)") != std::string::npos);
    }
    if (f.rule->id == "data-leaks.server-name") {
      ++sni;
      CHECK(f.message.find("in sni.label[0] (hex)") != std::string::npos);
    }
  }
  CHECK(dns == 1);
  CHECK(sni == 1);
}

TEST_CASE("content fields: a destination rule cannot read them; request, flow and DNS rules can") {
  CHECK_FALSE(lang::field_visible(lang::Scope::kContent, lang::Scope::kDestination));
  CHECK_FALSE(lang::field_visible(lang::Scope::kContent, lang::Scope::kCapture));
  CHECK(lang::field_visible(lang::Scope::kContent, lang::Scope::kRequest));
  CHECK(lang::field_visible(lang::Scope::kContent, lang::Scope::kFlow));
  CHECK(lang::field_visible(lang::Scope::kContent, lang::Scope::kDns));
  load::LoadOptions options;
  options.allow_includes = false;
  auto loaded = load::load_policy_text(R"yaml(rules:
  - id: t.bad
    title: t
    severity: low
    scope: destination
    condition: canary.found
    message: m
)yaml",
                                       "test.yaml", options);
  CHECK_FALSE(loaded.ok());
}

}  // TEST_SUITE
}  // namespace flowaudit::rules::eval
