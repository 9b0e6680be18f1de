#include "report/markdown_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "core/format.h"
#include "core/timestamp.h"
#include "core/utf8.h"
#include "report/findings_report.h"
#include "report/text_report.h"
#include "report/what_left.h"
#include "rules/eval/records.h"

namespace flowaudit::report {
namespace {

// A rule id or similar token as inline code; falls back to escaped text when it holds a backtick
// (a longer fence would do, but ids never need one).
std::string code(std::string_view text) {
  if (text.find('`') != std::string_view::npos || text.find('\n') != std::string_view::npos) {
    return escape_markdown(text);
  }
  std::string out = "`";
  for (const char c : text) {
    if (c == '|') out.push_back('\\');  // GFM splits table cells on '|' even inside code spans
    out.push_back(c);
  }
  out.push_back('`');
  return out;
}

std::string endpoint(const core::IpAddress& ip, std::uint16_t port) {
  return ip.is_v6() ? fmt::format("[{}]:{}", ip.to_string(), port) : fmt::format("{}:{}", ip.to_string(), port);
}

std::string destination_cell(const analysis::AuditResult& r, const rules::eval::Finding& f) {
  if (f.destination && *f.destination < r.destinations.size()) {
    const auto& d = r.destinations[*f.destination];
    const std::string where = endpoint(d.ip, d.port);
    return d.hostname.empty() ? escape_markdown(where)
                              : fmt::format("{} ({})", escape_markdown(d.hostname), escape_markdown(where));
  }
  if (!f.evidence.dns_query.empty()) return "DNS " + escape_markdown(f.evidence.dns_query);
  return "capture";
}

std::string percent(double share) { return fmt::format("{:.0f}%", 100.0 * share); }

template <typename... T>
void line(std::string& out, fmt::format_string<T...> format, T&&... args) {
  fmt::format_to(std::back_inserter(out), format, std::forward<T>(args)...);
  out += '\n';
}

void write_findings(std::string& out, const analysis::AuditResult& r, const PolicyOutcome& outcome) {
  const rules::eval::Evaluation& e = *outcome.evaluation;
  std::uint64_t total = 0;
  std::string counts;
  for (std::size_t s = rules::kSeverityCount; s-- > 0;) {
    total += e.counts[s];
    if (e.counts[s] == 0) continue;
    counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", e.counts[s],
                          rules::severity_name(static_cast<rules::Severity>(s)));
  }
  out += "### Findings\n\n";
  std::string summary = total == 0 ? std::string("No findings") : fmt::format("{} findings ({})", total, counts);
  if (e.waived != 0) summary += fmt::format("; {} waived", e.waived);
  summary += fmt::format("; fails on {}", escape_markdown(outcome.fail_on));
  if (outcome.fail_on != "never") summary += " and above";
  line(out, "{}.", summary);
  if (e.findings.empty()) return;
  out += "\n| Severity | Rule | Destination | Message |\n| --- | --- | --- | --- |\n";
  // Not waived first (the evaluator already sorts them by severity, then rule, then bytes), then
  // the waived ones in the same order.
  std::size_t rows = 0;
  for (const bool waived : {false, true}) {
    for (const auto& f : e.findings) {
      if ((f.waiver != nullptr) != waived) continue;
      if (rows++ >= kMarkdownFindings) continue;
      std::string severity(rules::severity_name(f.rule->severity));
      std::string message = escape_markdown(f.message);
      if (waived) {
        severity = "waived (" + severity + ")";
        message += fmt::format(" (waived until {}: {})", rules::format_date(f.waiver->expires),
                               escape_markdown(f.waiver->reason));
      }
      line(out, "| {} | {} | {} | {} |", severity, code(f.rule->id), destination_cell(r, f), message);
    }
  }
  const std::uint64_t more = (rows > kMarkdownFindings ? rows - kMarkdownFindings : 0) + e.dropped;
  if (more != 0) line(out, "\n{} more findings not listed here: see the JSON or SARIF report.", more);
}

void write_destinations(std::string& out, const analysis::AuditResult& r) {
  const std::size_t shown = std::min(kMarkdownDestinations, r.destinations.size());
  line(out, "### Destinations ({} of {}, by bytes sent)", shown, r.destinations.size());
  if (shown == 0) return;
  out += "\n| Name | Source | Server | App | Enc | Geo | Jur | Service | Sent | Received |\n";
  out += "| --- | --- | --- | --- | --- | --- | --- | --- | ---: | ---: |\n";
  for (std::size_t i = 0; i < shown; ++i) {
    const auto& d = r.destinations[i];
    std::string geo = "-";
    std::string jurisdiction = "-";
    std::string service = "-";
    if (d.enrichment) {
      const auto& en = *d.enrichment;
      const auto special = analysis::enrich::special_range_name(en.geo.special);
      if (!en.geo.country.empty()) {
        geo = escape_markdown(en.geo.country);
      } else if (!special.empty()) {
        geo = escape_markdown(special);
      }
      if (en.service != nullptr) {
        jurisdiction = escape_markdown(en.service->jurisdiction);
        service = escape_markdown(en.service->name);
      }
    }
    const std::string app =
        d.app_protocol.empty() ? std::string(rules::eval::transport_name(d.protocol)) : d.app_protocol;
    const char* enc = d.encrypted == 1 ? "yes" : d.encrypted == 0 ? "**no**" : "?";
    line(out, "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
         d.hostname.empty() ? "(unnamed)" : escape_markdown(d.hostname),
         d.hostname_source.empty() ? "-" : escape_markdown(d.hostname_source), escape_markdown(endpoint(d.ip, d.port)),
         escape_markdown(app), enc, geo, jurisdiction, service, core::human_bytes(d.bytes_out),
         core::human_bytes(d.bytes_in));
  }
  if (r.destinations.size() > shown) {
    line(out, "\n{} more destinations: see the JSON or CSV report.", r.destinations.size() - shown);
  }
}

// What left (report/what_left.h) as a table: a row per destination, a column per data type, each
// cell the number of findings (the prompt column also its bytes). Nothing inspected is said in words.
void write_what_left(std::string& out, const analysis::AuditResult& r) {
  const WhatLeft wl = what_left(r);
  out += "### What left\n\n";
  if (!wl.inspected()) {
    line(out, "{}", escape_markdown(what_left_nothing_inspected()));
    return;
  }
  std::string missing;
  if (wl.undecrypted_flows != 0) missing += fmt::format(", {} encrypted flows not decrypted", wl.undecrypted_flows);
  if (wl.uninspected_flows != 0) missing += fmt::format(", {} flows past the inspection budget", wl.uninspected_flows);
  if (wl.flow_records_dropped != 0) missing += fmt::format(", {} flow records dropped", wl.flow_records_dropped);
  line(out, "{} HTTP requests in {} flows inspected.{}", wl.requests, wl.flows,
       missing.empty() ? std::string() : " Not in the table (what they sent is unknown): " + missing.substr(2) + ".");
  if (wl.rows.empty()) {
    line(out, "\nNothing found in them.");
    return;
  }
  std::string head = "\n| Destination | Jur | Service |";
  std::string rule = "| --- | --- | --- |";
  for (const auto& t : wl.types) {
    head += fmt::format(" {} |", escape_markdown(t));
    rule += " ---: |";
  }
  line(out, "{}", head);
  line(out, "{}", rule);
  for (const auto& row : wl.rows) {
    const std::string law = what_left_law(row);
    std::string cells = fmt::format("| {}{} | {} | {} |", escape_markdown(row.destination),
                                    row.plaintext ? " (**plaintext**)" : "", law.empty() ? "-" : escape_markdown(law),
                                    row.service_id.empty() ? "-" : escape_markdown(row.service_name));
    for (const auto& type : wl.types) {
      const WhatLeftType* t = row.find(type);
      if (t == nullptr) {
        cells += " |";
      } else if (t->bytes != 0) {
        cells += fmt::format(" {} ({}) |", t->findings, core::human_bytes(t->bytes));
      } else {
        cells += fmt::format(" {} |", t->findings);
      }
    }
    line(out, "{}", cells);
  }
  if (wl.rows_not_listed != 0) {
    line(out, "\n{} more destinations ({} findings): see the JSON report.", wl.rows_not_listed, wl.findings_not_listed);
  }
}

}  // namespace

