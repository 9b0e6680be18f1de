#include "report/diff.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "core/escape.h"
#include "core/format.h"
#include "report/json_writer.h"
#include "report/text_report.h"

namespace flowaudit::report {
namespace {

namespace json = boost::json;

// Reports come from files the user names: every field is read defensively, a wrong type is the
// same as a missing field.
std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::uint64_t num(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64()) return v->as_int64() > 0 ? static_cast<std::uint64_t>(v->as_int64()) : 0;
  return 0;
}

const json::object* obj(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->as_object() : nullptr;
}

// An array the diff counts on. Missing, not an array, or holding a non-object is an error: read as
// empty, a damaged report would show every destination as gone.
const json::array* objects(const json::object& o, std::string_view key, const std::string& label,
                           std::string& error) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) {
    error = fmt::format("{}: \"{}\" is {}, not an array", label, key, v == nullptr ? "missing" : "of another type");
    return nullptr;
  }
  for (std::size_t i = 0; i < v->as_array().size(); ++i) {
    if (!v->as_array()[i].is_object()) {
      error = fmt::format("{}: {}[{}] is not an object", label, key, i);
      return nullptr;
    }
  }
  return &v->as_array();
}

std::string destination_key(const std::string& hostname, const std::string& ip, std::uint64_t port,
                            const std::string& transport) {
  return (hostname.empty() ? ip : hostname) + ":" + std::to_string(port) + "/" + transport;
}

std::string join(const std::set<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out.empty() ? "-" : out;
}

template <typename T, typename Key>
std::vector<const T*> only_in(const std::vector<T>& a, const std::vector<T>& b, Key key) {
  std::vector<const T*> out;
  for (const T& x : a) {
    const bool found = std::binary_search(b.begin(), b.end(), x, [&](const T& l, const T& r) { return key(l) < key(r); });
    if (!found) out.push_back(&x);
  }
  return out;
}

std::set<std::string> difference(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::set<std::string> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}

}  // namespace

