// The evaluator's shortcuts must never change an answer: on real captures, every field a record
// says it lacks really has no value (so skipping rules that need it is safe), and the findings of
// the evaluator (skips, memo) equal a naive evaluation of every rule on every record.
#include <doctest/doctest.h>

#include <map>

#include "analysis/audit.h"
#include "rules/eval/evaluator.h"
#include "rules/eval/records.h"
#include "rules/load/loader.h"
#include "unit/session/audited.h"

namespace flowaudit::rules::eval {
namespace {

analysis::AuditResult audit(const std::vector<std::string>& files) {
  std::vector<std::string> paths;
  for (const auto& f : files) paths.push_back(std::string(FLOWAUDIT_SOURCE_DIR) + "/tests/data/" + f);
  return test::audited(paths);
}

lang::FieldSet actual(const lang::Record& record, lang::Scope scope) {
  lang::FieldSet out;
  for (const auto& info : lang::all_fields()) {
    if (lang::field_visible(info.scope, scope) && record.get(info.id)) out |= lang::field_bit(info.id);
  }
  return out;
}

const std::vector<std::string> kCaptures{"deepseek-session.pcapng", "tls-variants.pcap", "weak-tls.pcap",
                                         "blind-spots.pcap",         "quic-v1.pcap",      "dns-records.pcap",
                                         "http-post.pcap",           "trackers-mix.pcap", "ech-quic.pcap"};

}  // namespace

TEST_SUITE("rules.eval") {

TEST_CASE("records never claim a field is missing when it has a value") {
  const auto r = audit(kCaptures);
  CaptureRecord capture(r);
  DestinationRecord dest(capture);
  FlowRecord flow(dest);
  DnsQueryRecord dns(capture);
  CHECK((actual(capture, lang::Scope::kCapture) & ~capture.presence()).none());
  std::map<std::size_t, lang::FieldSet> dest_presence;
  for (std::size_t i = 0; i < r.destinations.size(); ++i) {
    dest.bind(r.destinations[i]);
    dest_presence[i] = dest.presence();
    CHECK((actual(dest, lang::Scope::kDestination) & ~dest_presence[i]).none());
  }
  std::size_t checked = 0;
  for (std::size_t i = 0; i < r.flows.size(); ++i) {
    const auto& f = r.flows[i];
    for (std::size_t d = 0; d < r.destinations.size(); ++d) {
      const auto& dd = r.destinations[d];
      if (dd.ip == f.key.addr[f.server()] && dd.port == f.key.port[f.server()] && dd.protocol == f.key.protocol) {
        dest.bind(r.destinations[d]);
        flow.bind(r.flows[i]);
        INFO("flow " << f.id);
        CHECK((actual(flow, lang::Scope::kFlow) & ~flow.presence(dest_presence[d])).none());
        ++checked;
      }
    }
  }
  CHECK(checked == r.flows.size());
  for (std::size_t i = 0; i < r.dns.size(); ++i) {
    dns.bind(r.dns[i]);
    CHECK((actual(dns, lang::Scope::kDns) & ~dns.presence()).none());
  }
}

TEST_CASE("the evaluator's findings equal a naive evaluation of every rule on every record") {
  const auto r = audit(kCaptures);
  load::LoadOptions options;
  options.builtin_dir = std::string(FLOWAUDIT_SOURCE_DIR) + "/data/policies";
  auto loaded = load::load_policy({"default"}, options);
  REQUIRE(loaded.ok());
  const Policy& p = loaded.policy;
  EvalOptions eval_options;
  eval_options.fail_on = std::nullopt;
  const Evaluation e = evaluate(p, r, eval_options);

  // Naive: records matched per rule (flows and DNS records one by one, no skipping, no memo).
  std::map<std::string, std::uint64_t> naive;
  CaptureRecord capture(r);
  DestinationRecord dest(capture);
  FlowRecord flow(dest);
  DnsQueryRecord dns(capture);
  RequestRecord request(flow);
  for (const Rule& rule : p.rules) {
    if (!rule.enabled) continue;
    std::uint64_t n = 0;
    switch (rule.scope) {
      case lang::Scope::kDestination:
        for (std::size_t d = 0; d < r.destinations.size(); ++d) {
          dest.bind(r.destinations[d]);
          n += rule.predicate->evaluate(dest) ? r.destinations[d].flows : 0;
        }
        break;
      case lang::Scope::kFlow:
        for (std::size_t i = 0; i < r.flows.size(); ++i) {
          const auto& f = r.flows[i];
          for (std::size_t d = 0; d < r.destinations.size(); ++d) {
            const auto& dd = r.destinations[d];
            if (dd.ip == f.key.addr[f.server()] && dd.port == f.key.port[f.server()] &&
                dd.protocol == f.key.protocol) {
              dest.bind(r.destinations[d]);
              flow.bind(r.flows[i]);
              n += rule.predicate->evaluate(flow) ? 1 : 0;
            }
          }
        }
        break;
      case lang::Scope::kDns:
        for (std::size_t i = 0; i < r.dns.size(); ++i) {
          dns.bind(r.dns[i]);
          n += rule.predicate->evaluate(dns) ? 1 : 0;
        }
        break;
      case lang::Scope::kCapture: n = rule.predicate->evaluate(capture) ? r.flows.size() : 0; break;
      case lang::Scope::kRequest:  // a flow counts once if any of its requests matches
        for (std::size_t i = 0; i < r.flows.size(); ++i) {
          const auto& f = r.flows[i];
          if (!f.details || !f.details->requests) continue;
          for (std::size_t d = 0; d < r.destinations.size(); ++d) {
            const auto& dd = r.destinations[d];
            if (dd.ip != f.key.addr[f.server()] || dd.port != f.key.port[f.server()] || dd.protocol != f.key.protocol) continue;
            dest.bind(r.destinations[d]);
            flow.bind(r.flows[i]);
            bool any = false;
            for (const auto& ex : f.details->requests->list) {
              request.bind(ex, f.details->requests->scheme);
              any = any || rule.predicate->evaluate(request);
            }
            n += any ? 1 : 0;
          }
        }
        break;
      case lang::Scope::kContent: FAIL("kContent is not a rule scope"); break;
    }
    naive[rule.id] = n;
  }
  std::map<std::string, std::uint64_t> evaluated;
  for (const auto& f : e.findings) evaluated[f.rule->id] += f.evidence.flows;
  std::size_t fired = 0;
  for (const auto& rule_count : naive) {  // no structured binding: doctest's CAPTURE/INFO lambda cannot take one (clang before 16)
    const auto& id = rule_count.first;
    const auto& n = rule_count.second;
    INFO("rule " << id);
    CHECK(evaluated[id] == n);
    fired += n != 0 ? 1 : 0;
  }
  CHECK(fired >= 20);  // the captures make most built-in rules fire
}

}  // TEST_SUITE
}  // namespace flowaudit::rules::eval
