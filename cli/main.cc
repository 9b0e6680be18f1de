// flowaudit command line: option parsing and wiring of capture -> analysis -> report.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <fmt/ranges.h>

#include <algorithm>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <unordered_set>
#include <optional>
#include <string>
#include <vector>

#include "analysis/audit.h"
#include "analysis/enrich/enrichment.h"
#include "analysis/enrich/mmdb_writer.h"
#include "analysis/enrich/range_csv.h"
#include "core/escape.h"
#include "rules/eval/evaluator.h"
#include "rules/lang/fields.h"
#include "rules/load/loader.h"
#include "report/geo_report.h"
#include "analysis/packet/link_layer.h"
#include "capture/live_loop.h"
#include "capture/pcap_file_source.h"
#include "capture/pcap_live_source.h"
#include "capture/pcapng_writer.h"
#include "capture/privileges.h"
#include "capture/process_attribution.h"
#include "rules/eval/records.h"
#include "core/format.h"
#include "report/diff.h"
#include "report/json_report.h"
#include "report/report.h"
#include "report/report_output.h"
#include "session/audit_session.h"
#include "session/live_session.h"
#include "session/replay_session.h"

namespace {

using namespace flowaudit;

constexpr int kExitOk = 0;
constexpr int kExitFindings = 1;  // ran, and a finding reached --fail-on
constexpr int kExitUsage = 2;  // usage error or no input readable

struct AuditArgs : session::Settings {
  std::vector<std::string> captures;
  std::vector<std::string> reports;
  std::string color = "auto";
};

struct GeoArgs {
  std::vector<std::string> addresses;
  std::vector<std::string> geoip_dbs;
  std::vector<std::string> catalogs;
  std::string hostname;
  bool json = false;
};

void error_line(const std::string& message) { fmt::print(stderr, "flowaudit: {}\n", message); }

// The session's messages on stderr, as every command prints them.
class StderrMessages final : public session::Messages {
 public:
  void error(std::string_view message) override { fmt::print(stderr, "flowaudit: {}\n", message); }
  void line(std::string_view text) override { fmt::print(stderr, "{}\n", text); }
};

StderrMessages& messages() {
  static StderrMessages m;
  return m;
}

// Progress on stderr while a long replay runs, only when stderr is a terminal.
class Progress final : public session::ReplayProgress {
 public:
  Progress() : enabled_(::isatty(STDERR_FILENO) == 1) {}
  void start(const std::string& path) override {
    path_ = path;
    size_ = 0;
    struct stat st {};
    if (path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) size_ = static_cast<std::uint64_t>(st.st_size);
    last_ = std::chrono::steady_clock::now();
  }
  void update(std::uint64_t packets, std::uint64_t position) override {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    std::string share;
    if (size_ > 0 && position > 0) share = fmt::format("  {:.0f}%", 100.0 * static_cast<double>(position) / static_cast<double>(size_));
    fmt::print(stderr, "\rflowaudit: {}  {} packets  {}{}\033[K", path_, packets,
               core::human_bytes(position), share);
    shown_ = true;
  }
  void done() override {
    if (shown_) fmt::print(stderr, "\r\033[K");
    shown_ = false;
  }

