#include "report/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "analysis/app/flow_details.h"
#include "analysis/packet/transport.h"
#include "capture/pcap_file_source.h"
#include "core/escape.h"
#include "core/format.h"
#include "core/redact.h"
#include "core/timestamp.h"
#include "report/findings_report.h"
#include "report/html_countries.h"
#include "report/text_report.h"
#include "report/what_left.h"
#include "rules/eval/records.h"

namespace flowaudit::report {
namespace {

// --- Escaping -------------------------------------------------------------------------------------

// Every string from a capture, a database or a policy goes through the one HTML escaper
// (core/escape.h): control and bidirectional characters and invalid UTF-8 come out as visible
// escapes (\u202e), so what the reader sees is what was on the wire.
std::string esc(std::string_view s) { return core::escape_html(s); }

// Only web links become links: a policy could name "javascript:" or "file:" as a reference.
bool linkable(std::string_view url) {
  return url.starts_with("https://") || url.starts_with("http://");
}

// Text with its web addresses as links (the databases' attributions: DB-IP's licence asks for a
// link back). Everything else is escaped as usual.
std::string linkify(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t http = text.find("http", i);
    if (http == std::string_view::npos || !linkable(text.substr(http))) {
      const std::size_t upto = http == std::string_view::npos ? text.size() : http + 4;
      out += esc(text.substr(i, upto - i));
      i = upto;
      continue;
    }
    out += esc(text.substr(i, http - i));
    std::size_t end = http;
    while (end < text.size() && text[end] != ' ' && text[end] != ')' && text[end] != ',' && text[end] != '"' &&
           text[end] != '<' && text[end] != '>') {
      ++end;
    }
    const std::string url = esc(text.substr(http, end - http));
    out += fmt::format("<a href=\"{}\" rel=\"noopener noreferrer\">{}</a>", url, url);
    i = end;
  }
  return out;
}

// --- Small formatting helpers ------------------------------------------------------------------------

std::string base_name(const std::string& path) {
  if (path == "-") return "standard input";
  const std::string name = std::filesystem::path(path).filename().string();
  return name.empty() ? path : name;
}

// "2024-06-01 10:00:00 UTC" (seconds) or with milliseconds.
std::string time_text(core::TimestampNs ns, bool millis) {
  std::string iso = core::format_iso8601(ns);
  if (iso.size() < 19 || iso[10] != 'T') return iso;
  iso[10] = ' ';
  iso.resize(millis && iso.size() >= 23 ? 23 : 19);
  return iso + " UTC";
}

std::string bytes_text(std::uint64_t bytes) { return core::human_bytes(bytes); }

std::string plural(std::uint64_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string country_label(std::string_view code) {
  if (const auto c = find_country(code)) return std::string(c->name);
  return std::string(code);
}

// --- Severities ------------------------------------------------------------------------------------------

constexpr int kNoFinding = -1;

// Colours that survive printing in grey: darker for more severe.
constexpr std::array<std::string_view, rules::kSeverityCount> kSeverityColour = {"#2f6db5", "#8f7a00", "#d97706",
                                                                                 "#c62828", "#6a0f1f"};
constexpr std::string_view kNeutralColour = "#6b7f95";

std::string_view colour_of(int severity) {
  return severity < 0 ? kNeutralColour : kSeverityColour[static_cast<std::size_t>(severity)];
}

std::string_view severity_text(int severity) {
  return severity < 0 ? std::string_view("no finding") : rules::severity_name(static_cast<rules::Severity>(severity));
}

std::string badge(int severity) {
  return fmt::format("<span class=\"badge sev{}\">{}</span>", severity < 0 ? std::string("none") : std::to_string(severity),
                     severity_text(severity));
}

// --- What the report computes once ---------------------------------------------------------------------

struct Group {
  std::string key;  // country or jurisdiction code, or one of the placeholders below
  std::uint64_t bytes_out = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t destinations = 0;
  int worst = kNoFinding;
};

constexpr std::string_view kLocalKey = "(local)";
constexpr std::string_view kUnknownKey = "(unknown)";
constexpr std::string_view kNoCatalogKey = "(not in catalog)";

std::string group_label(std::string_view key) {
  if (key == kLocalKey) return "Local network";
  if (key == kUnknownKey) return "Country unknown";
  if (key == kNoCatalogKey) return "Not in the catalog";
  return fmt::format("{} {}", key, country_label(key));
}

bool is_code(std::string_view key) { return !key.empty() && key.front() != '('; }

// A proxied flow is counted in its destination (with via) and in the proxy's: the sums below count
// it once, at the destination the client meant (whose server country is unknown unless asked by
// address), so a proxy contributes only what it was sent for itself.
std::uint64_t own_bytes_out(const analysis::flow::Destination& d) {
  return d.bytes_out - std::min(d.bytes_out, d.proxied_bytes_out);
}
std::uint64_t own_bytes_in(const analysis::flow::Destination& d) {
  return d.bytes_in - std::min(d.bytes_in, d.proxied_bytes_in);
}

struct Facts {
  explicit Facts(const analysis::AuditResult& result) : r(result) {}
  const analysis::AuditResult& r;
  const rules::eval::Evaluation* evaluation = nullptr;
  std::vector<int> worst;  // per destination
  std::vector<Group> countries;
  std::vector<Group> jurisdictions;
  // Server country -> operator jurisdiction, where both are known and differ: bytes sent.
  std::map<std::pair<std::string, std::string>, std::uint64_t> crossings;
  std::uint64_t bytes_out = 0;

  [[nodiscard]] const analysis::enrich::DestinationEnrichment* enrichment(std::size_t i) const {
    const auto& e = r.destinations[i].enrichment;
    return e ? &*e : nullptr;
  }
  [[nodiscard]] std::string country_key(std::size_t i) const {
    const auto* e = enrichment(i);
    if (e == nullptr) return std::string(kUnknownKey);
    if (!e->geo.country.empty()) return e->geo.country;
    if (e->geo.special != analysis::enrich::SpecialRange::kNone) return std::string(kLocalKey);
    return std::string(kUnknownKey);
  }
  [[nodiscard]] std::string jurisdiction_key(std::size_t i) const {
    const auto* e = enrichment(i);
    if (e == nullptr || e->service == nullptr || e->service->jurisdiction.empty()) {
      const std::string country = country_key(i);
      return country == kLocalKey ? std::string(kLocalKey) : std::string(kNoCatalogKey);
    }
    return e->service->jurisdiction;
  }
};

std::vector<Group> sorted_groups(std::map<std::string, Group>& groups) {
  std::vector<Group> out;
  out.reserve(groups.size());
  for (auto& [key, g] : groups) {
    g.key = key;
    out.push_back(std::move(g));
  }
  std::stable_sort(out.begin(), out.end(), [](const Group& a, const Group& b) { return a.bytes_out > b.bytes_out; });
  return out;
}

Facts compute(const analysis::AuditResult& r, const PolicyOutcome* outcome) {
  Facts f(r);
  f.evaluation = outcome != nullptr ? outcome->evaluation : nullptr;
  f.worst.assign(r.destinations.size(), kNoFinding);
  if (f.evaluation != nullptr) {
    for (const auto& finding : f.evaluation->findings) {
      if (finding.waiver != nullptr || !finding.destination || *finding.destination >= r.destinations.size()) continue;
      int& w = f.worst[*finding.destination];
      w = std::max(w, static_cast<int>(finding.rule->severity));
    }
  }
  std::map<std::string, Group> countries;
  std::map<std::string, Group> jurisdictions;
  for (std::size_t i = 0; i < r.destinations.size(); ++i) {
    const auto& d = r.destinations[i];
    f.bytes_out += own_bytes_out(d);
    const std::string country = f.country_key(i);
    const std::string jurisdiction = f.jurisdiction_key(i);
    for (auto* g : {&countries[country], &jurisdictions[jurisdiction]}) {
      g->bytes_out += own_bytes_out(d);
      g->bytes_in += own_bytes_in(d);
      ++g->destinations;
      g->worst = std::max(g->worst, f.worst[i]);
    }
    if (is_code(country) && is_code(jurisdiction) && country != jurisdiction) {
      f.crossings[{country, jurisdiction}] += own_bytes_out(d);
    }
  }
  f.countries = sorted_groups(countries);
  f.jurisdictions = sorted_groups(jurisdictions);
  return f;
}

// --- Page parts ---------------------------------------------------------------------------------------------

// The map: equirectangular, 1000 units for 360 degrees, cut to the latitudes where people live.
constexpr double kScale = 1000.0 / 360.0;
constexpr double kTop = 84.0;
constexpr double kBottom = -60.0;

constexpr std::string_view kStyle = R"css(
:root { --ink:#1c2733; --muted:#5a6b7d; --line:#d5dde6; --panel:#f5f7fa; --accent:#234d7a; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: var(--ink);
       background: #fff; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 16px; margin: 18px 0 8px; }
p { margin: 6px 0; }
.sub { color: var(--muted); margin: 0; }
.muted { color: var(--muted); }
code, .mono { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 13px; }
a { color: var(--accent); }
.verdict { display: flex; gap: 24px; align-items: center; margin: 18px 0 8px; padding: 16px 20px;
           border-radius: 8px; border: 2px solid; }
.verdict.fail { background: #fdecec; border-color: #c62828; }
.verdict.pass { background: #eaf6ec; border-color: #2e7d32; }
.verdict.none { background: var(--panel); border-color: #8899aa; }
.verdict .word { font-size: 34px; font-weight: bold; letter-spacing: 1px; min-width: 150px; }
.verdict.fail .word { color: #b71c1c; } .verdict.pass .word { color: #1b5e20; } .verdict.none .word { color: #455a6e; font-size: 24px; }
.verdict .why { font-size: 16px; }
.counts { display: flex; gap: 8px; flex-wrap: wrap; margin-top: 8px; }
.count { border: 1px solid var(--line); border-radius: 6px; padding: 2px 10px; background: #fff; font-size: 14px; }
.count b { font-size: 16px; }
.count.zero { opacity: .55; }
.badge { display: inline-block; min-width: 64px; text-align: center; padding: 1px 8px; border-radius: 4px;
         color: #fff; font-size: 12px; font-weight: bold; text-transform: uppercase; letter-spacing: .5px; }
.sev0 { background: #2f6db5; } .sev1 { background: #8f7a00; } .sev2 { background: #d97706; }
.sev3 { background: #c62828; } .sev4 { background: #6a0f1f; } .sevnone { background: #8a9aab; }
.story { background: #fff8e1; border-left: 5px solid #d97706; padding: 10px 16px; margin: 12px 0; }
.story ul { margin: 4px 0 0; padding-left: 20px; }
.facts { display: grid; grid-template-columns: repeat(5, 1fr); gap: 12px; margin: 12px 0; }
.fact { background: var(--panel); border-radius: 6px; padding: 8px 14px; }
.fact b { display: block; font-size: 20px; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }
.chart { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.chart h3 { margin-top: 4px; }
svg text { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
.legend { display: flex; gap: 14px; flex-wrap: wrap; font-size: 13px; color: var(--muted); margin: 6px 0; }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 6px; vertical-align: -1px; margin-right: 4px; }
.map { border: 1px solid var(--line); border-radius: 8px; padding: 8px; background: #fff; }
.sevgroup { margin-top: 8px; }
.rule { border: 1px solid var(--line); border-left: 6px solid; border-radius: 6px; padding: 10px 14px; margin: 10px 0;
        break-inside: avoid; }
.rule h4 { margin: 0 0 4px; font-size: 16px; }
.rule .id { color: var(--muted); font-weight: normal; font-size: 13px; }
.finding { border-top: 1px dashed var(--line); padding: 6px 0 4px; }
.finding .msg { font-weight: 600; }
.evidence { font-size: 13px; color: var(--muted); }
.evidence span { margin-right: 12px; white-space: nowrap; }
.refs { margin: 4px 0 0; padding-left: 20px; font-size: 13px; }
.remedy { font-size: 14px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: var(--panel); position: sticky; top: 0; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.host { overflow-wrap: anywhere; min-width: 150px; }
td .badge { min-width: 0; }
.dest td.mono { white-space: nowrap; }
.plain { color: #b71c1c; font-weight: bold; }
.differs { background: #fff3cd; font-weight: bold; }
table.wl th.num { white-space: normal; font-size: 12px; min-width: 40px; }
table.wl td.svc { min-width: 170px; }
td.wlhost { overflow-wrap: anywhere; min-width: 150px; }
table.wl td.zero { color: #b8c4d0; }
table.wl th.wldest { border-left: 8px solid; overflow-wrap: anywhere; min-width: 170px; background: #fff; }
.jur { display: inline-block; padding: 0 6px; border-radius: 4px; color: #fff; font-size: 12px; font-weight: bold; }
.note { font-size: 13px; color: var(--muted); font-style: italic; }
.warn { color: #8a4b00; }
footer { margin-top: 40px; font-size: 12px; color: var(--muted); border-top: 1px solid var(--line); padding-top: 8px; }
@media print {
  main { max-width: none; padding: 0; }
  body { font-size: 11pt; }
  h2 { break-after: avoid; }
  .charts { grid-template-columns: 1fr 1fr; }
  th { position: static; }
  a[href]::after { content: " <" attr(href) ">"; font-size: 9pt; color: var(--muted); word-break: break-all; }
  tr, .finding, .chart, .map { break-inside: avoid; }
}
)css";

class Writer {
 public:
  Writer(const analysis::AuditResult& r, const PolicyOutcome* outcome, const ReportOptions& options, Output& out)
      : r_(r), outcome_(outcome), options_(options), out_(out), facts_(compute(r, outcome)) {}

  void write() {
    head();
    raw("<main>\n");
    header();
    verdict();
    pictures();
    what_left_section();
    findings();
    destinations();
    requests();
    coverage();
    warnings();
    inputs_and_policy();
    databases();
    raw(fmt::format("<footer>Written by flowaudit {}. This file loads nothing from the network; it can be "
                    "archived and printed as it is.{}</footer>\n",
                    FLOWAUDIT_VERSION,
                    options_.redact ? " Request paths and identifiers in messages are redacted (--no-redact keeps them)."
                                    : " Not redacted (--no-redact): this report may contain identifiers."));
    raw("</main>\n</body>\n</html>\n");
  }

 private:
  void raw(std::string_view s) { out_.write(s); }

  [[nodiscard]] const rules::eval::Evaluation* evaluation() const { return facts_.evaluation; }

  std::string inputs_text() const {
    std::string names;
    const std::size_t shown = std::min<std::size_t>(r_.inputs.size(), 3);
    for (std::size_t i = 0; i < shown; ++i) {
      if (i != 0) names += ", ";
      names += base_name(r_.inputs[i].path);
    }
    if (r_.inputs.size() > shown) names += fmt::format(" and {} more", r_.inputs.size() - shown);
    return names.empty() ? std::string("no input") : names;
  }

  std::string range_text() const {
    if (r_.packets == 0) return "no packets";
    const std::string first = time_text(r_.first_ns, false);
    std::string last = time_text(r_.last_ns, false);
    // Same day: the end needs only its time.
    if (first.size() == 23 && last.size() == 23 && first.compare(0, 10, last, 0, 10) == 0) last = last.substr(11);
    const std::string_view head = std::string_view(first).substr(0, first.ends_with(" UTC") ? first.size() - 4 : first.size());
    return fmt::format("{} – {}", head, last);
  }

  void head() {
    raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    // Nothing may load or run: no scripts, no fetches, no fonts, images only as data: URIs.
    raw("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:; base-uri 'none'; form-action 'none'\">\n");
    raw("<meta name=\"referrer\" content=\"no-referrer\">\n");
    raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    raw(fmt::format("<title>flowaudit report: {} ({})</title>\n", esc(inputs_text()), esc(range_text())));
    raw("<style>");
    raw(kStyle);
    raw("</style>\n</head>\n<body>\n");
  }

  void header() {
    raw(fmt::format("<h1>Where the data went: {}</h1>\n", esc(inputs_text())));
    const double seconds = analysis::duration_seconds(r_.first_ns, r_.last_ns);
    raw(fmt::format("<p class=\"sub\">{} ({:.1f} s) · {} · {} captured · {} · {}</p>\n", esc(range_text()), seconds,
                    plural(r_.packets, "packet", "packets"), bytes_text(r_.bytes),
                    plural(r_.total_flows(), "flow", "flows"), plural(r_.destinations.size(), "destination", "destinations")));
  }

  void verdict() {
    const auto* e = evaluation();
    if (e == nullptr) {
      raw("<section class=\"verdict none\"><div class=\"word\">NOT EVALUATED</div><div class=\"why\">No policy was run "
          "(<code>--policy none</code>): this report is an inventory of destinations, without findings or a "
          "verdict.</div></section>\n");
    } else {
      const auto fail_on = rules::parse_severity(outcome_->fail_on);
      std::uint64_t reaching = 0;
      std::uint64_t total = 0;
      for (std::size_t s = 0; s < rules::kSeverityCount; ++s) {
        total += e->counts[s];
        if (fail_on && s >= static_cast<std::size_t>(*fail_on)) reaching += e->counts[s];
      }
      std::string why;
      if (!fail_on) {
        why = fmt::format("<code>--fail-on {}</code>: findings never fail the audit; {} listed below.",
                          esc(outcome_->fail_on), plural(total, "finding is", "findings are"));
      } else if (e->failed) {
        why = fmt::format("{} at or above <b>{}</b> (<code>--fail-on {}</code>).",
                          plural(reaching, "finding", "findings"), esc(outcome_->fail_on), esc(outcome_->fail_on));
      } else {
        why = fmt::format("No finding at or above <b>{}</b> (<code>--fail-on {}</code>){}.", esc(outcome_->fail_on),
                          esc(outcome_->fail_on),
                          total == 0 ? std::string("; no findings at all")
                                     : fmt::format("; {} below it", plural(total, "finding", "findings")));
      }
      raw(fmt::format("<section class=\"verdict {}\"><div class=\"word\">{}</div><div><div class=\"why\">{}</div>"
                      "<div class=\"counts\">",
                      e->failed ? "fail" : "pass", e->failed ? "FAIL" : "PASS", why));
      for (std::size_t s = rules::kSeverityCount; s-- > 0;) {
        raw(fmt::format("<span class=\"count{}\"><b>{}</b> {}</span>", e->counts[s] == 0 ? " zero" : "", e->counts[s],
                        rules::severity_name(static_cast<rules::Severity>(s))));
      }
      if (e->waived != 0) raw(fmt::format("<span class=\"count\"><b>{}</b> waived</span>", e->waived));
      if (e->dropped != 0) raw(fmt::format("<span class=\"count\"><b>{}</b> not listed</span>", e->dropped));
      raw("</div>");
      if (outcome_->policy != nullptr) {
        std::string files;
        for (const auto& pf : outcome_->policy->files) files += (files.empty() ? "" : ", ") + pf.name;
        raw(fmt::format("<p class=\"muted\">Policy: {} · {} evaluated</p>", esc(files),
                        plural(e->rules_evaluated, "rule", "rules")));
      }
      raw("</div></section>\n");
    }
    key_facts();
  }

  void key_facts() {
    std::size_t countries = 0;
    std::string country_list;
    for (const auto& g : facts_.countries) {
      if (!is_code(g.key)) continue;
      ++countries;
      if (countries <= 6) country_list += (country_list.empty() ? "" : ", ") + g.key;
    }
    std::size_t jurisdictions = 0;
    std::string jurisdiction_list;
    for (const auto& g : facts_.jurisdictions) {
      if (!is_code(g.key)) continue;
      ++jurisdictions;
      if (jurisdictions <= 6) jurisdiction_list += (jurisdiction_list.empty() ? "" : ", ") + g.key;
    }
    std::uint64_t plain_bytes = 0;
    std::size_t plain = 0;
    for (const auto& d : r_.destinations) {
      if (d.encrypted == 0) {
        ++plain;
        plain_bytes += own_bytes_out(d);
      }
    }
    raw("<div class=\"facts\">");
    raw(fmt::format("<div class=\"fact\"><b>{}</b>sent to {}</div>", bytes_text(facts_.bytes_out),
                    plural(r_.destinations.size(), "destination", "destinations")));
    raw(fmt::format("<div class=\"fact\"><b>{}</b>server {} {}</div>", countries, countries == 1 ? "country" : "countries",
                    esc(country_list)));
    raw(fmt::format("<div class=\"fact\"><b>{}</b>operator {} {}</div>", jurisdictions,
                    jurisdictions == 1 ? "jurisdiction" : "jurisdictions", esc(jurisdiction_list)));
    raw(fmt::format("<div class=\"fact\"><b>{}</b>sent unencrypted to {}</div>", bytes_text(plain_bytes),
                    plural(plain, "destination", "destinations")));
    raw(fmt::format("<div class=\"fact\"><b>{:.0f}%</b>of bytes sent went to a named host</div>",
                    r_.coverage.bytes_out_share() * 100.0));
    raw("</div>\n");

    // The case that a map of server locations hides: a server in one country run by an operator
    // under another country's law.
    // One line per name, server country and service (a host reached over TCP and QUIC, or at
    // several addresses, is one line), most bytes first.
    struct Line {
      std::size_t first = 0;  // the destination that names the line
      std::uint64_t bytes_out = 0;
      std::uint64_t destinations = 0;
    };
    std::map<std::tuple<std::string, std::string, const analysis::enrich::Service*>, Line> lines;
    std::uint64_t differing = 0;
    for (std::size_t i = 0; i < r_.destinations.size(); ++i) {
      const std::string c = facts_.country_key(i);
      const std::string j = facts_.jurisdiction_key(i);
      if (!is_code(c) || !is_code(j) || c == j) continue;
      ++differing;
      const auto& d = r_.destinations[i];
      auto [it, added] = lines.try_emplace({d.hostname.empty() ? d.ip.to_string() : d.hostname, c,
                                            facts_.enrichment(i)->service.get()},
                                           Line{i, 0, 0});
      it->second.bytes_out += own_bytes_out(d);
      ++it->second.destinations;
    }
    if (lines.empty()) return;
    std::vector<std::pair<std::string, Line>> sorted;
    for (const auto& [key, line] : lines) sorted.emplace_back(std::get<0>(key), line);
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.second.bytes_out > b.second.bytes_out; });
    raw("<div class=\"story\"><b>Server location is not the operator's jurisdiction.</b> ");
    raw(fmt::format("{} answered from one country but {} run by an operator under another country's law:<ul>",
                    plural(differing, "destination", "destinations"), differing == 1 ? "is" : "are"));
    constexpr std::size_t kMaxStory = 8;
    for (std::size_t k = 0; k < sorted.size() && k < kMaxStory; ++k) {
      const auto& [name, line] = sorted[k];
      const auto& e = *facts_.enrichment(line.first);
      raw(fmt::format("<li><b>{}</b>: server in {}{}, {} operated by {} under <b>{}</b> law; {} sent{}</li>", esc(name),
                      esc(country_label(e.geo.country)),
                      e.geo.as_org.empty() ? std::string() : " (" + esc(e.geo.as_org) + ")", esc(e.service->name),
                      esc(e.service->operator_name), esc(country_label(e.service->jurisdiction)),
                      bytes_text(line.bytes_out),
                      line.destinations > 1 ? fmt::format(" to {} server addresses or ports", line.destinations)
                                            : std::string()));
    }
    if (sorted.size() > kMaxStory) {
      raw(fmt::format("<li>and {} more (see the destinations)</li>", sorted.size() - kMaxStory));
    }
    raw("</ul></div>\n");
  }

  // What left (report/what_left.h): one row per destination, its header coloured by the operator's
  // jurisdiction, one column per data type, each cell the number of findings; the fields and
  // encodings under the matrix. When nothing was inspected it says so, so that an empty matrix is
  // never read as "nothing left".
  void what_left_section() {
    const WhatLeft wl = what_left(r_);
    raw("<h2>What left</h2>\n");
    if (!wl.inspected()) {
      raw(fmt::format("<div class=\"story\"><b>Not inspected.</b> {}{}</div>\n", esc(what_left_nothing_inspected()),
                      wl.undecrypted_flows == 0
                          ? std::string()
                          : fmt::format(" {} not decrypted.", plural(wl.undecrypted_flows, "encrypted flow was",
                                                                     "encrypted flows were"))));
      return;
    }
    std::string intro = fmt::format("{} in {} inspected for personal data, device identifiers, canaries "
                                    "(<code>--canary</code>) and prompt text. Values are not shown here, only "
                                    "how many were found and in which fields (the JSON report has them, masked).",
                                    plural(wl.requests, "HTTP request", "HTTP requests"),
                                    plural(wl.flows, "flow", "flows"));
    std::string missing;
    const auto add_missing = [&](std::uint64_t n, std::string_view what) {
      if (n != 0) missing += fmt::format("{}{} {}", missing.empty() ? "" : "; ", n, what);
    };
    add_missing(wl.undecrypted_flows, "encrypted flows not decrypted");
    add_missing(wl.uninspected_flows, "flows past the inspection budget");
    add_missing(wl.flow_records_dropped, "flow records dropped (--max-flow-records)");
    raw(fmt::format("<p class=\"muted\">{}</p>\n", intro));
    if (!missing.empty()) {
      raw(fmt::format("<p class=\"warn\">Not in this table: {}. What they sent is unknown.</p>\n", esc(missing)));
    }
    if (wl.rows.empty()) {
      raw("<p>Nothing found in the requests inspected: no detector, canary or chat endpoint matched.</p>\n");
      return;
    }
    // Colours by jurisdiction, in the order the rows first name them; not in the catalog is grey.
    static constexpr std::array<std::string_view, 8> kPalette = {"#7b1fa2", "#00695c", "#ad1457", "#1565c0",
                                                                 "#6d4c41", "#2e7d32", "#ef6c00", "#37474f"};
    std::vector<std::string> laws;
    const auto colour = [&](const std::string& j) -> std::string_view {
      if (j.empty()) return kNeutralColour;
      auto it = std::find(laws.begin(), laws.end(), j);
      if (it == laws.end()) it = laws.insert(laws.end(), j);
      return kPalette[static_cast<std::size_t>(it - laws.begin()) % kPalette.size()];
    };
    for (const auto& row : wl.rows) (void)colour(row.jurisdiction);
    raw("<div class=\"legend\"><span>Destination colour: the operator's jurisdiction</span>");
    for (const auto& j : laws) {
      raw(fmt::format("<span><i style=\"background:{}\"></i>{}</span>", colour(j), esc(group_label(j))));
    }
    raw(fmt::format("<span><i style=\"background:{}\"></i>not in the catalog</span></div>\n", kNeutralColour));
    raw("<table class=\"wl\"><thead><tr><th>Destination</th><th>Service and operator</th>");
    for (const auto& t : wl.types) raw(fmt::format("<th class=\"num\">{}</th>", esc(t)));
    raw("</tr></thead><tbody>\n");
    const auto tooltip = [](const WhatLeftType& t) {
      std::string text = "fields: ";
      for (std::size_t k = 0; k < t.fields.size(); ++k) text += (k == 0 ? "" : ", ") + t.fields[k];
      if (t.fields_not_listed != 0) text += fmt::format(" (+{} in other fields)", t.fields_not_listed);
      if (!t.encodings.empty()) {
        text += "; encodings: ";
        for (std::size_t k = 0; k < t.encodings.size(); ++k) text += (k == 0 ? "" : ", ") + t.encodings[k];
      }
      return text;
    };
    for (const auto& row : wl.rows) {
      const std::string law = what_left_law(row);
      std::string service = "<span class=\"muted\">not in the catalog</span>";
      if (!row.service_id.empty()) {
        service = fmt::format("{}<br><span class=\"muted\">{}</span>", esc(row.service_name), esc(row.operator_name));
      }
      raw(fmt::format("<tr><th scope=\"row\" class=\"wldest\" style=\"border-left-color:{0}\">{1}<br>"
                      "<span class=\"jur\" style=\"background:{0}\">{2}</span>{3}</th><td class=\"svc\">{4}</td>",
                      colour(row.jurisdiction), esc(row.destination),
                      law.empty() ? std::string("?") : esc(law),
                      row.plaintext ? " <span class=\"plain\">plaintext</span>" : "", service));
      for (const auto& type : wl.types) {
        const WhatLeftType* t = row.find(type);
        if (t == nullptr) {
          raw("<td class=\"num zero\">·</td>");
          continue;
        }
        raw(fmt::format("<td class=\"num\" title=\"{}\"><b>{}</b>{}</td>", esc(tooltip(*t)), t->findings,
                        t->bytes == 0 ? std::string()
                                      : fmt::format("<br><span class=\"muted\">{}</span>", bytes_text(t->bytes))));
      }
      raw("</tr>\n");
    }
    raw("</tbody></table>\n");
    if (wl.rows_not_listed != 0) {
      raw(fmt::format("<p class=\"note\">{} more destinations ({}) are not listed.</p>\n", wl.rows_not_listed,
                      plural(wl.findings_not_listed, "finding", "findings")));
    }
    // Where in the requests: the fields and what was undone to read them.
    raw("<h3>In which fields</h3>\n<table><thead><tr><th>Destination</th><th>Type</th><th class=\"num\">Found</th>"
        "<th>Fields</th><th>Encodings</th></tr></thead><tbody>\n");
    for (const auto& row : wl.rows) {
      for (const auto& t : row.types) {
        std::string fields;
        for (const auto& f : t.fields) fields += (fields.empty() ? "" : ", ") + fmt::format("<code>{}</code>", esc(f));
        if (t.fields_not_listed != 0) fields += fmt::format(" <span class=\"muted\">and {} in other fields</span>", t.fields_not_listed);
        std::string encodings;
        for (const auto& e : t.encodings) encodings += (encodings.empty() ? "" : ", ") + esc(e);
        if (t.encodings_not_listed != 0) encodings += fmt::format(" <span class=\"muted\">and {} more</span>", t.encodings_not_listed);
        raw(fmt::format("<tr><td class=\"wlhost\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>\n",
                        esc(row.destination), esc(t.type), t.findings, fields,
                        encodings.empty() ? std::string("<span class=\"muted\">as sent</span>") : encodings));
      }
      if (row.findings_dropped != 0) {
        raw(fmt::format("<tr><td class=\"wlhost\">{}</td><td colspan=\"4\" class=\"warn\">{} more findings past the "
                        "per-request cap, not counted</td></tr>\n", esc(row.destination), row.findings_dropped));
      }
    }
    raw("</tbody></table>\n");
  }

  // A horizontal bar chart of bytes sent per group, coloured by the worst finding there.
  void bar_chart(const std::vector<Group>& groups, std::string_view title, std::string_view caption) {
    constexpr std::size_t kMaxBars = 12;
    std::vector<Group> bars(groups.begin(), groups.begin() + static_cast<std::ptrdiff_t>(std::min(groups.size(), kMaxBars)));
    if (groups.size() > kMaxBars) {
      Group rest;
      rest.key = fmt::format("({} more)", groups.size() - kMaxBars);
      for (std::size_t i = kMaxBars; i < groups.size(); ++i) {
        rest.bytes_out += groups[i].bytes_out;
        rest.destinations += groups[i].destinations;
        rest.worst = std::max(rest.worst, groups[i].worst);
      }
      bars.push_back(rest);
    }
    std::uint64_t max_bytes = 1;
    for (const auto& b : bars) max_bytes = std::max(max_bytes, b.bytes_out);
    constexpr int kWidth = 540;
    constexpr int kLabel = 210;
    constexpr int kBarMax = 230;
    constexpr int kRow = 30;
    const int height = std::max<int>(static_cast<int>(bars.size()) * kRow + 8, 40);
    raw(fmt::format("<div class=\"chart\"><h3>{}</h3><p class=\"note\">{}</p>", title, caption));
    raw(fmt::format("<svg viewBox=\"0 0 {0} {1}\" width=\"100%\" role=\"img\" aria-label=\"{2}\">", kWidth, height,
                    title));
    if (bars.empty()) raw("<text x=\"10\" y=\"24\" font-size=\"14\" fill=\"#5a6b7d\">No destinations.</text>");
    for (std::size_t i = 0; i < bars.size(); ++i) {
      const auto& b = bars[i];
      const int y = static_cast<int>(i) * kRow + 4;
      const double share = static_cast<double>(b.bytes_out) / static_cast<double>(max_bytes);
      const int w = std::max(2, static_cast<int>(std::lround(share * kBarMax)));
      std::string label = b.key.starts_with("(") && b.key.ends_with("more)") ? b.key : group_label(b.key);
      if (label.size() > 27) {
        std::size_t cut = 25;
        while (cut > 0 && (static_cast<unsigned char>(label[cut]) & 0xC0) == 0x80) --cut;  // whole characters
        label = label.substr(0, cut) + "…";
      }
      raw(fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"end\" fill=\"#1c2733\">{}</text>",
                      kLabel - 8, y + 18, esc(label)));
      raw(fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"22\" rx=\"3\" fill=\"{}\"><title>{}: {} bytes sent, "
                      "{}, worst finding {}</title></rect>",
                      kLabel, y + 2, w, colour_of(b.worst), esc(label), b.bytes_out,
                      plural(b.destinations, "destination", "destinations"), severity_text(b.worst)));
      raw(fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"13\" fill=\"#1c2733\"><tspan font-weight=\"bold\">{}</tspan> "
                      "<tspan fill=\"#5a6b7d\">({})</tspan></text>",
                      kLabel + w + 6, y + 18, bytes_text(b.bytes_out), b.destinations));
    }
    raw("</svg></div>\n");
  }

  void legend() {
    raw("<div class=\"legend\"><span>Colour: the worst finding for the destinations there</span>");
    for (std::size_t s = rules::kSeverityCount; s-- > 0;) {
      raw(fmt::format("<span><i style=\"background:{}\"></i>{}</span>", kSeverityColour[s],
                      rules::severity_name(static_cast<rules::Severity>(s))));
    }
    raw(fmt::format("<span><i style=\"background:{}\"></i>no finding</span></div>\n", kNeutralColour));
  }

  void pictures() {
    raw("<h2>Where the bytes went</h2>\n");
    legend();
    raw("<div class=\"charts\">\n");
    bar_chart(facts_.countries, "Bytes sent by server country",
              "Where the server's address is, from the geolocation databases (number of destinations in brackets).");
    bar_chart(facts_.jurisdictions, "Bytes sent by operator jurisdiction",
              "Whose law the service's operator is under, from the service catalog.");
    raw("</div>\n");
    world_map();
  }

  void world_map() {
    const auto x_of = [](double lon) { return (lon + 180.0) * kScale; };
    const auto y_of = [](double lat) { return (kTop - std::clamp(lat, kBottom, kTop)) * kScale; };
    const double height = (kTop - kBottom) * kScale;
    raw("<h3>Map of destinations</h3>\n");
    raw(fmt::format("<div class=\"map\"><svg viewBox=\"0 0 1000 {:.0f}\" width=\"100%\" role=\"img\" "
                    "aria-label=\"World map of destination countries\">",
                    height));
    raw(fmt::format("<rect x=\"0\" y=\"0\" width=\"1000\" height=\"{:.0f}\" fill=\"#eef4fa\"/>", height));
    for (const auto& outline : land_outlines()) {
      std::string points;
      for (std::size_t k = 0; k + 1 < outline.lon_lat.size(); k += 2) {
        points += fmt::format("{:.1f},{:.1f} ", x_of(outline.lon_lat[k]), y_of(outline.lon_lat[k + 1]));
      }
      raw(fmt::format("<polygon points=\"{}\" fill=\"{}\" stroke=\"{}\" stroke-width=\"0.8\"/>", points,
                      outline.water ? "#eef4fa" : "#dde3d9", outline.water ? "#c3ccc0" : "#c3ccc0"));
    }
    // The graticule: every 30 degrees, the equator stronger.
    for (int lon = -150; lon <= 150; lon += 30) {
      raw(fmt::format("<line x1=\"{0:.1f}\" y1=\"0\" x2=\"{0:.1f}\" y2=\"{1:.0f}\" stroke=\"#b8c7d6\" "
                      "stroke-width=\"{2}\"/>",
                      x_of(lon), height, lon == 0 ? "1" : "0.5"));
    }
    for (int lat = -30; lat <= 60; lat += 30) {
      raw(fmt::format("<line x1=\"0\" y1=\"{0:.1f}\" x2=\"1000\" y2=\"{0:.1f}\" stroke=\"#b8c7d6\" "
                      "stroke-width=\"{1}\"/>",
                      y_of(lat), lat == 0 ? "1.2" : "0.5"));
      raw(fmt::format("<text x=\"4\" y=\"{:.1f}\" font-size=\"10\" fill=\"#8296aa\">{}°{}</text>", y_of(lat) - 3,
                      std::abs(lat), lat > 0 ? "N" : lat < 0 ? "S" : ""));
    }
    std::uint64_t max_bytes = 1;
    for (const auto& g : facts_.countries) {
      if (is_code(g.key)) max_bytes = std::max(max_bytes, g.bytes_out);
    }
    const auto radius = [&](std::uint64_t bytes) {
      return 5.0 + 22.0 * std::sqrt(static_cast<double>(bytes) / static_cast<double>(max_bytes));
    };
    // Lines from where the servers are to where their operators are answerable.
    std::map<std::string, std::uint64_t> operator_marks;
    for (const auto& [pair, bytes] : facts_.crossings) {
      const auto from = find_country(pair.first);
      const auto to = find_country(pair.second);
      if (!from || !to) continue;
      operator_marks[pair.second] += bytes;
      const double x1 = x_of(from->lon);
      const double y1 = y_of(from->lat);
      const double x2 = x_of(to->lon);
      const double y2 = y_of(to->lat);
      // Bend the line upwards so that opposite directions do not overlap.
      const double mx = (x1 + x2) / 2;
      const double my = (y1 + y2) / 2 - std::abs(x2 - x1) * 0.18 - 12;
      raw(fmt::format("<path d=\"M{:.1f},{:.1f} Q{:.1f},{:.1f} {:.1f},{:.1f}\" fill=\"none\" stroke=\"#5b3f8c\" "
                      "stroke-width=\"1.8\" stroke-dasharray=\"6 4\" opacity=\"0.85\"><title>servers in {} run by "
                      "operators under {} law: {} sent</title></path>",
                      x1, y1, mx, my, x2, y2, esc(pair.first), esc(pair.second), bytes_text(bytes)));
    }
    std::size_t unplaced = 0;
    std::uint64_t unplaced_bytes = 0;
    struct Spot {
      double x, y, r;
      const Group* g;
    };
    std::vector<Spot> spots;
    for (const auto& g : facts_.countries) {
      const auto c = is_code(g.key) ? find_country(g.key) : std::nullopt;
      if (!c) {
        unplaced += g.destinations;
        unplaced_bytes += g.bytes_out;
        continue;
      }
      spots.push_back(Spot{x_of(c->lon), y_of(c->lat), radius(g.bytes_out), &g});
    }
    // Largest first, so that small circles stay visible on top.
    for (const auto& s : spots) {
      raw(fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{:.1f}\" fill=\"{}\" fill-opacity=\"0.78\" "
                      "stroke=\"#fff\" stroke-width=\"1.5\"><title>{}: {} sent to {}, worst finding {}</title></circle>",
                      s.x, s.y, s.r, colour_of(s.g->worst), esc(group_label(s.g->key)), bytes_text(s.g->bytes_out),
                      plural(s.g->destinations, "destination", "destinations"), severity_text(s.g->worst)));
    }
    for (const auto& [code, bytes] : operator_marks) {
      const auto c = find_country(code);
      const double x = x_of(c->lon);
      const double y = y_of(c->lat);
      // Below the country's own circle when it has one, so the two labels do not collide.
      double below = 24;
      for (const auto& s : spots) {
        if (s.g->key == code) below = std::max(below, s.r + 16);
      }
      raw(fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"14\" height=\"14\" transform=\"rotate(45 {:.1f} {:.1f})\" "
                      "fill=\"#fff\" stroke=\"#5b3f8c\" stroke-width=\"2.5\"/>",
                      x - 7, y - 7, x, y));
      raw(fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"13\" font-weight=\"bold\" fill=\"#5b3f8c\" "
                      "text-anchor=\"middle\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">operator law: {}"
                      "</text>",
                      x, y + below, esc(code)));
    }
    // Labels for the countries that received most; the rest keep their tooltip (a map with fifty
    // overlapping labels reads worse than one with fifteen).
    constexpr std::size_t kMaxLabels = 15;
    for (std::size_t k = 0; k < spots.size() && k < kMaxLabels; ++k) {
      const Spot& s = spots[k];
      raw(fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"13\" fill=\"#1c2733\" stroke=\"#fff\" "
                      "stroke-width=\"3\" paint-order=\"stroke\"><tspan font-weight=\"bold\">{}</tspan> {}</text>",
                      s.x + s.r + 4, s.y + 4, esc(s.g->key), bytes_text(s.g->bytes_out)));
    }
    raw("</svg>\n");
    raw("<div class=\"legend\"><span>Circle: server country, area by bytes sent, colour by worst finding</span>"
        "<span>Dashed line to ◇: the operator's jurisdiction, where it differs from the server's country</span>"
        "<span>Centres and outlines are approximate</span></div>\n");
    if (unplaced != 0) {
      raw(fmt::format("<p class=\"note\">Not on the map: {} without a known country ({} sent): local network "
                      "addresses or no database answer.</p>\n",
                      plural(unplaced, "destination", "destinations"), bytes_text(unplaced_bytes)));
    }
    raw("</div>\n");
  }

  std::string destination_text(std::size_t i) const {
    const auto& d = r_.destinations[i];
    const std::string where =
        fmt::format("{}:{}/{}", d.ip.to_string(), d.port, rules::eval::transport_name(d.protocol));
    if (d.hostname.empty()) return fmt::format("<span class=\"mono\">{}</span>", esc(where));
    return fmt::format("<b>{}</b> <span class=\"mono\">{}</span>", esc(d.hostname), esc(where));
  }

  void finding_item(const rules::eval::Finding& f) {
    const rules::Rule& rule = *f.rule;
    raw(fmt::format("<div class=\"finding\"><div class=\"msg\">{}</div><div class=\"evidence\">",
                    esc(f.message)));
    if (f.destination && *f.destination < r_.destinations.size()) {
      raw(fmt::format("<span>{}</span>", destination_text(*f.destination)));
    } else if (!f.evidence.dns_query.empty()) {
      raw(fmt::format("<span>DNS query <b>{}</b></span>", esc(f.evidence.dns_query)));
    }
    const bool dns = rule.scope == rules::lang::Scope::kDns;
    raw(fmt::format("<span>{}</span>", plural(f.evidence.flows, dns ? "query" : "flow", dns ? "queries" : "flows")));
    if (f.evidence.bytes_out != 0 || f.evidence.bytes_in != 0) {
      raw(fmt::format("<span>sent <b>{}</b></span><span>received {}</span>", bytes_text(f.evidence.bytes_out),
                      bytes_text(f.evidence.bytes_in)));
    }
    if (f.evidence.first_seen != 0) {
      raw(fmt::format("<span>first seen {}</span>", time_text(f.evidence.first_seen, true)));
    }
    if (!f.evidence.hostname_source.empty()) {
      raw(fmt::format("<span>name from {}</span>", esc(f.evidence.hostname_source)));
    }
    if (f.waiver != nullptr) {
      raw(fmt::format("<span>waived until {}: {}</span>", esc(rules::format_date(f.waiver->expires)),
                      esc(f.waiver->reason)));
    }
    raw("</div></div>\n");
  }

  void rule_header(const rules::Rule& rule, std::size_t count, bool waived) {
    const int sev = static_cast<int>(rule.severity);
    raw(fmt::format("<article class=\"rule\" style=\"border-left-color:{}\"><h4>{} {} <span class=\"id\">{} · {} "
                    "pack{}</span></h4>\n",
                    waived ? kNeutralColour : colour_of(sev), badge(sev), esc(rule.title), esc(rule.id), esc(rule.pack),
                    count > 1 ? fmt::format(" · {} findings", count) : std::string()));
    if (!rule.description.empty()) raw(fmt::format("<p>{}</p>\n", esc(rule.description)));
    if (!rule.remediation.empty()) {
      raw(fmt::format("<p class=\"remedy\"><b>What to do:</b> {}</p>\n", esc(rule.remediation)));
    }
    if (!rule.references.empty()) {
      raw("<ul class=\"refs\">");
      for (const auto& ref : rule.references) {
        const std::string title = ref.title.empty() ? ref.url : ref.title;
        if (linkable(ref.url)) {
          raw(fmt::format("<li><a href=\"{}\" rel=\"noopener noreferrer\">{}</a></li>", esc(ref.url), esc(title)));
        } else {
          raw(fmt::format("<li>{} ({})</li>", esc(title), esc(ref.url)));
        }
      }
      raw("</ul>\n");
    }
  }

  // Findings come sorted by severity, then rule: consecutive runs of one rule make one card.
  void rule_cards(const std::vector<const rules::eval::Finding*>& list, bool waived) {
    std::size_t i = 0;
    while (i < list.size()) {
      std::size_t j = i;
      while (j < list.size() && list[j]->rule == list[i]->rule) ++j;
      rule_header(*list[i]->rule, j - i, waived);
      for (std::size_t k = i; k < j; ++k) finding_item(*list[k]);
      raw("</article>\n");
      i = j;
    }
  }

  void findings() {
    raw("<h2>Findings</h2>\n");
    const auto* e = evaluation();
    if (e == nullptr) {
      raw("<p class=\"muted\">Not evaluated: no policy was run.</p>\n");
      return;
    }
    if (e->findings.empty()) {
      raw("<p>The policy found nothing in this capture.</p>\n");
      return;
    }
    std::array<std::vector<const rules::eval::Finding*>, rules::kSeverityCount> by_severity;
    std::vector<const rules::eval::Finding*> waived;
    for (const auto& f : e->findings) {
      if (f.waiver != nullptr) {
        waived.push_back(&f);
      } else {
        by_severity[static_cast<std::size_t>(f.rule->severity)].push_back(&f);
      }
    }
    for (std::size_t s = rules::kSeverityCount; s-- > 0;) {
      if (by_severity[s].empty()) continue;
      std::string name(rules::severity_name(static_cast<rules::Severity>(s)));
      if (!name.empty()) name[0] = static_cast<char>(name[0] - 'a' + 'A');
      raw(fmt::format("<section class=\"sevgroup\"><h3>{} {}</h3>\n", badge(static_cast<int>(s)),
                      plural(by_severity[s].size(), "finding", "findings")));
      rule_cards(by_severity[s], false);
      raw("</section>\n");
    }
    if (!waived.empty()) {
      raw(fmt::format("<section class=\"sevgroup\"><h3>Waived: {} (listed, not counted)</h3>\n", waived.size()));
      rule_cards(waived, true);
      raw("</section>\n");
    }
    if (e->dropped != 0) {
      raw(fmt::format("<p class=\"note\">{} more findings are counted but not listed: a rule lists at most {}.</p>\n",
                      e->dropped, rules::eval::kMaxFindingsPerRule));
    }
  }

  void destinations() {
    raw("<h2>Destinations</h2>\n");
    const std::size_t shown = std::min(r_.destinations.size(), kHtmlMaxDestinations);
    raw(fmt::format("<p class=\"muted\">By bytes sent{}. <b>Name from</b>: tls-sni and quic-sni are the name the app "
                    "asked for in the TLS or QUIC handshake; proxy-connect and socks the host it asked its proxy for; "
                    "http-host the Host header of plain HTTP; dns the DNS "
                    "answer that gave the address. A highlighted jurisdiction differs from the server's country.</p>\n",
                    shown < r_.destinations.size()
                        ? fmt::format(": the first {} of {} (the JSON report lists them all)", shown,
                                      r_.destinations.size())
                        : std::string()));
    raw("<table class=\"dest\"><thead><tr><th>Host</th><th>Name from</th><th>Server</th><th>Protocol</th><th>Encrypted</th>"
        "<th>Country, AS organisation</th><th>Service, operator</th><th>Juris&shy;diction</th>"
        "<th class=\"num\">Sent</th><th class=\"num\">Received</th><th class=\"num\">Flows</th><th>Worst finding</th>"
        "</tr></thead><tbody>\n");
    for (std::size_t i = 0; i < shown; ++i) {
      const auto& d = r_.destinations[i];
      const auto* e = facts_.enrichment(i);
      std::string host = d.hostname.empty() ? std::string("<span class=\"muted\">(unnamed)</span>") : esc(d.hostname);
      std::size_t others = 0;
      std::string also;
      for (const auto& n : d.names) {
        if (n.name == d.hostname) continue;
        if (++others <= 3) also += (also.empty() ? "" : ", ") + esc(n.name);
      }
      if (others > 3) also += fmt::format(" and {} more", others - 3);
      if (!also.empty()) host += fmt::format("<br><span class=\"muted\">also: {}</span>", also);
      const std::string encrypted = d.encrypted == 1   ? "yes"
                                    : d.encrypted == 0 ? "<span class=\"plain\">NO</span>"
                                                       : "<span class=\"muted\">unknown</span>";
      std::string country = "<span class=\"muted\">-</span>";
      std::string as_org;
      std::string service;
      std::string op;
      std::string jurisdiction = "<span class=\"muted\">-</span>";
      bool differs = false;
      if (e != nullptr) {
        if (!e->geo.country.empty()) {
          country = esc(e->geo.country);
        } else if (e->geo.special != analysis::enrich::SpecialRange::kNone) {
          country = fmt::format("<span class=\"muted\">{}</span>",
                                esc(analysis::enrich::special_range_name(e->geo.special)));
        }
        if (e->geo.asn != 0) as_org = fmt::format("AS{} {}", e->geo.asn, esc(e->geo.as_org));
        if (e->service != nullptr) {
          service = esc(e->service->name);
          op = esc(e->service->operator_name);
          jurisdiction = esc(e->service->jurisdiction);
          differs = !e->geo.country.empty() && !e->service->jurisdiction.empty() &&
                    e->geo.country != e->service->jurisdiction;
        }
      }
      if (!as_org.empty()) country += "<br><span class=\"muted\">" + as_org + "</span>";
      if (!op.empty()) service += "<br><span class=\"muted\">" + op + "</span>";
      raw(fmt::format("<tr><td class=\"host\">{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td>"
                      "<td>{}</td><td>{}</td><td{}>{}</td><td class=\"num\">{}</td>"
                      "<td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
                      host, d.hostname_source.empty() ? "<span class=\"muted\">-</span>" : esc(d.hostname_source),
                      esc(fmt::format("{}:{}/{}", d.ip.to_string(), d.port, rules::eval::transport_name(d.protocol))),
                      d.app_protocol.empty() ? "<span class=\"muted\">-</span>" : esc(d.app_protocol), encrypted,
                      country, service, differs ? " class=\"differs\"" : "", jurisdiction,
                      bytes_text(d.bytes_out), bytes_text(d.bytes_in), d.flows,
                      facts_.worst[i] < 0 ? std::string() : badge(facts_.worst[i])));
    }
    raw("</tbody></table>\n");
    if (shown < r_.destinations.size()) {
      raw(fmt::format("<p class=\"note\">{} more destinations are not shown here.</p>\n",
                      r_.destinations.size() - shown));
    }
  }

  // Every reconstructed HTTP request (decrypted TLS, plaintext HTTP), one table per destination (the
  // flow's name, or its server address), destinations in the order of their first flow. Bodies are
  // never shown, only their sizes; paths are redacted like every other path of the report.
  void requests() {
    std::vector<std::string> order;
    std::map<std::string, std::vector<const analysis::FlowRow*>> by_dest;
    std::size_t total = 0;
    for (const analysis::FlowRow& f : r_.flows) {
      if (!f.details || !f.details->requests || f.details->requests->list.empty()) continue;
      const std::string key = !f.name.hostname.empty()
                                  ? std::string(f.name.hostname)
                                  : fmt::format("{}:{}", f.key.addr[f.server()].to_string(), f.key.port[f.server()]);
      auto [it, fresh] = by_dest.try_emplace(key);
      if (fresh) order.push_back(key);
      it->second.push_back(&f);
      total += f.details->requests->list.size();
    }
    if (total == 0) return;
    raw("<h2>What was sent: requests</h2>\n");
    raw(fmt::format("<p class=\"muted\">{} HTTP requests reconstructed (decrypted with the key log, or plain HTTP). Bodies are "
                    "not shown: <b>Sent</b> and <b>Received</b> are body sizes on the wire and, after a content coding, "
                    "decoded.</p>\n", total));
    std::size_t rows = 0;
    for (const std::string& dest : order) {
      if (rows >= kHtmlMaxRequests) break;
      raw(fmt::format("<h3 class=\"host\">{}</h3>\n", esc(dest)));
      raw("<table class=\"req\"><thead><tr><th>Method</th><th>URL</th><th class=\"num\">Status</th><th>Sent type</th>"
          "<th class=\"num\">Sent</th><th>Received type</th><th class=\"num\">Received</th><th>Notes</th></tr></thead><tbody>\n");
      for (const analysis::FlowRow* f : by_dest[dest]) {
        const auto& x = *f->details->requests;
        for (const auto& e : x.list) {
          if (rows++ >= kHtmlMaxRequests) break;
          const auto size = [&](std::uint64_t wire, std::uint64_t decoded, analysis::http::DecodeState st) {
            std::string t = bytes_text(wire);
            if (st != analysis::http::DecodeState::kIdentity) {
              t += fmt::format("<br><span class=\"muted\">{} decoded{}</span>", bytes_text(decoded),
                               st == analysis::http::DecodeState::kDone ? std::string()
                                                                        : ", " + esc(analysis::http::to_string(st)));
            }
            return t;
          };
          std::string notes;
          const auto note = [&](const std::string& n) { notes += (notes.empty() ? "" : "; ") + n; };
          if (e.event_stream) note(fmt::format("{} server-sent events", e.sse.events));
          if (e.upgrade) note("upgraded");
          if (e.ws.messages[0] + e.ws.messages[1] > 0) {
            note(fmt::format("WebSocket: {} messages out ({}), {} in ({}){}", e.ws.messages[0],
                             bytes_text(e.ws.payload_bytes[0]), e.ws.messages[1], bytes_text(e.ws.payload_bytes[1]),
                             e.ws.deflate ? ", permessage-deflate" : ""));
          }
          if (!e.request_complete) note("request not seen whole");
          const std::string url = fmt::format("{}://{}{}", x.scheme, e.authority, core::redact_target(e.path, options_.redact));
          const auto type = [&](const std::string& t, const std::string& enc) {
            if (t.empty() && enc.empty()) return std::string("<span class=\"muted\">-</span>");
            return esc(t) + (enc.empty() ? std::string() : "<br><span class=\"muted\">" + esc(enc) + "</span>");
          };
          raw(fmt::format("<tr><td>{}</td><td class=\"mono\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}"
                          "</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
                          esc(e.method), esc(url), e.status == 0 ? std::string("-") : std::to_string(e.status),
                          type(e.request_content_type, e.request_content_encoding),
                          size(e.request_body_bytes, e.request_body_decoded_bytes, e.request_decoding),
                          type(e.response_content_type, e.response_content_encoding),
                          size(e.response_body_bytes, e.response_body_decoded_bytes, e.response_decoding), esc(notes)));
        }
      }
      raw("</tbody></table>\n");
    }
    if (rows > kHtmlMaxRequests) {
      raw(fmt::format("<p class=\"note\">Only the first {} of {} requests are shown here (the JSON report lists them all).</p>\n",
                      kHtmlMaxRequests, total));
    }
  }

  // Why the flows without a name have none: "nobody can know" apart from "flowaudit did not look".
  void unnamed() {
    const auto& u = r_.coverage.unnamed;
    std::uint64_t total = 0;
    for (std::size_t i = 1; i < u.size(); ++i) total += u[i];
    if (total == 0) return;
    raw("<h3>Flows without a name</h3><table><thead><tr><th>Why</th><th class=\"num\">Flows</th><th>Meaning</th></tr>"
        "</thead><tbody>\n");
    for (std::size_t i = 1; i < u.size(); ++i) {
      if (u[i] == 0) continue;
      const auto reason = static_cast<analysis::app::UnnamedReason>(i);
      raw(fmt::format("<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n", esc(analysis::app::to_string(reason)),
                      u[i], esc(analysis::app::explain(reason))));
    }
    raw("</tbody></table>\n");
  }

  void coverage() {
    const auto& c = r_.coverage;
    raw("<h2>What could be seen</h2>\n");
    raw(fmt::format("<p>Named: <b>{:.0f}%</b> of flows ({} of {}) and <b>{:.0f}%</b> of bytes sent ({} of {}). "
                    "Flows without a name are listed by address only.</p>\n",
                    c.flow_share() * 100.0, c.named_flows, c.flows, c.bytes_out_share() * 100.0,
                    bytes_text(c.named_bytes_out), bytes_text(c.bytes_out)));
    static constexpr std::array<std::string_view, analysis::app::kBlindSpotKinds> kExplain = {
        "",
        "TLS with Encrypted Client Hello: the real server name is hidden",
        "DNS over TLS: the names asked are hidden",
        "DNS over HTTPS to a public resolver: the names asked are hidden",
        "QUIC that could not be decrypted: no server name",
        "UDP of no known protocol",
        "An inspection limit was crossed (oversized HTTP head or TLS handshake, TCP reordering): what the "
        "flow sent may be hidden",
        "TLS whose keys were not in the key log: what it sent could not be decrypted",
    };
    std::uint64_t total = 0;
    for (std::size_t i = 1; i < c.blind_spots.size(); ++i) total += c.blind_spots[i];
    if (total == 0) {
      raw("<p>Blind spots: none (no flow used ECH, encrypted DNS, undecryptable QUIC or unknown UDP, or crossed an inspection limit).</p>\n");
    } else {
      raw("<h3>Blind spots</h3><table><thead><tr><th>Kind</th><th class=\"num\">Flows</th><th>Meaning</th></tr>"
          "</thead><tbody>\n");
      for (std::size_t i = 1; i < c.blind_spots.size(); ++i) {
        if (c.blind_spots[i] == 0) continue;
        raw(fmt::format("<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
                        analysis::app::to_string(static_cast<analysis::app::BlindSpot>(i)), c.blind_spots[i],
                        kExplain[i]));
      }
      raw("</tbody></table>\n");
    }
    unnamed();
    const auto& fs = r_.flow_stats;
    raw(fmt::format("<p class=\"muted\">Decoding: {} malformed packets, {} on unsupported links, {} flows evicted from "
                    "a full flow table. Only the first bytes of each flow are inspected.</p>\n",
                    r_.decode.malformed, r_.decode.unsupported_link, fs.evicted));
  }

  void warnings() {
    std::vector<const std::string*> all;
    for (const auto& w : r_.warnings) all.push_back(&w);
    if (evaluation() != nullptr) {
      for (const auto& w : evaluation()->warnings) all.push_back(&w);
    }
    raw("<h2>Warnings</h2>\n");
    if (all.empty()) {
      raw("<p class=\"muted\">None.</p>\n");
      return;
    }
    constexpr std::size_t kMaxWarnings = 200;
    raw("<ul>");
    for (std::size_t i = 0; i < all.size() && i < kMaxWarnings; ++i) {
      raw(fmt::format("<li class=\"warn\">{}</li>", esc(*all[i])));
    }
    raw("</ul>\n");
    if (all.size() > kMaxWarnings) {
      raw(fmt::format("<p class=\"note\">{} more warnings in the JSON report.</p>\n", all.size() - kMaxWarnings));
    }
  }

  void inputs_and_policy() {
    raw("<h2>Inputs and policy</h2>\n");
    raw("<table><thead><tr><th>File</th><th>Format</th><th>Links</th><th class=\"num\">Packets</th>"
        "<th class=\"num\">Bytes</th><th>Read</th></tr></thead><tbody>\n");
    for (const auto& in : r_.inputs) {
      std::string links;
      for (const auto lt : in.link_types) links += (links.empty() ? "" : ", ") + capture::link_type_name(lt);
      raw(fmt::format("<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>"
                      "<td class=\"num\">{}</td><td>{}</td></tr>\n",
                      esc(in.path), esc(in.format), esc(links), in.packets, bytes_text(in.bytes),
                      in.complete ? std::string("complete")
                                  : fmt::format("<span class=\"plain\">incomplete</span> {}", esc(in.error))));
    }
    raw("</tbody></table>\n");
    if (outcome_ == nullptr || outcome_->policy == nullptr) {
      raw("<p class=\"muted\">Policy: none (not evaluated).</p>\n");
      return;
    }
    const rules::Policy& p = *outcome_->policy;
    raw("<p>Policy files: ");
    for (std::size_t i = 0; i < p.files.size(); ++i) {
      raw(fmt::format("{}<b>{}</b> <span class=\"muted\">({})</span>", i == 0 ? "" : ", ", esc(p.files[i].name),
                      plural(p.files[i].rules, "rule", "rules")));
    }
    raw(".</p>\n");
    if (!p.waivers.empty()) {
      raw("<ul>");
      for (const auto& w : p.waivers) {
        raw(fmt::format("<li>Waiver for <code>{}</code>{} until {}{}: {}</li>", esc(w.rule),
                        w.condition.empty() ? std::string() : " when <code>" + esc(w.condition) + "</code>",
                        esc(rules::format_date(w.expires)), w.expired ? " (expired, not applied)" : "", esc(w.reason)));
      }
      raw("</ul>\n");
    }
  }

  void databases() {
    raw("<h2>Geolocation databases</h2>\n");
    if (r_.geo_databases.empty()) {
      raw("<p>No geolocation database was used: server countries and AS organisations are unknown. "
          "<code>scripts/fetch-geodb</code> downloads free ones.</p>\n");
      return;
    }
    raw("<table><thead><tr><th>File</th><th>Type</th><th>Built</th><th>Description</th><th>Attribution</th></tr>"
        "</thead><tbody>\n");
    for (const auto& db : r_.geo_databases) {
      raw(fmt::format("<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                      esc(base_name(db.path)), esc(db.database_type), esc(db.build_date), esc(db.description),
                      db.attribution.empty() ? std::string("<span class=\"muted\">none asked for</span>")
                                             : linkify(db.attribution)));
    }
    raw("</tbody></table>\n");
    raw("<p class=\"note\">Geolocation places an address, not a company: a server's country says where the "
        "machine answered, the jurisdiction column says whose law its operator is under.</p>\n");
  }

  const analysis::AuditResult& r_;
  const PolicyOutcome* outcome_;
  ReportOptions options_;
  Output& out_;
  Facts facts_;
};

}  // namespace

void write_html(const ReportInput& input, const ReportOptions& options, Output& out) {
  // Nothing may escape into the caller: a report that runs out of memory ends where it stopped and
  // says so (the other reports of the run are still written).
  try {
    Writer(input.result, input.outcome, options, out).write();
  } catch (const std::exception&) {
    out.write("\n<p>flowaudit: the HTML report could not be completed (out of memory).</p>\n");
  }
}

}  // namespace flowaudit::report
