#include "report/findings_report.h"

#include <fmt/format.h>

#include "core/escape.h"
#include "core/format.h"
#include "core/timestamp.h"
#include "report/text_report.h"
#include "rules/eval/records.h"

namespace flowaudit::report {
namespace {

// ANSI colours by severity: critical and high red, medium yellow, low cyan, info dim.
std::string paint(rules::Severity severity, std::string_view text) {
  const char* code = "2";
  switch (severity) {
    case rules::Severity::kCritical: code = "1;31"; break;
    case rules::Severity::kHigh: code = "31"; break;
    case rules::Severity::kMedium: code = "33"; break;
    case rules::Severity::kLow: code = "36"; break;
    case rules::Severity::kInfo: code = "2"; break;
  }
  return fmt::format("\033[{}m{}\033[0m", code, text);
}

}  // namespace

void write_verdict_json(JsonWriter& w, const PolicyOutcome* outcome) {
  if (outcome == nullptr || outcome->evaluation == nullptr) {
    w.field("verdict", "not-evaluated");
    w.null_field("fail_on");
    return;
  }
  w.field("verdict", outcome->evaluation->verdict());
  w.field("fail_on", outcome->fail_on);
}

void write_finding_counts_json(JsonWriter& w, const PolicyOutcome* outcome) {
  if (outcome == nullptr || outcome->evaluation == nullptr) {
    w.null_field("findings");
    return;
  }
  const auto& e = *outcome->evaluation;
  w.key("findings");
  w.begin_object();
  for (std::size_t s = rules::kSeverityCount; s-- > 0;)
    w.field(rules::severity_name(static_cast<rules::Severity>(s)), e.counts[s]);
  w.field("waived", e.waived);
  w.field("not_listed", e.dropped);
  w.end_object();
}

void write_policy_json(JsonWriter& w, const analysis::AuditResult&, const PolicyOutcome* outcome) {
  if (outcome == nullptr || outcome->policy == nullptr) {
    w.null_field("policy");
    return;
  }
  const rules::Policy& p = *outcome->policy;
  w.key("policy");
  w.begin_object();
  w.key("files");
  w.begin_array();
  for (const auto& f : p.files) {
    w.begin_object();
    w.field("name", f.name);
    w.field("path", f.path);
    w.field("rules", static_cast<std::uint64_t>(f.rules));
    w.end_object();
  }
  w.end_array();
  std::uint64_t enabled = 0;
  for (const auto& r : p.rules) enabled += r.enabled ? 1 : 0;
  w.field("rules", static_cast<std::uint64_t>(p.rules.size()));
  w.field("rules_enabled", enabled);
  w.field("rules_evaluated",
          static_cast<std::uint64_t>(outcome->evaluation != nullptr ? outcome->evaluation->rules_evaluated : 0));
  w.key("waivers");
  w.begin_array();
  for (const auto& wv : p.waivers) {
    w.begin_object();
    w.field("rule", wv.rule);
    w.string_or_null("condition", wv.condition);
    w.field("reason", wv.reason);
    w.field("expires", rules::format_date(wv.expires));
    w.field("expired", wv.expired);
    w.field("file", wv.origin.file);
    w.field("line", wv.origin.line);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

void write_findings_json(JsonWriter& w, const analysis::AuditResult& r, const PolicyOutcome* outcome) {
  w.key("findings");
  w.begin_array();
  if (outcome != nullptr && outcome->evaluation != nullptr) {
    for (const auto& f : outcome->evaluation->findings) {
      const rules::Rule& rule = *f.rule;
      w.begin_object();
      w.field("rule", rule.id);
      w.field("severity", rules::severity_name(rule.severity));
      w.field("title", rule.title);
      w.field("message", f.message);
      w.field("scope", rules::lang::scope_name(rule.scope));
      w.field("pack", rule.pack);
      if (f.destination && *f.destination < r.destinations.size()) {
        const auto& d = r.destinations[*f.destination];
        w.key("destination");
        w.begin_object();
        w.string_or_null("hostname", d.hostname);
        w.field("ip", d.ip.to_string());
        w.field("port", d.port);
        w.field("transport", rules::eval::transport_name(d.protocol));
        w.end_object();
      } else {
        w.null_field("destination");
      }
      const auto& e = f.evidence;
      w.key("evidence");
      w.begin_object();
      w.field("flows", e.flows);
      w.key("flow_ids");
      w.begin_array();
      for (const auto id : e.flow_ids) w.value(id);
      w.end_array();
      w.field("bytes_out", e.bytes_out);
      w.field("bytes_in", e.bytes_in);
      timestamp_field(w, "first_seen", e.first_seen, e.first_seen != 0);
      timestamp_field(w, "last_seen", e.last_seen, e.last_seen != 0);
      w.string_or_null("hostname_source", e.hostname_source);
      w.string_or_null("dns_query", e.dns_query);
      w.end_object();
      w.string_or_null("description", rule.description);
      w.string_or_null("remediation", rule.remediation);
      w.key("references");
      w.begin_array();
      for (const auto& ref : rule.references) {
        w.begin_object();
        w.string_or_null("title", ref.title);
        w.field("url", ref.url);
        w.end_object();
      }
      w.end_array();
      string_array(w, "tags", rule.tags);
      if (f.waiver != nullptr) {
        w.key("waived");
        w.begin_object();
        w.field("reason", f.waiver->reason);
        w.field("expires", rules::format_date(f.waiver->expires));
        w.end_object();
      } else {
        w.null_field("waived");
      }
      w.end_object();
    }
  }
  w.end_array();
}

std::string render_findings_text(const analysis::AuditResult&, const PolicyOutcome* outcome, bool color) {
  std::string out;
  if (outcome == nullptr || outcome->evaluation == nullptr) return out;
  const auto& e = *outcome->evaluation;
  auto it = std::back_inserter(out);
  std::uint64_t total = 0;
  for (const auto c : e.counts) total += c;
  fmt::format_to(it, "Findings: {}{}\n", total, e.waived != 0 ? fmt::format(" (and {} waived)", e.waived) : "");
  // Grouped by rule (findings are sorted by severity, then rule): the rule's title and first
  // reference once, then one line per destination with its evidence.
  const rules::Rule* current = nullptr;
  bool current_waived = false;
  for (const auto& f : e.findings) {
    const rules::Rule& rule = *f.rule;
    const bool waived = f.waiver != nullptr;
    if (&rule != current || waived != current_waived) {
      current = &rule;
      current_waived = waived;
      std::string severity(rules::severity_name(rule.severity));
      for (auto& c : severity) c = static_cast<char>(c - ('a' <= c && c <= 'z' ? 32 : 0));
      out += '\n';
      const std::string label = fmt::format("{:<8}", waived ? "waived" : severity);
      fmt::format_to(it, "  {} {}  [{}]{}\n", color && !waived ? paint(rule.severity, label) : label, rule.title, rule.id,
                     waived ? fmt::format(" ({}, until {})", f.waiver->reason, rules::format_date(f.waiver->expires))
                            : std::string());
      if (!rule.references.empty()) {
        const auto& ref = rule.references.front();
        fmt::format_to(it, "           see {}{}\n", ref.title.empty() ? "" : ref.title + ": ", ref.url);
      }
    }
    fmt::format_to(it, "    - {}\n", core::escape_terminal(f.message));
    const bool dns = rule.scope == rules::lang::Scope::kDns;
    std::string evidence = fmt::format("{} {}", f.evidence.flows,
                                       dns ? (f.evidence.flows == 1 ? "query" : "queries")
                                           : (f.evidence.flows == 1 ? "flow" : "flows"));
    if (f.evidence.bytes_out != 0 || f.evidence.bytes_in != 0) {
      evidence += fmt::format(", sent {}, received {}", core::human_bytes(f.evidence.bytes_out),
                              core::human_bytes(f.evidence.bytes_in));
    }
    if (!f.evidence.hostname_source.empty()) evidence += ", name from " + f.evidence.hostname_source;
    if (f.evidence.first_seen != 0) evidence += ", first at " + core::format_iso8601(f.evidence.first_seen);
    fmt::format_to(it, "      {}\n", evidence);
  }
  out += '\n';
  const std::string verdict = e.failed ? (color ? "\033[1;31mFAIL\033[0m" : "FAIL") : (color ? "\033[1;32mpass\033[0m" : "pass");
  fmt::format_to(it, "Verdict: {} (--fail-on {}", verdict, outcome->fail_on);
  std::string counts;
  for (std::size_t s = rules::kSeverityCount; s-- > 0;) {
    if (e.counts[s] == 0) continue;
    counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", e.counts[s],
                          rules::severity_name(static_cast<rules::Severity>(s)));
  }
  out += counts.empty() ? "; no findings" : "; " + counts;
  if (e.waived != 0) out += fmt::format("; {} waived", e.waived);
  out += ")\n";
  return out;
}

}  // namespace flowaudit::report