 private:
  bool enabled_;
  bool shown_ = false;
  std::string path_;
  std::uint64_t size_ = 0;
  std::chrono::steady_clock::time_point last_;
};

// Colour for a text report: only on a terminal, never with NO_COLOR set or TERM=dumb.
bool use_color(const std::string& mode, const report::ReportTarget& target) {
  if (mode == "always") return true;
  if (mode == "never") return false;
  const bool to_stdout = target.path.empty() || target.path == "-";
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  return to_stdout && ::isatty(STDOUT_FILENO) == 1 && (no_color == nullptr || *no_color == '\0') &&
         !(term != nullptr && std::string_view(term) == "dumb");
}

// Parses --report and checks every output path (with `others`, e.g. capture --write) before any
// work: a report that cannot be written must not be found out after minutes of audit.
std::optional<std::vector<report::ReportTarget>> parse_targets(
    const std::vector<std::string>& specs, const std::vector<std::pair<std::string, std::string>>& others = {}) {
  std::vector<report::ReportTarget> targets;
  for (const auto& spec : specs) {
    std::string err;
    auto t = report::parse_report_target(spec, err);
    if (!t) {
      error_line("--report: " + err);
      return std::nullopt;
    }
    targets.push_back(*t);
  }
  if (targets.empty()) targets.push_back({});
  if (auto err = report::check_report_targets(targets, others); !err.empty()) {
    error_line(err);
    return std::nullopt;
  }
  return targets;
}

// Writes every requested report; the exit status from the verdict (or kExitUsage when a report
// could not be written).
int write_reports(const AuditArgs& args, const std::vector<report::ReportTarget>& targets,
                  const session::AuditSession& run) {
  const report::ReportInput input = run.report_input();
  int status = run.evaluation().failed ? kExitFindings : kExitOk;
  for (const auto& t : targets) {
    report::ReportOptions options;
    options.redact = !args.no_redact;
    options.color = use_color(args.color, t);
    const auto writer = [&](report::Output& out) { report::write(t.format, input, options, out); };
    if (auto err = report::write_report(t, writer); !err.empty()) {
      error_line(err);
      status = kExitUsage;
    }
  }
  return status;
}

int run_audit(const AuditArgs& args) {
  const auto targets = parse_targets(args.reports);
  if (!targets) return kExitUsage;
  session::AuditSession run(args, messages());
  Progress progress;
  if (!session::replay(run, args.captures, &progress)) return kExitUsage;
  return write_reports(args, *targets, run);
}

using CaptureArgs = session::LiveSettings;


// Live events on stderr as they come. Names are from the wire (a TLS SNI may carry ESC, CR,
// U+202E): escaped, like the rest.
class LivePrinter final : public session::LiveSink {
 public:
  void error(std::string_view message) override { messages().error(message); }
  void line(std::string_view text) override { messages().line(text); }
  void started(const std::string& interface, const std::string& link_type, const capture::DropResult& dropped,
               const std::string& write) override {
    fmt::print(stderr, "flowaudit: capturing on {} ({}){}{}; Ctrl-C stops and writes the report\n", interface,
               link_type, dropped.dropped ? " as " + dropped.user : std::string(),
               write.empty() ? std::string() : ", keeping packets in " + write);
  }
  void new_destination(const analysis::NewDestination& d, const analysis::enrich::DestinationEnrichment& e) override {
    std::string where = e.geo.country.empty() ? "-" : e.geo.country;
    std::string whose = e.service != nullptr ? e.service->name + " (" + e.service->jurisdiction + ")" : "-";
    fmt::print(stderr, "flowaudit: new destination {} {}:{}/{}  server {}  service {}\n",
               d.hostname.empty() ? "(unnamed)" : core::escape_terminal(d.hostname), d.ip.to_string(), d.port,
               rules::eval::transport_name(d.protocol), core::escape_terminal(where), core::escape_terminal(whose));
  }
  void destination_finding(const rules::Rule& rule) override {
    fmt::print(stderr, "flowaudit:   {} {}: {}\n", rules::severity_name(rule.severity), rule.id, rule.title);
  }
  void flow_finding(std::string_view name, const analysis::flow::Destination& d, const rules::Rule& rule) override {
    const std::string where = fmt::format("{} {}:{}/{}", name.empty() ? "(unnamed)" : core::escape_terminal(name),
                                          d.ip.to_string(), d.port, rules::eval::transport_name(d.protocol));
    fmt::print(stderr, "flowaudit: finding on {}\nflowaudit:   {} {}: {}\n", where,
               rules::severity_name(rule.severity), rule.id, rule.title);
  }
  void stats(std::uint64_t packets, std::uint64_t bytes, std::uint64_t kernel_dropped,
             std::uint64_t interface_dropped) override {
    fmt::print(stderr, "flowaudit: {} packets, {} captured; kernel dropped {}, interface dropped {}\n", packets,
               core::human_bytes(bytes), kernel_dropped, interface_dropped);
  }
};

// `flowaudit capture -i IFACE`: the same analysis as audit, on packets as they arrive.
int run_capture(const AuditArgs& args, const CaptureArgs& c) {
  const auto targets = parse_targets(args.reports, {{"--write", c.write}});
  if (!targets) return kExitUsage;
  session::AuditSession run(args, messages());
  LivePrinter printer;
  session::LiveSession live(run, c, printer);
  if (!live.open()) return kExitUsage;
  // Again as the user the capture now runs as: root could write where that user cannot.
  if (!parse_targets(args.reports, {{"--write", c.write}})) return kExitUsage;
  if (!live.run()) return kExitUsage;
  return write_reports(args, *targets, run);
}

// One side of a diff: a JSON report as it is, or a capture audited now with the same options.
std::optional<report::DiffSide> load_diff_side(const std::string& path, session::AuditSession& run,
                                               int& status) {
  std::string head;
  if (path != "-") {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      error_line(fmt::format("{}: cannot open", path));
      status = kExitUsage;
      return std::nullopt;
    }
    char buf[64] = {};
    in.read(buf, sizeof buf);
    head.assign(buf, static_cast<std::size_t>(in.gcount()));
  }
  // RFC 8259 lets a parser skip a UTF-8 byte order mark; editors on Windows write one.
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  const std::size_t bom = std::string_view(head).starts_with(kBom) ? kBom.size() : 0;
  const auto first = head.find_first_not_of(" \t\r\n", bom);
  std::string error;
  if (first != std::string::npos && head[first] == '{') {
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    text.erase(0, bom);
    boost::system::error_code ec;
    boost::json::parse_options opts;
    opts.max_depth = 64;
    const auto value = boost::json::parse(text, ec, {}, opts);
    if (ec) {
      error_line(fmt::format("{}: not valid JSON: {}", path, ec.message()));
      status = kExitUsage;
      return std::nullopt;
    }
    auto side = report::diff_side_from_report(value, path, error);
    if (!side) {
      error_line(error);
      status = kExitUsage;
    }
    return side;
  }
  Progress progress;
  if (!session::replay(run, {path}, &progress)) {
    status = kExitUsage;
    return std::nullopt;
  }
  const auto value = report::to_json(run.report_input());
  auto side = report::diff_side_from_report(value, path, error);
  if (!side) {
    error_line(error);
    status = kExitUsage;
  }
  return side;
}