std::optional<DiffSide> diff_side_from_report(const json::value& report, std::string label, std::string& error) {
  if (!report.is_object() || str(report.as_object(), "schema") != "flowaudit.report/v1") {
    error = label + ": not a flowaudit report (no \"schema\": \"flowaudit.report/v1\")";
    return std::nullopt;
  }
  const json::object& r = report.as_object();
  DiffSide side;
  side.label = std::move(label);
  if (const auto* summary = obj(r, "summary")) side.verdict = str(*summary, "verdict");
  const json::array* destinations = objects(r, "destinations", side.label, error);
  const json::array* findings = destinations != nullptr ? objects(r, "findings", side.label, error) : nullptr;
  if (findings == nullptr) return std::nullopt;
  std::map<std::string, DiffDestination> by_key;
  for (const auto& v : *destinations) {
    const json::object& d = v.as_object();
    const std::string hostname = str(d, "hostname");
    const std::string ip = str(d, "ip");
    const std::uint64_t port = num(d, "port");
    const std::string transport = str(d, "transport");
    const std::string key = destination_key(hostname, ip, port, transport);
    DiffDestination& out = by_key[key];
    out.key = key;
    out.hostname = hostname;
    out.port = static_cast<std::uint16_t>(port);
    out.transport = transport;
    if (!ip.empty()) out.ips.insert(ip);
    if (const auto* geo = obj(d, "geo")) {
      if (const std::string c = str(*geo, "country"); !c.empty()) out.countries.insert(c);
    }
    if (const auto* service = obj(d, "service")) {
      out.service_id = str(*service, "id");
      out.service_name = str(*service, "name");
      out.operator_name = str(*service, "operator");
      out.jurisdiction = str(*service, "jurisdiction");
    }
    const json::value* enc = d.if_contains("encrypted");
    const int e = enc != nullptr && enc->is_bool() ? (enc->as_bool() ? 1 : 0) : -1;
    out.encrypted = out.encrypted == 0 || e == 0 ? 0 : std::max(out.encrypted, e);
    out.bytes_out += num(d, "bytes_out");
    out.flows += num(d, "flows");
  }
  for (auto& [key, d] : by_key) side.destinations.push_back(std::move(d));
  for (const auto& v : *findings) {
    const json::object& f = v.as_object();
    DiffFinding out;
    out.rule = str(f, "rule");
    out.severity = rules::parse_severity(str(f, "severity")).value_or(rules::Severity::kInfo);
    out.title = str(f, "title");
    out.message = str(f, "message");
    const json::value* waived = f.if_contains("waived");
    out.waived = waived != nullptr && waived->is_object();
    if (const auto* d = obj(f, "destination")) {
      out.target = destination_key(str(*d, "hostname"), str(*d, "ip"), num(*d, "port"), str(*d, "transport"));
    }
    if (const auto* e = obj(f, "evidence"); e != nullptr && !str(*e, "dns_query").empty()) {
      out.target = "dns:" + str(*e, "dns_query");
    }
    if (out.target.empty()) out.target = "capture";
    out.key = out.rule + " " + out.target;
    side.findings.push_back(std::move(out));
  }
  std::sort(side.findings.begin(), side.findings.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  side.findings.erase(std::unique(side.findings.begin(), side.findings.end(),
                                  [](const auto& a, const auto& b) { return a.key == b.key; }),
                      side.findings.end());
  return side;
}

DiffResult compare(const DiffSide& baseline, const DiffSide& next, std::optional<rules::Severity> fail_on,
                   std::string fail_on_text) {
  DiffResult out;
  out.fail_on = std::move(fail_on_text);
  const auto dkey = [](const DiffDestination& d) -> const std::string& { return d.key; };
  out.added = only_in(next.destinations, baseline.destinations, dkey);
  out.removed = only_in(baseline.destinations, next.destinations, dkey);
  for (const DiffDestination& after : next.destinations) {
    const auto it = std::lower_bound(baseline.destinations.begin(), baseline.destinations.end(), after.key,
                                     [](const DiffDestination& d, const std::string& k) { return d.key < k; });
    if (it == baseline.destinations.end() || it->key != after.key) continue;
    const DiffDestination& before = *it;
    DestinationChange change{&before, &after, {}};
    if (before.countries != after.countries) {
      change.what.push_back("server country " + join(before.countries) + " -> " + join(after.countries));
    }
    if (before.service_id != after.service_id) {
      change.what.push_back("service " + (before.service_id.empty() ? "-" : before.service_id) + " -> " +
                            (after.service_id.empty() ? "-" : after.service_id));
    }
    if (before.jurisdiction != after.jurisdiction) {
      change.what.push_back("operator jurisdiction " + (before.jurisdiction.empty() ? "-" : before.jurisdiction) +
                            " -> " + (after.jurisdiction.empty() ? "-" : after.jurisdiction));
    }
    if (before.encrypted != 0 && after.encrypted == 0) change.what.push_back("now (partly) plaintext");
    if (before.encrypted == 0 && after.encrypted == 1) change.what.push_back("now encrypted");
    if (!change.what.empty()) out.changed.push_back(std::move(change));
  }
  std::set<std::string> services_before, services_after, countries_before, countries_after, jur_before, jur_after;
  for (const auto& d : baseline.destinations) {
    if (!d.service_id.empty()) services_before.insert(d.service_id);
    countries_before.insert(d.countries.begin(), d.countries.end());
    if (!d.jurisdiction.empty()) jur_before.insert(d.jurisdiction);
  }
  for (const auto& d : next.destinations) {
    if (!d.service_id.empty()) services_after.insert(d.service_id);
    countries_after.insert(d.countries.begin(), d.countries.end());
    if (!d.jurisdiction.empty()) jur_after.insert(d.jurisdiction);
  }
  out.services_added = difference(services_after, services_before);
  out.services_removed = difference(services_before, services_after);
  out.countries_added = difference(countries_after, countries_before);
  out.countries_removed = difference(countries_before, countries_after);
  out.jurisdictions_added = difference(jur_after, jur_before);
  out.jurisdictions_removed = difference(jur_before, jur_after);
  const auto fkey = [](const DiffFinding& f) -> const std::string& { return f.key; };
  out.findings_new = only_in(next.findings, baseline.findings, fkey);
  out.findings_gone = only_in(baseline.findings, next.findings, fkey);
  const auto by_severity = [](const DiffFinding* a, const DiffFinding* b) {
    if (a->waived != b->waived) return !a->waived;
    if (a->severity != b->severity) return a->severity > b->severity;
    return a->key < b->key;
  };
  std::stable_sort(out.findings_new.begin(), out.findings_new.end(), by_severity);
  std::stable_sort(out.findings_gone.begin(), out.findings_gone.end(), by_severity);
  if (fail_on) {
    out.failed = std::any_of(out.findings_new.begin(), out.findings_new.end(),
                             [&](const DiffFinding* f) { return !f->waived && f->severity >= *fail_on; });
  }
  const auto by_bytes = [](const DiffDestination* a, const DiffDestination* b) { return a->bytes_out > b->bytes_out; };
  std::stable_sort(out.added.begin(), out.added.end(), by_bytes);
  std::stable_sort(out.removed.begin(), out.removed.end(), by_bytes);
  return out;
}

namespace {

// Every string of a report that the diff prints came from a capture (or a file posing as a
// report): escaped for the terminal, one call per string.
std::string term(std::string_view s) { return core::escape_terminal(s); }

std::string describe(const DiffDestination& d) {
  std::string out = term(d.key);
  out += fmt::format("  (server {}", term(join(d.countries)));
  if (!d.service_name.empty()) {
    out += fmt::format("; {} run by {}, {}", term(d.service_name), term(d.operator_name), term(d.jurisdiction));
  }
  if (d.encrypted == 0) out += "; plaintext";
  out += fmt::format("; {} flows, sent {})", d.flows, core::human_bytes(d.bytes_out));
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  return out;
}

}  // namespace

void write_diff_text(const DiffInput& input, const ReportOptions& /*options*/, Output& output) {
  const DiffSide& baseline = input.baseline;
  const DiffSide& next = input.next;
  const DiffResult& diff = input.diff;
  std::string out;
  auto it = std::back_inserter(out);
  fmt::format_to(it, "flowaudit diff: {} -> {}\n", term(baseline.label), term(next.label));
  fmt::format_to(it, "  destinations {} -> {}; findings {} -> {}; verdict {} -> {}\n", baseline.destinations.size(),
                 next.destinations.size(), baseline.findings.size(), next.findings.size(),
                 baseline.verdict.empty() ? "-" : term(baseline.verdict), next.verdict.empty() ? "-" : term(next.verdict));
  if (diff.empty()) {
    out += "\nNo change in destinations or findings.\n";
  }
  if (!diff.added.empty()) {
    fmt::format_to(it, "\nNew destinations ({})\n", diff.added.size());
    for (const auto* d : diff.added) fmt::format_to(it, "  + {}\n", describe(*d));
  }
  if (!diff.removed.empty()) {
    fmt::format_to(it, "\nDestinations gone ({})\n", diff.removed.size());
    for (const auto* d : diff.removed) fmt::format_to(it, "  - {}\n", describe(*d));
  }
  if (!diff.changed.empty()) {
    fmt::format_to(it, "\nChanged destinations ({})\n", diff.changed.size());
    for (const auto& c : diff.changed) {
      std::string what;
      for (const auto& w : c.what) what += (what.empty() ? "" : "; ") + w;
      fmt::format_to(it, "  ~ {}: {}\n", term(c.after->key), term(what));
    }
  }
  const auto set_line = [&](const char* what, const std::set<std::string>& added, const std::set<std::string>& gone) {
    if (added.empty() && gone.empty()) return;
    fmt::format_to(it, "{}: ", what);
    if (!added.empty()) fmt::format_to(it, "new {}", term(join(added)));
    if (!added.empty() && !gone.empty()) out += "; ";
    if (!gone.empty()) fmt::format_to(it, "gone {}", term(join(gone)));
    out += '\n';
  };
  if (!diff.services_added.empty() || !diff.services_removed.empty() || !diff.countries_added.empty() ||
      !diff.countries_removed.empty() || !diff.jurisdictions_added.empty() || !diff.jurisdictions_removed.empty()) {
    out += '\n';
    set_line("Services", diff.services_added, diff.services_removed);
    set_line("Server countries", diff.countries_added, diff.countries_removed);
    set_line("Operator jurisdictions", diff.jurisdictions_added, diff.jurisdictions_removed);
  }
  if (!diff.findings_new.empty()) {
    fmt::format_to(it, "\nNew findings ({})\n", diff.findings_new.size());
    for (const auto* f : diff.findings_new) {
      fmt::format_to(it, "  + {:<8} {}  {}\n", f->waived ? "waived" : upper(rules::severity_name(f->severity)),
                     term(f->rule), term(f->message));
    }
  }
  if (!diff.findings_gone.empty()) {
    fmt::format_to(it, "\nFindings gone ({})\n", diff.findings_gone.size());
    for (const auto* f : diff.findings_gone) {
      fmt::format_to(it, "  - {:<8} {}  {}\n", upper(rules::severity_name(f->severity)), term(f->rule),
                     term(f->message));
    }
  }
  fmt::format_to(it, "\nDiff verdict: {} (--fail-on {}: {})\n", diff.failed ? "FAIL" : "pass", term(diff.fail_on),
                 diff.failed ? "a new finding reaches it" : "no new finding reaches it");
  output.write(out);
}

void write_diff_markdown(const DiffInput& input, const ReportOptions& /*options*/, Output& output) {
  const DiffSide& baseline = input.baseline;
  const DiffSide& next = input.next;
  const DiffResult& diff = input.diff;
  // The same escaping as `audit --report md`: no markup, link, mention or hidden character.
  const auto cell = [](std::string_view s) { return core::escape_markdown(s); };
  std::string out;
  auto it = std::back_inserter(out);
  fmt::format_to(it, "### flowaudit diff: {}\n\n", diff.failed ? "FAIL" : "pass");
  fmt::format_to(it, "{} -> {}: {} new destination{}, {} gone, {} changed; {} new finding{}, {} gone.\n\n",
                 cell(baseline.label), cell(next.label), diff.added.size(), diff.added.size() == 1 ? "" : "s",
                 diff.removed.size(), diff.changed.size(), diff.findings_new.size(),
                 diff.findings_new.size() == 1 ? "" : "s", diff.findings_gone.size());
  if (!diff.added.empty() || !diff.removed.empty()) {
    out += "| | destination | server | service | operator | jur. | sent |\n|---|---|---|---|---|---|---:|\n";
    for (const auto* d : diff.added) {
      fmt::format_to(it, "| new | {} | {} | {} | {} | {} | {} |\n", cell(d->key), cell(join(d->countries)),
                     cell(d->service_name), cell(d->operator_name), cell(d->jurisdiction),
                     core::human_bytes(d->bytes_out));
    }
    for (const auto* d : diff.removed) {
      fmt::format_to(it, "| gone | {} | {} | {} | {} | {} | {} |\n", cell(d->key), cell(join(d->countries)),
                     cell(d->service_name), cell(d->operator_name), cell(d->jurisdiction),
                     core::human_bytes(d->bytes_out));
    }
    out += '\n';
  }
  for (const auto& c : diff.changed) {
    std::string what;
    for (const auto& w : c.what) what += (what.empty() ? "" : "; ") + w;
    fmt::format_to(it, "- changed {}: {}\n", cell(c.after->key), cell(what));
  }
  if (!diff.changed.empty()) out += '\n';
  if (!diff.findings_new.empty()) {
    out += "| new finding | severity | target | message |\n|---|---|---|---|\n";
    for (const auto* f : diff.findings_new) {
      fmt::format_to(it, "| {} | {} | {} | {} |\n", cell(f->rule),
                     f->waived ? "waived" : rules::severity_name(f->severity), cell(f->target), cell(f->message));
    }
    out += '\n';
  }
  if (!diff.findings_gone.empty()) {
    out += "Findings gone: ";
    for (std::size_t i = 0; i < diff.findings_gone.size(); ++i) {
      fmt::format_to(it, "{}{} ({})", i == 0 ? "" : ", ", cell(diff.findings_gone[i]->rule),
                     cell(diff.findings_gone[i]->target));
    }
    out += "\n";
  }
  output.write(out);
}

void write_diff_json(const DiffInput& input, const ReportOptions& /*options*/, Output& out) {
  const DiffSide& baseline = input.baseline;
  const DiffSide& next = input.next;
  const DiffResult& diff = input.diff;
  JsonWriter w(out);
  const auto destination = [&](const DiffDestination& d) {
    w.begin_object();
    w.field("key", d.key);
    w.string_or_null("hostname", d.hostname);
    w.field("port", d.port);
    w.field("transport", d.transport);
    string_array(w, "ips", d.ips);
    string_array(w, "countries", d.countries);
    w.string_or_null("service", d.service_id);
    w.string_or_null("operator", d.operator_name);
    w.string_or_null("jurisdiction", d.jurisdiction);
    if (d.encrypted < 0) {
      w.null_field("encrypted");
    } else {
      w.field("encrypted", d.encrypted == 1);
    }
    w.field("bytes_out", d.bytes_out);
    w.field("flows", d.flows);
    w.end_object();
  };
  const auto finding = [&](const DiffFinding& f) {
    w.begin_object();
    w.field("rule", f.rule);
    w.field("severity", rules::severity_name(f.severity));
    w.field("title", f.title);
    w.field("target", f.target);
    w.field("message", f.message);
    w.field("waived", f.waived);
    w.end_object();
  };
  w.begin_object();
  w.field("schema", "flowaudit.diff/v1");
  w.field("baseline", baseline.label);
  w.field("new", next.label);
  w.field("verdict", diff.failed ? "fail" : "pass");
  w.field("fail_on", diff.fail_on);
  w.key("destinations");
  w.begin_object();
  w.key("added");
  w.begin_array();
  for (const auto* d : diff.added) destination(*d);
  w.end_array();
  w.key("removed");
  w.begin_array();
  for (const auto* d : diff.removed) destination(*d);
  w.end_array();
  w.key("changed");
  w.begin_array();
  for (const auto& c : diff.changed) {
    w.begin_object();
    w.field("key", c.after->key);
    string_array(w, "changes", c.what);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  w.key("services");
  w.begin_object();
  string_array(w, "added", diff.services_added);
  string_array(w, "removed", diff.services_removed);
  w.end_object();
  w.key("countries");
  w.begin_object();
  string_array(w, "added", diff.countries_added);
  string_array(w, "removed", diff.countries_removed);
  w.end_object();
  w.key("jurisdictions");
  w.begin_object();
  string_array(w, "added", diff.jurisdictions_added);
  string_array(w, "removed", diff.jurisdictions_removed);
  w.end_object();
  w.key("findings");
  w.begin_object();
  w.key("new");
  w.begin_array();
  for (const auto* f : diff.findings_new) finding(*f);
  w.end_array();
  w.key("gone");
  w.begin_array();
  for (const auto* f : diff.findings_gone) finding(*f);
  w.end_array();
  w.end_object();
  w.end_object();
}

}  // namespace flowaudit::report
