#include "report/sarif_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/escape.h"
#include "core/timestamp.h"
#include "core/utf8.h"
#include "report/findings_report.h"
#include "report/json_writer.h"
#include "report/what_left.h"
#include "rules/eval/records.h"

namespace flowaudit::report {
namespace {

// SARIF's levels: GitHub shows error/warning/note; critical and high must block, medium warn.
const char* level(rules::Severity s) noexcept {
  switch (s) {
    case rules::Severity::kCritical:
    case rules::Severity::kHigh: return "error";
    case rules::Severity::kMedium: return "warning";
    case rules::Severity::kLow:
    case rules::Severity::kInfo: return "note";
  }
  return "note";
}

// GitHub's "security-severity" property: a CVSS-like score as a string; its bands are
// critical >= 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9.
const char* security_severity(rules::Severity s) noexcept {
  switch (s) {
    case rules::Severity::kCritical: return "9.5";
    case rules::Severity::kHigh: return "8.0";
    case rules::Severity::kMedium: return "5.5";
    case rules::Severity::kLow: return "3.0";
    case rules::Severity::kInfo: return "1.0";
  }
  return "1.0";
}

// A URI reference for a capture path as the user gave it: relative paths stay relative (GitHub
// resolves them against the repository), absolute ones become file: URIs; everything outside
// RFC 3986's unreserved characters and '/' is percent-encoded.
std::string path_uri(std::string_view path) {
  std::string out;
  if (path == "-") return "stdin";
  if (!path.empty() && path.front() == '/') out = "file://";
  for (const char ch : path) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '.' || c == '_' || c == '~' || c == '/';
    if (unreserved) {
      out.push_back(ch);
    } else {
      fmt::format_to(std::back_inserter(out), "%{:02X}", c);
    }
  }
  return out;
}

std::string endpoint(const core::IpAddress& ip, std::uint16_t port) {
  return ip.is_v6() ? fmt::format("[{}]:{}", ip.to_string(), port) : fmt::format("{}:{}", ip.to_string(), port);
}

// A live capture kept with --write: the file its packets are in (the interface is no artifact
// anyone can open).
const std::string* kept_file(const analysis::AuditResult& r, const capture::SourceInfo& in) {
  if (in.format != "live" || !r.live || r.live->written.empty()) return nullptr;
  return &r.live->written;
}

std::string artifact_uri(const analysis::AuditResult& r, const capture::SourceInfo& in) {
  const std::string* kept = kept_file(r, in);
  return path_uri(kept != nullptr ? *kept : in.path);
}

struct ByteRegion {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

// Where a flow's first packet is in the artifact: in a capture file, or in the file a live capture
// was kept in (up to the last block written). Standard input and a live capture without --write
// left no file to point into: no region then, rather than one that nothing can open.
std::optional<ByteRegion> packet_region(const analysis::AuditResult& r, const capture::SourceInfo& in,
                                        const analysis::flow::Flow& f) {
  if (f.first_packet_offset == 0 || in.path == "-") return std::nullopt;
  if (in.format == "live") {
    if (kept_file(r, in) == nullptr || f.first_packet_offset + f.first_packet_length > r.live->written_bytes) {
      return std::nullopt;
    }
  }
  return ByteRegion{f.first_packet_offset, f.first_packet_length};
}

// SARIF leaves unknown times out rather than writing null.
void timestamp(JsonWriter& w, const char* key, core::TimestampNs ns) {
  if (ns != 0) timestamp_field(w, key, ns);
}

void text_object(JsonWriter& w, const char* key, std::string_view text) {
  w.key(key);
  w.begin_object();
  w.field("text", text);
  w.end_object();
}

// A message object (result, notification): its text may quote the wire, so it is escaped. No
// "markdown" alternative is written, so no viewer renders Markdown from it.
void message_object(JsonWriter& w, std::string_view text) { text_object(w, "message", core::escape_sarif_text(text)); }

// The rules of the run: every enabled policy rule (they all ran, on every record of their scope),
// then the allowlist rules the evaluator made; index = ruleIndex.
std::vector<const rules::Rule*> run_rules(const PolicyOutcome* outcome) {
  std::vector<const rules::Rule*> rules;
  if (outcome == nullptr || outcome->policy == nullptr) return rules;
  for (const rules::Rule& r : outcome->policy->rules) {
    if (r.enabled) rules.push_back(&r);
  }
  if (outcome->evaluation != nullptr) {
    for (const rules::Rule& r : outcome->evaluation->synthetic_rules) rules.push_back(&r);
    // A finding's rule is always one of those; should one not be, it still gets a descriptor.
    for (const auto& f : outcome->evaluation->findings) {
      if (std::find(rules.begin(), rules.end(), f.rule) == rules.end()) rules.push_back(f.rule);
    }
  }
  return rules;
}

// YAML folded scalars end with a line break; SARIF viewers would show it.
std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void write_rule(JsonWriter& w, const rules::Rule& rule) {
  const std::string_view description = trimmed(rule.description);
  const std::string_view remediation = trimmed(rule.remediation);
  w.begin_object();
  w.field("id", rule.id);
  if (const std::string name = sarif_rule_name(rule.id); !name.empty()) w.field("name", name);
  text_object(w, "shortDescription", rule.title.empty() ? rule.id : rule.title);
  text_object(w, "fullDescription", description.empty() ? std::string_view(rule.title) : description);
  std::string text(description);
  std::string markdown(description);
  if (!remediation.empty()) {
    text += fmt::format("\n\nRemediation: {}", remediation);
    markdown += fmt::format("\n\n**Remediation:** {}", remediation);
  }
  if (!rule.references.empty()) {
    text += "\n\nReferences:";
    markdown += "\n\n**References:**\n";
    for (const auto& ref : rule.references) {
      text += "\n- " + (ref.title.empty() ? ref.url : ref.title + ": " + ref.url);
      // Titles are policy text: brackets in them would end the link text early.
      std::string title = ref.title.empty() ? ref.url : ref.title;
      for (auto& c : title) {
        if (c == '[' || c == ']') c = c == '[' ? '(' : ')';
      }
      markdown += fmt::format("\n- [{}](<{}>)", title, ref.url);
    }
  }
  w.key("help");
  w.begin_object();
  w.field("text", text);
  w.field("markdown", markdown);
  w.end_object();
  if (!rule.references.empty()) w.field("helpUri", rule.references.front().url);
  w.key("defaultConfiguration");
  w.begin_object();
  w.field("level", level(rule.severity));
  w.end_object();
  w.key("properties");
  w.begin_object();
  w.key("tags");
  w.begin_array();
  // GitHub applies security-severity to rules tagged "security".
  w.value("security");
  for (const auto& t : rule.tags) {
    if (t != "security") w.value(t);
  }
  w.end_array();
  w.field("severity", rules::severity_name(rule.severity));
  w.field("security-severity", security_severity(rule.severity));
  w.field("pack", rule.pack);
  w.field("scope", rules::lang::scope_name(rule.scope));
  w.field("condition", rule.condition);
  w.end_object();
  w.end_object();
}

using FlowIndex = std::unordered_map<std::uint64_t, const analysis::flow::Flow*>;

void write_result(JsonWriter& w, const analysis::AuditResult& r, const rules::eval::Finding& f, std::size_t rule_index,
                  const FlowIndex& flow_of) {
  const rules::Rule& rule = *f.rule;
  w.begin_object();
  w.field("ruleId", rule.id);
  w.field("ruleIndex", static_cast<std::uint64_t>(rule_index));
  w.field("level", level(rule.severity));
  message_object(w, f.message);
  // The capture the finding's first flow came from, and its first packet there: code scanning
  // wants a physical location, and the recording is the artifact the evidence is in.
  const analysis::flow::Flow* first = nullptr;
  if (!f.evidence.flow_ids.empty()) {
    if (const auto it = flow_of.find(f.evidence.flow_ids.front()); it != flow_of.end()) first = it->second;
  }
  const std::uint32_t input = first != nullptr ? first->input : 0;
  const analysis::flow::Destination* d =
      f.destination && *f.destination < r.destinations.size() ? &r.destinations[*f.destination] : nullptr;
  w.key("locations");
  w.begin_array();
  w.begin_object();
  if (input < r.inputs.size()) {
    w.key("physicalLocation");
    w.begin_object();
    w.key("artifactLocation");
    w.begin_object();
    w.field("uri", artifact_uri(r, r.inputs[input]));
    w.field("index", static_cast<std::uint64_t>(input));
    w.end_object();
    if (first != nullptr) {
      if (const auto region = packet_region(r, r.inputs[input], *first)) {
        // The first packet's captured bytes: a hex viewer opened at this range shows the packet.
        w.key("region");
        w.begin_object();
        w.field("byteOffset", region->offset);
        w.field("byteLength", region->length);
        w.end_object();
      }
    }
    w.end_object();
  }
  std::string ep;
  if (d != nullptr || !f.evidence.dns_query.empty()) {
    w.key("logicalLocations");
    w.begin_array();
    w.begin_object();
    if (d != nullptr) {
      ep = endpoint(d->ip, d->port);
      const std::string_view host = d->hostname.empty() ? std::string_view(ep) : std::string_view(d->hostname);
      w.field("name", d->hostname.empty() ? ep : fmt::format("{}:{}", host, d->port));
      w.field("fullyQualifiedName", fmt::format("{}/{}", ep, rules::eval::transport_name(d->protocol)));
    } else {
      w.field("name", f.evidence.dns_query);
      w.field("fullyQualifiedName", "dns:" + f.evidence.dns_query);
    }
    w.field("kind", "resource");
    w.end_object();
    w.end_array();
  }
  w.end_object();
  w.end_array();
  w.key("partialFingerprints");
  w.begin_object();
  w.field("flowaudit/v1", sarif_fingerprint(rule.id, ep.empty() ? std::string_view(f.evidence.dns_query) : ep,
                                             d != nullptr ? std::string_view(d->hostname) : std::string_view(),
                                             d != nullptr ? std::string_view(f.evidence.dns_query) : std::string_view()));
  w.end_object();
  if (f.waiver != nullptr) {
    w.key("suppressions");
    w.begin_array();
    w.begin_object();
    w.field("kind", "external");
    w.field("status", "accepted");
    w.field("justification", f.waiver->reason);
    w.key("properties");
    w.begin_object();
    w.field("expires", rules::format_date(f.waiver->expires));
    w.field("file", f.waiver->origin.file);
    w.field("line", f.waiver->origin.line);
    w.end_object();
    w.end_object();
    w.end_array();
  }
  const auto& e = f.evidence;
  w.key("properties");
  w.begin_object();
  w.field("severity", rules::severity_name(rule.severity));
  w.field("pack", rule.pack);
  w.field("flows", e.flows);
  w.key("flowIds");
  w.begin_array();
  for (const auto id : e.flow_ids) w.value(id);
  w.end_array();
  w.field("bytesOut", e.bytes_out);
  w.field("bytesIn", e.bytes_in);
  timestamp(w, "firstSeen", e.first_seen);
  timestamp(w, "lastSeen", e.last_seen);
  if (!e.hostname_source.empty()) w.field("hostnameSource", e.hostname_source);
  if (!e.dns_query.empty()) w.field("dnsQuery", e.dns_query);
  w.end_object();
  w.end_object();
}

void notification(JsonWriter& w, const char* lvl, std::string_view text) {
  w.begin_object();
  w.field("level", lvl);
  message_object(w, text);
  w.end_object();
}

}  // namespace

std::string sarif_fingerprint(std::string_view rule_id, std::string_view endpoint, std::string_view hostname,
                              std::string_view dns_query) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](std::string_view s) {
    for (const char c : s) {
      h ^= static_cast<unsigned char>(c);
      h *= 0x100000001b3ULL;
    }
    h ^= 0xFF;  // a separator no UTF-8 text contains, so ("ab","c") and ("a","bc") differ
    h *= 0x100000001b3ULL;
  };
  mix(rule_id);
  mix(endpoint);
  mix(hostname);
  if (!dns_query.empty()) mix(dns_query);
  return fmt::format("{:016x}", h);
}

