#include "session/live_findings.h"

namespace flowaudit::session {
namespace {

// Capture fields are known at the end of a capture: while it runs they read as an empty one's.
const analysis::AuditResult& no_capture() {
  static const analysis::AuditResult empty;
  return empty;
}

}  // namespace

std::vector<const rules::Rule*> new_destination_findings(const rules::Policy& policy,
                                                         const analysis::NewDestination& d,
                                                         const analysis::enrich::DestinationEnrichment& e,
                                                         const rules::eval::EvalOptions& options) {
  analysis::DestinationRow dest;
  dest.ip = d.ip;
  dest.port = d.port;
  dest.protocol = d.protocol;
  dest.hostname = d.hostname;
  dest.hostname_source = d.hostname_source;
  if (!d.via_type.empty()) {
    dest.via_type = d.via_type;
    dest.via_ip = d.via_ip;
    dest.via_port = d.via_port;
    dest.address_known = d.address_known();
    dest.requested_host = d.requested_host;
  }
  dest.flows = 1;
  dest.first_ns = dest.last_ns = d.first_ns;
  dest.enrichment = e;
  rules::eval::RecordEvaluator evaluator(policy, no_capture(), options);
  evaluator.destination(dest, 0);
  std::vector<const rules::Rule*> out;
  for (const auto& f : evaluator.finish().findings) {
    if (f.rule->scope == rules::lang::Scope::kDestination && f.waiver == nullptr) out.push_back(f.rule);
  }
  return out;
}

std::vector<SettledFlowFinding> settled_flow_findings(const rules::Policy& policy, analysis::AuditResult& settled,
                                                      analysis::enrich::Enricher& enricher,
                                                      const rules::eval::EvalOptions& options) {
  std::vector<SettledFlowFinding> out;
  if (settled.flows.empty()) return out;
  for (auto& d : settled.destinations) d.enrichment = enricher.describe(d.ip, d.hostname);
  rules::eval::RecordEvaluator evaluator(policy, no_capture(), options);
  const auto destination_of = analysis::flow_destinations(settled);
  for (std::size_t i = 0; i < settled.flows.size(); ++i) {
    const std::size_t d = destination_of[i];
    if (d != analysis::kNoDestination) evaluator.flow(settled.flows[i], i, settled.destinations[d], d);
  }
  for (const auto& f : evaluator.finish().findings) {
    if (f.rule->scope != rules::lang::Scope::kFlow || f.waiver != nullptr || !f.destination || !f.flow) continue;
    out.push_back({f.rule, &settled.destinations[*f.destination], settled.flows[*f.flow].name.hostname});
  }
  return out;
}

}  // namespace flowaudit::session
