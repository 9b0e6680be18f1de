// Live capture prints flow-rule findings while it runs, from Auditor::take_settled_flows: on real
// captures, the flow findings (rule and destination) found on the settled flows, taken a few at a
// time as a capture would on its ticks, are exactly those of the final report.
#include <doctest/doctest.h>

#include <set>
#include <utility>

#include "analysis/audit.h"
#include "analysis/enrich/enrichment.h"
#include "capture/pcap_file_source.h"
#include "rules/eval/evaluator.h"
#include "rules/load/loader.h"

namespace flowaudit::rules::eval {
namespace {

using Found = std::set<std::pair<std::string, std::string>>;  // rule id, destination ip:port/proto

analysis::enrich::Enricher& enricher() {
  static analysis::enrich::Enricher e;  // the catalog outlives every result
  static const bool opened = [] {
    std::vector<std::string> errors, warnings;
    const std::string geo = std::string(FLOWAUDIT_SOURCE_DIR) + "/tests/data/geo/";
    return e.open({geo + "fixture-country.mmdb", geo + "fixture-asn.mmdb"}, {}, errors, warnings);
  }();
  REQUIRE(opened);
  return e;
}

void add_flow_findings(const Policy& p, analysis::AuditResult& r, Found& out) {
  for (auto& d : r.destinations) d.enrichment = enricher().enrich(d);
  EvalOptions options;
  options.fail_on = std::nullopt;
  for (const auto& f : evaluate(p, r, options).findings) {
    if (f.rule->scope != lang::Scope::kFlow || !f.destination) continue;
    const auto& d = r.destinations[*f.destination];
    out.emplace(f.rule->id, d.ip.to_string() + ":" + std::to_string(d.port) + "/" + std::to_string(d.protocol));
  }
}

TEST_CASE("flow findings on settled flows during a capture equal the final report's") {
  load::LoadOptions options;
  options.builtin_dir = std::string(FLOWAUDIT_SOURCE_DIR) + "/data/policies";
  auto loaded = load::load_policy({"default"}, options);
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
        add_flow_findings(loaded.policy, r, live);
      }
    }
    auto rest = auditor.take_settled_flows(last, 0, false);  // at stop: everything left
    settled += rest.flows.size();
    add_flow_findings(loaded.policy, rest, live);
    CHECK(auditor.take_settled_flows(last, 0, false).flows.empty());  // each flow handed out once

    auto final_result = auditor.finish({opened.source->info()});
    CHECK(settled == final_result.flows.size());
    Found final_found;
    add_flow_findings(loaded.policy, final_result, final_found);
    CHECK(live == final_found);
    if (std::string(file) == "weak-tls.pcap") CHECK(final_found.size() >= 3);  // the test says something
  }
}

}  // namespace
}  // namespace flowaudit::rules::eval
