// Fuzz target: a policy file (YAML) -> load_policy_text -> evaluate on a small fixed audit result.
//
// Checks: the loader never throws or crashes whatever the YAML, every error starts with the file
// name and a position and is followed by the source line and a caret, errors are capped; a policy
// that loads evaluates without throwing (with each of its allowlists too), its findings point at
// rules of the policy (or the allowlist's), destinations are in range and the verdict agrees with
// the counts.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "analysis/app/http/http1_connection.h"
#include "analysis/audit.h"
#include "analysis/packet/transport.h"
#include "fuzz_check.h"
#include "rules/eval/evaluator.h"
#include "rules/load/loader.h"

namespace {

using namespace flowaudit;

core::IpAddress ip(const char* text) { return *core::IpAddress::parse(text); }

// Five flows with something in every scope: TLS with SNI, plaintext HTTP, QUIC, DNS, unknown UDP.
const analysis::AuditResult& fixed_result() {
  static const analysis::AuditResult result = [] {
    analysis::AuditResult r;
    auto add = [&](const char* server, std::uint16_t port, std::uint8_t proto, analysis::app::AppProtocol app) {
      analysis::flow::Flow f;
      f.id = r.flows.size() + 1;
      f.key.addr[0] = ip("192.168.1.23");
      f.key.addr[1] = ip(server);
      f.key.port[0] = static_cast<std::uint16_t>(50000 + f.id);
      f.key.port[1] = port;
      f.key.protocol = proto;
      f.from[0].bytes = 1000 * f.id;
      f.from[0].first_ns = 1'717'236'000'000'000'000 + f.id;
      f.from[1].bytes = 500;
      f.last_seen = f.from[0].first_ns + 1000;
      // Valid until the next flow is added (the rows move as the vector grows).
      auto& d = r.flows.emplace_back(f).details.emplace();
      d.app = app;
      return &d;
    };
    auto* tls = add("3.173.21.63", 443, analysis::packet::kProtoTcp, analysis::app::AppProtocol::kTls);
    tls->tls = std::make_unique<analysis::app::TlsDetails>();
    tls->tls->client_hello = tls->tls->server_hello = tls->tls->has_sni = true;
    tls->tls->sni = "chat.deepseek.com";
    tls->tls->version = 0x0301;
    tls->tls->cipher = 0x000a;
    tls->tls->alpn_offered = std::string_view("h2\0http/1.1", 11);
    tls->tls->ja3 = "00112233445566778899aabbccddeeff";
    r.flows.back().name.hostname = "chat.deepseek.com";
    r.flows.back().name.source = "tls-sni";
    auto* http = add("43.109.38.198", 80, analysis::packet::kProtoTcp, analysis::app::AppProtocol::kHttp);
    http->http = std::make_unique<analysis::app::HttpDetails>();
    http->http->method = "POST";
    http->http->host = "gator.volces.com";
    http->http->path = "/service/2/device_register/";
    // A reconstructed request with what left in it (pii.*, canary.*, prompt.*; issue 17).
    http->requests = std::make_unique<analysis::app::HttpExchanges>();
    http->requests->scheme = "http";
    auto& e = http->requests->list.emplace_back();
    e.method = "POST";
    e.authority = "gator.volces.com";
    e.path = "/service/2/device_register/";
    e.findings = {{"email", "body.user.email", "a***@example.com", "", "email"},
                  {"canary", "body.user.em", "il***", "sha256(lower(trim)) as hex", "canary"},
                  {"prompt", "body.prompt", "12 bytes", "", "chat-endpoint"}};
    e.prompt_bytes = 12;
    e.chat_service = "deepseek";
    auto* quic = add("142.250.74.35", 443, analysis::packet::kProtoUdp, analysis::app::AppProtocol::kQuic);
    quic->quic = std::make_unique<analysis::app::QuicDetails>();
    quic->quic->version_name = "1";
    quic->blind_spot = analysis::app::BlindSpot::kQuicUndecryptable;
    add("192.168.1.1", 53, analysis::packet::kProtoUdp, analysis::app::AppProtocol::kDns);
    add("47.246.2.77", 40001, analysis::packet::kProtoUdp, analysis::app::AppProtocol::kUnknown)->blind_spot =
        analysis::app::BlindSpot::kUdpUnknown;
    analysis::app::DnsRecord q;
    q.flow_id = 4;
    q.server = ip("192.168.1.1");
    q.transport = "udp";
    q.query = "chat.deepseek.com";
    q.qtype = "A";
    q.answers = {"d2vmr3bhtjgxmt.cloudfront.net", "3.173.21.63"};
    r.dns.push_back(q);
    q.query = "6d792e656d61696c.t.example.com";
    r.dns.push_back(q);
    r.name_findings.push_back({"dns", q.query, {{"canary", "dns.label[0]", "my***", "hex", "canary"}}});
    r.name_findings.push_back({"sni", "chat.deepseek.com", {{"device-id", "sni.label[0]", "ch***", "", "x"}}});
    r.destinations = analysis::destinations_of(r.flows);
    r.packets = 50;
    r.coverage.flows = r.flows.size();
    return r;
  }();
  return result;
}

void check_evaluation(const rules::Policy& policy, const rules::eval::Evaluation& e, const std::string& app) {
  const auto& r = fixed_result();
  std::uint64_t listed_unwaived = 0;
  for (const auto& f : e.findings) {
    FUZZ_CHECK(f.rule != nullptr);
    const bool own = f.rule >= policy.rules.data() && f.rule < policy.rules.data() + policy.rules.size();
    FUZZ_CHECK(own || f.rule->id == "allowlist." + app);
    FUZZ_CHECK(!f.destination || *f.destination < r.destinations.size());
    FUZZ_CHECK(f.evidence.flow_ids.size() <= rules::eval::kMaxEvidenceFlows);
    listed_unwaived += f.waiver == nullptr ? 1 : 0;
  }
  std::uint64_t counted = 0;
  bool high = false;
  for (std::size_t s = 0; s < rules::kSeverityCount; ++s) {
    counted += e.counts[s];
    if (s >= static_cast<std::size_t>(rules::Severity::kHigh) && e.counts[s] != 0) high = true;
  }
  FUZZ_CHECK(counted >= listed_unwaived);
  FUZZ_CHECK(e.failed == high);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  rules::load::LoadOptions options;
  options.allow_includes = false;  // no file system access from fuzz input
  options.today = 20261129;
  const auto loaded = rules::load::load_policy_text(text, "fuzz.yaml", options);
  FUZZ_CHECK(loaded.errors.size() <= rules::load::kMaxErrors);
  for (const auto& error : loaded.errors) {
    FUZZ_CHECK(error.rfind("fuzz.yaml", 0) == 0 || error.rfind("too many errors", 0) == 0);
    const std::size_t newlines = static_cast<std::size_t>(std::count(error.begin(), error.end(), '\n'));
    FUZZ_CHECK(newlines == 0 || newlines == 2);  // the message, or the message, the line and a caret
  }
  if (!loaded.ok()) return 0;
  rules::eval::EvalOptions eval_options;
  const auto e = rules::eval::evaluate(loaded.policy, fixed_result(), eval_options);
  check_evaluation(loaded.policy, e, "");
  for (const auto& a : loaded.policy.allowlists) {
    eval_options.app = a.app;
    check_evaluation(loaded.policy, rules::eval::evaluate(loaded.policy, fixed_result(), eval_options), a.app);
  }
  return 0;
}