int run_diff(const AuditArgs& args, const std::string& baseline_path, const std::string& next_path) {
  const auto targets = parse_targets(args.reports);
  if (!targets) return kExitUsage;
  for (const auto& t : *targets) {
    if (!report::supports(t.format, report::Subject::kDiff)) {
      error_line(fmt::format("--report: diff writes {}, not {}",
                             report::format_list(report::Subject::kDiff, false, " and "),
                             report::format_name(t.format)));
      return kExitUsage;
    }
  }
  int status = kExitOk;
  session::AuditSession baseline_run(args, messages());
  session::AuditSession next_run(args, messages());
  const auto baseline = load_diff_side(baseline_path, baseline_run, status);
  if (!baseline) return status;
  const auto next = load_diff_side(next_path, next_run, status);
  if (!next) return status;
  const auto diff = report::compare(*baseline, *next, session::fail_on_severity(args.fail_on), args.fail_on);
  status = diff.failed ? kExitFindings : kExitOk;
  const report::DiffInput input{*baseline, *next, diff};
  report::ReportOptions options;
  options.redact = !args.no_redact;
  for (const auto& t : *targets) {
    options.color = use_color(args.color, t);
    const auto writer = [&](report::Output& out) { (void)report::write_diff(t.format, input, options, out); };
    if (auto err = report::write_report(t, writer); !err.empty()) {
      error_line(err);
      status = kExitUsage;
    }
  }
  return status;
}

// `flowaudit rules fields`: what a policy condition can test, with types and scopes.
int run_rules_fields() {
  fmt::print("{:<24} {:<9} {:<12} {}\n", "field", "type", "scope", "description");
  for (const auto& f : rules::lang::all_fields()) {
    fmt::print("{:<24} {:<9} {:<12} {}\n", f.name, rules::lang::field_type_name(f.type), rules::lang::scope_name(f.scope),
               f.description);
  }
  return kExitOk;
}