std::string sarif_rule_name(std::string_view rule_id) {
  std::string name;
  bool word_start = true;
  for (const char ch : rule_id) {
    const bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    if (!alnum) {
      word_start = true;
      continue;
    }
    name.push_back(word_start && ch >= 'a' && ch <= 'z' ? static_cast<char>(ch - 'a' + 'A') : ch);
    word_start = false;
  }
  if (name == rule_id) name.clear();
  return name;
}

void write_sarif(const ReportInput& input, const ReportOptions& /*options: messages arrive redacted*/, Output& out) {
  const analysis::AuditResult& r = input.result;
  const PolicyOutcome* outcome = input.outcome;
  const std::vector<const rules::Rule*> rules = run_rules(outcome);
  std::unordered_map<const rules::Rule*, std::size_t> rule_index;
  for (std::size_t i = 0; i < rules.size(); ++i) rule_index.emplace(rules[i], i);
  FlowIndex flow_of;
  flow_of.reserve(r.flows.size());
  for (const auto& f : r.flows) flow_of.emplace(f.id, &f);

  JsonWriter w(out);
  w.begin_object();
  w.field("$schema", kSarifSchemaUri);
  w.field("version", "2.1.0");
  w.key("runs");
  w.begin_array();
  w.begin_object();
  w.key("tool");
  w.begin_object();
  w.key("driver");
  w.begin_object();
  w.field("name", "flowaudit");
  w.field("version", FLOWAUDIT_VERSION);
  w.field("semanticVersion", FLOWAUDIT_VERSION);
  w.field("informationUri", kSarifInformationUri);
  w.key("rules");
  w.begin_array();
  for (const rules::Rule* rule : rules) write_rule(w, *rule);
  w.end_array();
  w.end_object();
  w.end_object();

  bool any_read = false;
  for (const auto& in : r.inputs) any_read = any_read || in.packets > 0 || in.error.empty();
  w.key("invocations");
  w.begin_array();
  w.begin_object();
  w.field("executionSuccessful", any_read);
  w.key("toolExecutionNotifications");
  w.begin_array();
  for (const auto& in : r.inputs) {
    if (!in.error.empty()) notification(w, "error", in.error);
  }
  for (const auto& warning : r.warnings) notification(w, "warning", warning);
  if (outcome != nullptr && outcome->evaluation != nullptr) {
    for (const auto& warning : outcome->evaluation->warnings) notification(w, "warning", warning);
  }
  w.end_array();
  w.end_object();
  w.end_array();

  w.key("artifacts");
  w.begin_array();
  for (const auto& in : r.inputs) {
    w.begin_object();
    w.key("location");
    w.begin_object();
    w.field("uri", artifact_uri(r, in));
    w.end_object();
    w.key("roles");
    w.begin_array();
    w.value("analysisTarget");
    w.end_array();
    const bool pcapng = in.format == "pcapng" || kept_file(r, in) != nullptr;
    w.field("mimeType", pcapng ? "application/x-pcapng" : "application/vnd.tcpdump.pcap");
    w.key("properties");
    w.begin_object();
    w.field("format", in.format);
    if (kept_file(r, in) != nullptr) w.field("interface", in.path);
    w.field("packets", in.packets);
    w.field("complete", in.complete);
    w.end_object();
    w.end_object();
  }
  w.end_array();

  w.key("results");
  w.begin_array();
  if (outcome != nullptr && outcome->evaluation != nullptr) {
    for (const auto& f : outcome->evaluation->findings) {
      const auto it = rule_index.find(f.rule);  // always there: run_rules adds every finding's rule
      write_result(w, r, f, it != rule_index.end() ? it->second : 0, flow_of);
    }
  }
  w.end_array();

  w.key("properties");
  w.begin_object();
  const bool evaluated = outcome != nullptr && outcome->evaluation != nullptr;
  w.field("verdict", evaluated ? outcome->evaluation->verdict() : "not-evaluated");
  if (evaluated) {
    w.field("failOn", outcome->fail_on);
  } else {
    w.null_field("failOn");
  }
  // What left (report/what_left.h) in the run's property bag (SARIF 2.1.0 section 3.8). The results
  // are policy findings, and none of them is about a request's data: the inspector's findings are
  // facts, not rule violations, and a result per finding would flood code scanning with one alert per
  // e-mail address. A rule in the policy that judges them (the data-leaks pack) makes its own results;
  // this bag carries the matrix for whoever reads the log, with the same rows as the JSON report's
  // what_left (the same object, written by write_what_left_json, so its keys are the JSON report's).
  // Never a value.
  write_what_left_json(w, what_left(r), "whatLeft");
  w.end_object();
  w.end_object();
  w.end_array();
  w.end_object();
  w.flush();
}

}  // namespace flowaudit::report