// Messages come redacted from the evaluation; the options have nothing left to change here.
void write_markdown(const ReportInput& input, const ReportOptions& /*options*/, Output& output) {
  const analysis::AuditResult& r = input.result;
  const PolicyOutcome* outcome = input.outcome;
  std::string out;
  const bool evaluated = outcome != nullptr && outcome->evaluation != nullptr;
  const char* verdict = !evaluated ? "not evaluated" : outcome->evaluation->failed ? "FAIL" : "pass";
  line(out, "## flowaudit: {}", verdict);
  out += '\n';
  std::string summary = fmt::format("{} packets, {} flows to {} destinations", r.packets, r.total_flows(),
                                    r.destinations.size());
  if (r.packets > 0) {
    summary += fmt::format(", {} to {} ({:.1f} s)", core::format_iso8601(r.first_ns), core::format_iso8601(r.last_ns),
                           analysis::duration_seconds(r.first_ns, r.last_ns));
  }
  std::string inputs;
  for (const auto& in : r.inputs) {
    if (!inputs.empty()) inputs += ", ";
    inputs += escape_markdown(in.path);
    if (!in.complete) inputs += " (incomplete)";
  }
  if (!inputs.empty()) summary += "; inputs: " + inputs;
  line(out, "{}.", summary);
  if (evaluated) {
    out += '\n';
    write_findings(out, r, *outcome);
  }
  out += '\n';
  write_destinations(out, r);
  out += '\n';
  write_what_left(out, r);
  out += '\n';
  std::string coverage =
      fmt::format("Coverage: {} of flows ({} of {}) and {} of bytes sent carry a name", percent(r.coverage.flow_share()),
                  r.coverage.named_flows, r.coverage.flows, percent(r.coverage.bytes_out_share()));
  std::string spots;
  const auto& counts = r.coverage.blind_spots;
  for (std::size_t i = 1; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    spots += fmt::format("{}{} {}", spots.empty() ? "" : ", ", counts[i],
                         analysis::app::to_string(static_cast<analysis::app::BlindSpot>(i)));
  }
  coverage += spots.empty() ? "; no blind spots" : "; blind spots (flows): " + spots;
  const std::string why = analysis::unnamed_summary(r.coverage);
  coverage += why.empty() ? "." : "; unnamed (flows, why): " + escape_markdown(why) + ".";
  line(out, "{}", coverage);
  std::vector<std::string_view> warnings(r.warnings.begin(), r.warnings.end());
  if (evaluated) warnings.insert(warnings.end(), outcome->evaluation->warnings.begin(), outcome->evaluation->warnings.end());
  for (const auto& in : r.inputs) {
    if (!in.error.empty()) warnings.push_back(in.error);
  }
  if (!warnings.empty()) {
    out += "\n### Warnings\n\n";
    for (const auto w : warnings) line(out, "- {}", escape_markdown(w));
  }
  std::vector<std::string_view> credited;  // each licence's credit once, however many files carry it
  for (const auto& db : r.geo_databases) {
    if (db.attribution.empty() || std::find(credited.begin(), credited.end(), db.attribution) != credited.end()) continue;
    credited.push_back(db.attribution);
  }
  if (!credited.empty()) {
    out += '\n';
    for (const auto c : credited) line(out, "Geolocation: {}", escape_markdown(c));
  }
  output.write(out);
}

}  // namespace flowaudit::report