// `flowaudit rules check FILE...`: loads the files as an audit would; exit 2 on any error.
int run_rules_check(const std::vector<std::string>& files) {
  rules::load::LoadOptions options;
  options.builtin_dir = rules::load::find_builtin_policies();
  const auto loaded = rules::load::load_policy(files, options);
  for (const auto& w : loaded.warnings) fmt::print(stderr, "flowaudit: warning: {}\n", w);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) fmt::print(stderr, "{}\n", e);
    fmt::print(stderr, "flowaudit: {} error{}\n", loaded.errors.size(), loaded.errors.size() == 1 ? "" : "s");
    return kExitUsage;
  }
  const auto& p = loaded.policy;
  std::size_t enabled = 0;
  for (const auto& r : p.rules) enabled += r.enabled ? 1 : 0;
  fmt::print("ok: {} file{}, {} rules ({} enabled), {} waivers, {} allowlists\n", p.files.size(),
             p.files.size() == 1 ? "" : "s", p.rules.size(), enabled, p.waivers.size(), p.allowlists.size());
  return kExitOk;
}

// Loads the policy for `rules list` and `rules explain`; nullopt (and a message) on errors.
std::optional<rules::Policy> policy_for_listing(const std::vector<std::string>& specs) {
  std::vector<std::string> warnings;
  bool failed = false;
  auto policy = session::load_policies(specs, warnings, failed, messages());  // none given: the built-in default, or an error
  if (!policy && !failed) error_line("--policy none: no policy to list");
  return policy;
}

int run_rules_list(const std::vector<std::string>& specs) {
  const auto policy = policy_for_listing(specs);
  if (!policy) return kExitUsage;
  fmt::print("{:<44} {:<9} {:<12} {}\n", "rule", "severity", "scope", "title");
  for (const auto& r : policy->rules) {
    fmt::print("{:<44} {:<9} {:<12} {}{}\n", r.id, rules::severity_name(r.severity), rules::lang::scope_name(r.scope),
               r.title, r.enabled ? "" : " (disabled)");
  }
  for (const auto& a : policy->allowlists) {
    fmt::print("{:<44} {:<9} {:<12} {}\n", "allowlist." + a.app, rules::severity_name(a.severity), "destination",
               "destinations outside the expected set (with --app " + a.app + ")");
  }
  return kExitOk;
}

int run_rules_explain(const std::string& id, const std::vector<std::string>& specs) {
  const auto policy = policy_for_listing(specs);
  if (!policy) return kExitUsage;
  const rules::Rule* r = policy->find_rule(id);
  if (r == nullptr) {
    error_line(fmt::format("no rule '{}' in the policy (flowaudit rules list shows them)", id));
    return kExitUsage;
  }
  fmt::print("{}: {}\n", r->id, r->title);
  fmt::print("  severity   {}\n  scope      {}\n  pack       {}\n  defined    {}:{}\n  enabled    {}\n",
             rules::severity_name(r->severity), rules::lang::scope_name(r->scope), r->pack, r->origin.file,
             r->origin.line, r->enabled ? "yes" : "no");
  fmt::print("  condition  {}\n", r->condition);
  if (!r->message.empty()) fmt::print("  message    {}\n", r->message);
  if (!r->tags.empty()) fmt::print("  tags       {}\n", fmt::join(r->tags, ", "));
  if (!r->description.empty()) fmt::print("\n{}\n", r->description);
  if (!r->remediation.empty()) fmt::print("\nRemediation: {}\n", r->remediation);
  if (!r->references.empty()) {
    fmt::print("\nReferences\n");
    for (const auto& ref : r->references) {
      fmt::print("  - {}{}\n", ref.title.empty() ? "" : ref.title + ": ", ref.url);
    }
  }
  for (const auto& w : policy->waivers) {
    if (w.rule == r->id || rules::lang::glob_match(w.rule, r->id)) {
      fmt::print("\nWaiver ({}:{}): {} until {}{}{}\n", w.origin.file, w.origin.line, w.reason,
                 rules::format_date(w.expires), w.expired ? " (EXPIRED, not applied)" : "",
                 w.condition.empty() ? "" : "; when " + w.condition);
    }
  }
  return kExitOk;
}

