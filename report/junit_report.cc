#include "report/junit_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/format.h"
#include "core/timestamp.h"
#include "core/utf8.h"
#include "report/findings_report.h"
#include "report/text_report.h"
#include "rules/eval/records.h"

namespace flowaudit::report {
namespace {

std::string xml(std::string_view text, bool attribute = true) {
  std::string out;
  append_xml_escaped(out, text, attribute);
  return out;
}

std::string endpoint(const core::IpAddress& ip, std::uint16_t port) {
  return ip.is_v6() ? fmt::format("[{}]:{}", ip.to_string(), port) : fmt::format("{}:{}", ip.to_string(), port);
}

// One finding as a few lines of plain text: message, destination, evidence. The wire strings in it
// are made one visible line each (core::escape_terminal: a CR/LF in an SNI must not forge a line),
// and the whole text is XML-escaped where it is written.
std::string describe(const analysis::AuditResult& r, const rules::eval::Finding& f) {
  const auto one_line = [](std::string_view s) { return core::escape_terminal(s); };
  std::string out = "- " + one_line(f.message) + "\n";
  if (f.destination && *f.destination < r.destinations.size()) {
    const auto& d = r.destinations[*f.destination];
    const std::string where = fmt::format("{}/{}", endpoint(d.ip, d.port), rules::eval::transport_name(d.protocol));
    out += "  destination: " + (d.hostname.empty() ? where : one_line(d.hostname) + " (" + where + ")") + "\n";
  } else if (!f.evidence.dns_query.empty()) {
    out += "  DNS query: " + one_line(f.evidence.dns_query) + "\n";
  }
  const auto& e = f.evidence;
  const bool dns = f.rule->scope == rules::lang::Scope::kDns;
  out += fmt::format("  evidence: {} {}", e.flows, dns ? (e.flows == 1 ? "query" : "queries") : (e.flows == 1 ? "flow" : "flows"));
  if (e.bytes_out != 0 || e.bytes_in != 0) {
    out += fmt::format(", sent {}, received {}", core::human_bytes(e.bytes_out), core::human_bytes(e.bytes_in));
  }
  if (!e.hostname_source.empty()) out += ", name from " + e.hostname_source;
  if (e.first_seen != 0) out += ", first seen " + core::format_iso8601(e.first_seen);
  if (!e.flow_ids.empty()) {
    out += ", flow ids";
    for (std::size_t i = 0; i < e.flow_ids.size(); ++i) out += fmt::format("{}{}", i == 0 ? " " : ",", e.flow_ids[i]);
  }
  out += "\n";
  if (f.waiver != nullptr) {
    out += fmt::format("  waived until {}: {}\n", rules::format_date(f.waiver->expires), f.waiver->reason);
  }
  return out;
}

struct Case {
  const rules::Rule* rule = nullptr;
  std::vector<const rules::eval::Finding*> failing;  // not waived, at or above --fail-on
  std::vector<const rules::eval::Finding*> other;    // below --fail-on, or waived
};

struct Suite {
  std::string pack;
  std::vector<Case> cases;
  std::size_t failures = 0;
};

void write_no_policy(std::string& out) {
  out += "<testsuites name=\"flowaudit\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"1\">\n";
  out += "  <testsuite name=\"flowaudit policy: none\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"1\">\n";
  out += "    <testcase classname=\"flowaudit\" name=\"no policy evaluated\">\n";
  out += "      <skipped message=\"run without a policy (--policy none)\"/>\n";
  out += "    </testcase>\n  </testsuite>\n</testsuites>\n";
}

}  // namespace

// Messages come redacted from the evaluation; the options have nothing left to change here.
void write_junit(const ReportInput& input, const ReportOptions& /*options*/, Output& out) {
  const analysis::AuditResult& r = input.result;
  const PolicyOutcome* outcome = input.outcome;
  std::string xml_out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  if (outcome == nullptr || outcome->policy == nullptr || outcome->evaluation == nullptr) {
    write_no_policy(xml_out);
    out.write(xml_out);
    return;
  }
  const rules::eval::Evaluation& e = *outcome->evaluation;
  // --fail-on as given; "never" (or anything unparsable, which the CLI rejects earlier) fails nothing.
  const std::optional<rules::Severity> fail_on = rules::parse_severity(outcome->fail_on);

  // Suites in the order the packs were loaded (rules are in definition order), allowlist rules last.
  std::vector<Suite> suites;
  std::unordered_map<const rules::Rule*, std::pair<std::size_t, std::size_t>> where;  // rule -> suite, case
  auto add_rule = [&](const rules::Rule& rule) {
    if (where.count(&rule) != 0) return;
    auto suite = std::find_if(suites.begin(), suites.end(), [&](const Suite& s) { return s.pack == rule.pack; });
    if (suite == suites.end()) {
      suites.push_back(Suite{rule.pack, {}, 0});
      suite = suites.end() - 1;
    }
    suite->cases.push_back(Case{&rule, {}, {}});
    where.emplace(&rule, std::pair{static_cast<std::size_t>(suite - suites.begin()), suite->cases.size() - 1});
  };
  for (const rules::Rule& rule : outcome->policy->rules) {
    if (rule.enabled) add_rule(rule);
  }
  for (const rules::Rule& rule : e.synthetic_rules) add_rule(rule);
  for (const auto& f : e.findings) {
    add_rule(*f.rule);
    const auto found = where.find(f.rule);  // there: add_rule just made sure
    if (found == where.end()) continue;
    Case& tc = suites[found->second.first].cases[found->second.second];
    const bool failing = f.waiver == nullptr && fail_on && f.rule->severity >= *fail_on;
    (failing ? tc.failing : tc.other).push_back(&f);
  }
  std::size_t tests = 0;
  std::size_t failures = 0;
  for (auto& s : suites) {
    for (const auto& c : s.cases) s.failures += c.failing.empty() ? 0 : 1;
    tests += s.cases.size();
    failures += s.failures;
  }

  auto it = std::back_inserter(xml_out);
  fmt::format_to(it, "<testsuites name=\"flowaudit\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\">\n", tests,
                 failures);
  for (const auto& s : suites) {
    fmt::format_to(it, "  <testsuite name=\"flowaudit policy: {}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\">\n",
                   xml(s.pack), s.cases.size(), s.failures);
    fmt::format_to(it, "    <properties>\n      <property name=\"fail_on\" value=\"{}\"/>\n"
                       "      <property name=\"verdict\" value=\"{}\"/>\n    </properties>\n",
                   xml(outcome->fail_on), e.verdict());
    for (const auto& c : s.cases) {
      const rules::Rule& rule = *c.rule;
      fmt::format_to(it, "    <testcase classname=\"{}\" name=\"{}: {}\"", xml(rule.pack), xml(rule.id), xml(rule.title));
      if (c.failing.empty() && c.other.empty()) {
        xml_out += "/>\n";
        continue;
      }
      xml_out += ">\n";
      if (!c.failing.empty()) {
        std::string text;
        for (const auto* f : c.failing) text += describe(r, *f);
        fmt::format_to(it, "      <failure message=\"{} finding{}\" type=\"{}\">{}</failure>\n", c.failing.size(),
                       c.failing.size() == 1 ? "" : "s", rules::severity_name(rule.severity), xml(text, false));
      }
      if (!c.other.empty()) {
        std::string text;
        std::size_t waived = 0;
        for (const auto* f : c.other) waived += f->waiver != nullptr ? 1 : 0;
        const std::size_t below = c.other.size() - waived;
        if (below != 0) {
          text += fmt::format("{} finding{} below --fail-on {} ({}):\n", below, below == 1 ? "" : "s", outcome->fail_on,
                              rules::severity_name(rule.severity));
          for (const auto* f : c.other) {
            if (f->waiver == nullptr) text += describe(r, *f);
          }
        }
        if (waived != 0) {
          text += fmt::format("{} waived finding{}:\n", waived, waived == 1 ? "" : "s");
          for (const auto* f : c.other) {
            if (f->waiver != nullptr) text += describe(r, *f);
          }
        }
        fmt::format_to(it, "      <system-out>{}</system-out>\n", xml(text, false));
      }
      xml_out += "    </testcase>\n";
    }
    xml_out += "  </testsuite>\n";
  }
  xml_out += "</testsuites>\n";
  out.write(xml_out);
}

}  // namespace flowaudit::report
