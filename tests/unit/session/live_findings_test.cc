// Live capture prints rule findings while it runs (session/live_findings): on real captures, the
// flow findings (rule and destination) found on the settled flows, taken a few at a time as a
// capture would on its ticks and evaluated one flow at a time, are exactly those of the final
// report; each is named after the first flow that broke the rule there; and a new destination
// meets the destination rules.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <utility>

#include "analysis/audit.h"
#include "analysis/enrich/enrichment.h"
#include "capture/pcap_file_source.h"
#include "rules/eval/evaluator.h"
#include "rules/load/loader.h"
#include "session/live_findings.h"

namespace flowaudit::session {
namespace {

using Found = std::set<std::pair<std::string, std::string>>;  // rule id, destination ip:port/proto

analysis::enrich::Enricher& enricher() {
  static analysis::enrich::Enricher e;  // opened once for the whole run
  static const bool opened = [] {
    ::setenv("FLOWAUDIT_DATA_DIR", (std::string(FLOWAUDIT_SOURCE_DIR) + "/data").c_str(), 0);  // the catalog
    std::vector<std::string> errors, warnings;
    const std::string geo = std::string(FLOWAUDIT_SOURCE_DIR) + "/tests/data/geo/";
    return e.open({geo + "fixture-country.mmdb", geo + "fixture-asn.mmdb"}, {}, errors, warnings);
  }();
  REQUIRE(opened);
  return e;
}

std::string where(const core::IpAddress& ip, std::uint16_t port, std::uint8_t protocol) {
  return ip.to_string() + ":" + std::to_string(port) + "/" + std::to_string(protocol);
}
std::string where(const analysis::flow::Destination& d) { return where(d.ip, d.port, d.protocol); }

// The final report's flow findings (not waived), from the whole-audit evaluation.
Found final_flow_findings(const rules::Policy& p, analysis::AuditResult& r) {
  for (auto& d : r.destinations) d.enrichment = enricher().enrich(d);
  rules::eval::EvalOptions options;
  options.fail_on = std::nullopt;
  Found out;
  for (const auto& f : rules::eval::evaluate(p, r, options).findings) {
    if (f.rule->scope != rules::lang::Scope::kFlow || !f.destination || f.waiver != nullptr) continue;
    out.emplace(f.rule->id, where(r.destinations[*f.destination]));
  }
  return out;
}

// What live capture tells about flows settled together; each finding's name is its first flow's.
void add_live_findings(const rules::Policy& p, analysis::AuditResult& settled, Found& out) {
  for (const auto& f : settled_flow_findings(p, settled, enricher(), {})) {
    // Named after a flow of the batch to that destination, read without a search.
    const bool named_after_a_flow = std::any_of(settled.flows.begin(), settled.flows.end(), [&](const auto& flow) {
      const std::uint8_t server = flow.server();
      return where(*f.destination) == where(flow.key.addr[server], flow.key.port[server], flow.key.protocol) &&
             flow.name.hostname == f.name;
    });
    CHECK(named_after_a_flow);
    out.emplace(f.rule->id, where(*f.destination));
  }
}

TEST_CASE("flow findings on settled flows during a capture equal the final report's") {
  rules::load::LoadOptions options;
  options.builtin_dir = std::string(FLOWAUDIT_SOURCE_DIR) + "/data/policies";
  auto loaded = rules::load::load_policy({"default"}, options);
  REQUIRE(loaded.ok());
  for (const char* file : {"weak-tls.pcap", "http-post.pcap", "ech-quic.pcap", "trackers-mix.pcap"}) {
    CAPTURE(file);
    analysis::Auditor auditor{analysis::AuditOptions{}};
    auditor.track_new_destinations(true);
    auto opened = capture::open_capture_file(std::string(FLOWAUDIT_SOURCE_DIR) + "/tests/data/" + file);
    REQUIRE(opened.source);
    // Ticks every 20 packets, each taking the flows that began more than 50 ms (capture time) before.
    Found live;
    std::size_t settled = 0, taken = 0;
    capture::RawPacket raw;
    core::TimestampNs last = 0;
    while (opened.source->next(raw) == capture::ReadStatus::kPacket) {
      auditor.process(raw, 0);
      last = raw.ts_ns;
      if (++taken % 20 == 0) {
        auto r = auditor.take_settled_flows(last, 50'000'000, false);
        settled += r.flows.size();
        add_live_findings(loaded.policy, r, live);
      }
    }
    auto rest = auditor.take_settled_flows(last, 0, false);  // at stop: everything left
    settled += rest.flows.size();
    add_live_findings(loaded.policy, rest, live);
    CHECK(auditor.take_settled_flows(last, 0, false).flows.empty());  // each flow handed out once

    auto final_result = auditor.finish({opened.source->info()});
    CHECK(settled == final_result.flows.size());
    const Found final_found = final_flow_findings(loaded.policy, final_result);
    CHECK(live == final_found);
    if (std::string(file) == "weak-tls.pcap") CHECK(final_found.size() >= 3);  // the test says something
  }
}

TEST_CASE("a new destination meets the destination rules as far as it is known") {
  rules::load::LoadOptions options;
  options.builtin_dir = std::string(FLOWAUDIT_SOURCE_DIR) + "/data/policies";
  auto loaded = rules::load::load_policy({"default"}, options);
  REQUIRE(loaded.ok());
  analysis::NewDestination d;
  d.ip = *core::IpAddress::parse("3.173.21.63");
  d.port = 443;
  d.protocol = 6;
  d.hostname = "chat.deepseek.com";
  d.hostname_source = "tls-sni";
  const auto e = enricher().describe(d.ip, d.hostname);
  REQUIRE(e.service != nullptr);
  std::set<std::string> ids;
  for (const rules::Rule* rule : new_destination_findings(loaded.policy, d, e, {})) ids.insert(rule->id);
  CHECK(ids.count("china-transfer.operator") == 1);
  d.hostname = "example.org";
  ids.clear();
  for (const rules::Rule* rule : new_destination_findings(loaded.policy, d, enricher().describe(d.ip, d.hostname), {})) {
    ids.insert(rule->id);
  }
  CHECK(ids.count("china-transfer.operator") == 0);
}

}  // namespace
}  // namespace flowaudit::session