int run_geo(const GeoArgs& args) {
  analysis::enrich::Enricher enricher;
  std::vector<std::string> warnings;
  if (!session::open_enricher(enricher, args.geoip_dbs, args.catalogs, warnings, messages())) return kExitUsage;
  for (const auto& w : warnings) error_line("warning: " + w);
  std::vector<std::pair<core::IpAddress, analysis::enrich::DestinationEnrichment>> answers;
  for (const auto& text : args.addresses) {
    const auto ip = core::IpAddress::parse(text);
    if (!ip) {
      error_line(fmt::format("'{}' is not an IPv4 or IPv6 address", text));
      return kExitUsage;
    }
    answers.emplace_back(*ip, enricher.describe(*ip, args.hostname));
  }
  const report::GeoInput input{answers, enricher.geo().databases()};
  const auto writer = [&](report::Output& out) {
    if (args.json) {
      report::write_geo_json(input, out);
    } else {
      report::write_geo_text(input, out);
    }
  };
  if (auto err = report::write_report({}, writer); !err.empty()) {
    error_line(err);
    return kExitUsage;
  }
  return kExitOk;
}

int run_geodb_build(const std::vector<std::string>& csvs, const std::string& out, const std::string& type,
                    const std::string& description, const std::string& overlap) {
  analysis::enrich::MmdbWriterOptions options;
  if (!type.empty()) options.database_type = type;
  options.overlap = overlap == "later-wins" ? analysis::enrich::OverlapPolicy::kLaterWins
                                            : analysis::enrich::OverlapPolicy::kReject;
  // libmaxminddb refuses a file without a description map; it also carries the data's attribution.
  options.description_en = description.empty() ? "built by flowaudit geodb build" : description;
  analysis::enrich::GeodbBuildStats stats;
  std::string error;
  if (!analysis::enrich::build_geodb(csvs, out, options, error, &stats)) {
    error_line(error);
    return kExitUsage;
  }
  fmt::print(stderr, "flowaudit: wrote {}: {} rows, {} networks, {} records\n", out, stats.rows, stats.networks,
             stats.records);
  if (stats.overlapping_rows > 0) {
    fmt::print(stderr, "flowaudit: {} rows overlap another row; where they do, the row given later won\n",
               stats.overlapping_rows);
  }
  return kExitOk;
}

// Options shared by audit and diff (a capture given to diff is audited with them). The report
// formats, in the --report help and the footer, come from the table in report/report.h.
void add_audit_options(CLI::App* cmd, AuditArgs& audit, report::Subject subject, std::string_view report_note = {}) {
  cmd->add_option("--client", audit.clients,
                  "Address or CIDR of the audited device (orients flows without a TCP handshake); repeatable");
  cmd->add_option("--report", audit.reports,
                  fmt::format("FORMAT[:PATH], repeatable; formats: {}{}{}", report::format_list(subject, true),
                              report_note.empty() ? "" : "; ", report_note));
  cmd->footer("Report formats:\n" + report::format_help(subject));
  cmd->add_option("--fail-on", audit.fail_on, "Exit 1 when a (new, for diff) finding reaches this severity")
      ->check(CLI::IsMember({"info", "low", "medium", "high", "critical", "never"}))
      ->default_str("high");
  cmd->add_option("--max-flows", audit.max_flows, "Cap on live flows; the stalest is evicted beyond it")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 26))
      ->default_str("1048576");
  cmd->add_option("--max-flow-records", audit.max_flow_records,
                  "Records of ended flows kept for the report (~500 bytes each); past it the oldest are folded "
                  "into their destination and findings (nothing is lost; the report counts them)")
      ->check(CLI::Range(std::size_t{2}, std::size_t{1} << 28))
      ->default_str("100000");
  cmd->add_option("--max-destinations", audit.max_destinations,
                  "Cap on destinations aggregated from dropped flow records; past it flows are left out and the "
                  "default policy fails (blind-spots.memory-cap)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 26))
      ->default_str("100000");
  cmd->add_option("--max-dns-records", audit.max_dns_records,
                  "DNS messages recorded for dns[] and the DNS rules; past it they are counted, not recorded, and "
                  "the default policy fails")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 26))
      ->default_str("262144");
  cmd->add_option("--tcp-timeout", audit.tcp_timeout, "Seconds before an idle TCP flow is closed")
      ->check(CLI::Range(0.001, 31536000.0))
      ->default_str("300");
  cmd->add_option("--udp-timeout", audit.udp_timeout, "Seconds before an idle UDP flow is closed")
      ->check(CLI::Range(0.001, 31536000.0))
      ->default_str("120");
  cmd->add_option("--fragment-memory", audit.fragment_memory, "Bytes kept for IP fragment reassembly")
      ->check(CLI::Range(std::size_t{65536}, std::size_t{1} << 30))
      ->default_str("8388608");
  cmd->add_option("--geoip-db", audit.geoip_dbs,
                  "MMDB database (country, city or ASN), repeatable; default: every .mmdb in the data directory "
                  "(FLOWAUDIT_GEOIP_DIR, ~/.local/share/flowaudit/geoip)");
  cmd->add_option("--catalog", audit.catalogs, "Extra service catalog YAML, repeatable; may override built-in ids");
  cmd->add_option("--policy", audit.policies,
                  "Built-in pack name (default, china-transfer, ...) or policy YAML file, repeatable, loaded in "
                  "order; default: default; 'none' evaluates no policy");
  cmd->add_option("--app", audit.app, "Apply the policy's allowlist for this app: other destinations are findings");
  cmd->add_flag("--no-redact", audit.no_redact,
                "Keep identifiers in reports (query values and id-like path segments are REDACTED by default)");
  cmd->add_option("--color", audit.color, "Colours in the text report: auto (on a terminal, unless NO_COLOR), "
                                          "always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->default_str("auto");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"flowaudit: audits where an AI chat client sends its users' data, from the wire."};
  app.set_version_flag("--version", std::string("flowaudit ") + FLOWAUDIT_VERSION);
  app.require_subcommand(1);

  AuditArgs audit;
  auto* cmd = app.add_subcommand("audit", "Replay pcap/pcapng captures and report every destination");
  cmd->add_option("CAPTURE", audit.captures, "pcap or pcapng files; '-' reads standard input")->required();
  add_audit_options(cmd, audit, report::Subject::kAudit, "no PATH writes to stdout");

  AuditArgs live_args;
  CaptureArgs capture_args;
  auto* capture_cmd = app.add_subcommand(
      "capture", "Capture live from an interface (as root; root is dropped once the interface is open)");
  capture_cmd->add_option("-i,--interface", capture_args.interface, "Interface, or 'any'")->required();
  capture_cmd->add_option("--filter", capture_args.filter, "BPF filter, e.g. 'not port 22'");
  capture_cmd->add_option("--snaplen", capture_args.snaplen, "Bytes kept per packet")
      ->check(CLI::Range(64, 262144))
      ->default_str("262144");
  capture_cmd->add_option("--buffer-size", capture_args.buffer_mib, "Kernel capture buffer, MiB")
      ->check(CLI::Range(1, 2048))
      ->default_str("8");
  capture_cmd->add_flag("--promiscuous", capture_args.promiscuous,
                        "Also capture traffic not addressed to this machine (off by default)");
  capture_cmd->add_option("--duration", capture_args.duration, "Stop after this many seconds (default: Ctrl-C)")
      ->check(CLI::Range(0.0, 31536000.0));
  capture_cmd->add_option("--stats-interval", capture_args.stats_interval,
                          "Print packet and drop counts every N seconds")
      ->check(CLI::Range(0.0, 86400.0));
  capture_cmd->add_option("--write", capture_args.write, "Keep the raw packets in this pcapng file (mode 0600)");
  capture_cmd->add_option("--pid", capture_args.pids,
                          "Keep only this process's flows (and its children's); repeatable (Linux)");
  capture_cmd->add_option("--process", capture_args.processes,
                          "Keep only the flows of processes with this name (and their children); repeatable");
  capture_cmd->add_option("--user", capture_args.user,
                          "User to run as once the interface is open (default: the user who ran sudo, else nobody)");
  add_audit_options(capture_cmd, live_args, report::Subject::kAudit, "written when the capture stops");

  AuditArgs diff;
  std::string diff_baseline;
  std::string diff_next;
  auto* diff_cmd = app.add_subcommand(
      "diff", "Compare two audits (JSON reports or captures): destinations, services, countries, findings");
  diff_cmd->add_option("BASELINE", diff_baseline, "JSON report or capture of the earlier version")->required();
  diff_cmd->add_option("NEW", diff_next, "JSON report or capture of the new version")->required();
  add_audit_options(diff_cmd, diff, report::Subject::kDiff);

  GeoArgs geo;
  auto* geo_cmd = app.add_subcommand("geo", "What an audit would attach to each address: country, ASN, operator");
  geo_cmd->add_option("IP", geo.addresses, "IPv4 or IPv6 addresses")->required();
  geo_cmd->add_option("--geoip-db", geo.geoip_dbs, "MMDB database, repeatable (default: the data directory)");
  geo_cmd->add_option("--catalog", geo.catalogs, "Extra service catalog YAML, repeatable");
  geo_cmd->add_option("--hostname", geo.hostname, "Also match this name against the service catalog");
  geo_cmd->add_flag("--json", geo.json, "JSON instead of text");

  std::vector<std::string> build_csvs;
  std::string build_out;
  std::string build_type;
  std::string build_description;
  std::string build_overlap = "error";
  auto* geodb = app.add_subcommand("geodb", "Geolocation databases");
  geodb->require_subcommand(1);
  auto* geodb_build = geodb->add_subcommand("build", "Write an .mmdb from range CSVs and CIDR lists");
  geodb_build->add_option("--csv", build_csvs,
                          "start,end,asn,org | start,end,country | cidr,country | cidr,asn,org; repeatable")
      ->required();
  geodb_build->add_option("--out", build_out, "Output .mmdb")->required();
  geodb_build->add_option("--type", build_type, "database_type written in the metadata");
  geodb_build->add_option("--description", build_description,
                          "description.en in the metadata: say where the data comes from (reports show it)");
  geodb_build
      ->add_option("--overlap", build_overlap,
                   "Overlapping rows: error (naming both FILE:LINEs) or later-wins (the row given later wins there)")
      ->check(CLI::IsMember({"error", "later-wins"}))
      ->default_str("error");

  auto* rules_cmd = app.add_subcommand("rules", "Policy rules: list, check, explain, fields");
  rules_cmd->require_subcommand(1);
  auto* rules_fields = rules_cmd->add_subcommand("fields", "List the fields a condition can test, with their types");
  std::vector<std::string> check_files;
  auto* rules_check = rules_cmd->add_subcommand("check", "Load policy files as an audit would; exit 2 on errors");
  rules_check->add_option("FILE", check_files, "Policy YAML files or built-in pack names, in load order")->required();
  std::vector<std::string> list_policies;
  auto* rules_list = rules_cmd->add_subcommand("list", "List the rules of the policy");
  rules_list->add_option("--policy", list_policies, "Built-in pack or file, repeatable (default: default)");
  std::string explain_id;
  std::vector<std::string> explain_policies;
  auto* rules_explain = rules_cmd->add_subcommand("explain", "Show one rule whole: condition, why, references");
  rules_explain->add_option("RULE", explain_id, "Rule id")->required();
  rules_explain->add_option("--policy", explain_policies, "Built-in pack or file, repeatable (default: default)");

  // A repeatable option takes one value per occurrence: `--policy a.yaml s.pcap` must leave s.pcap
  // to the positional arguments (CLI11 would otherwise give it to --policy too).
  for (CLI::App* sub : {cmd, capture_cmd, diff_cmd, geo_cmd, geodb_build, rules_list, rules_explain}) {
    for (CLI::Option* opt : sub->get_options()) {
      if (!opt->get_positional() && opt->get_items_expected_max() > 1) opt->allow_extra_args(false);
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "flowaudit: {} (see flowaudit --help)\n", e.what());
    return kExitUsage;
  }
  if (cmd->parsed()) return run_audit(audit);
  if (diff_cmd->parsed()) return run_diff(diff, diff_baseline, diff_next);
  if (capture_cmd->parsed()) return run_capture(live_args, capture_args);
  if (geo_cmd->parsed()) return run_geo(geo);
  if (rules_fields->parsed()) return run_rules_fields();
  if (rules_check->parsed()) return run_rules_check(check_files);
  if (rules_list->parsed()) return run_rules_list(list_policies);
  if (rules_explain->parsed()) return run_rules_explain(explain_id, explain_policies);
  if (geodb_build->parsed()) return run_geodb_build(build_csvs, build_out, build_type, build_description, build_overlap);
  return kExitUsage;
}
