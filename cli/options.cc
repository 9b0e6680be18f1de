#include "cli/options.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "core/escape.h"
#include "core/format.h"
#include "report/events/ocsf.h"

namespace flowaudit::cli {

namespace {

class StderrMessages final : public session::Messages {
 public:
  void error(std::string_view message) override { fmt::print(stderr, "flowaudit: {}\n", message); }
  void line(std::string_view text) override { fmt::print(stderr, "{}\n", text); }
};

}  // namespace

void error_line(const std::string& message) { fmt::print(stderr, "flowaudit: {}\n", message); }

session::Messages& messages() {
  static StderrMessages m;
  return m;
}

Progress::Progress() : enabled_(::isatty(STDERR_FILENO) == 1) {}

void Progress::start(const std::string& path) {
  path_ = path;
  size_ = 0;
  struct stat st {};
  if (path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    size_ = static_cast<std::uint64_t>(st.st_size);
  }
  last_ = std::chrono::steady_clock::now();
}

void Progress::update(std::uint64_t packets, std::uint64_t position) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(250)) return;
  last_ = now;
  std::string share;
  if (size_ > 0 && position > 0) {
    share = fmt::format("  {:.0f}%", 100.0 * static_cast<double>(position) / static_cast<double>(size_));
  }
  fmt::print(stderr, "\rflowaudit: {}  {} packets  {}{}\033[K", path_, packets,
             core::human_bytes(position), share);
  shown_ = true;
}

void Progress::done() {
  if (shown_) fmt::print(stderr, "\r\033[K");
  shown_ = false;
}

bool use_color(const std::string& mode, const report::ReportTarget& target) {
  if (mode == "always") return true;
  if (mode == "never") return false;
  const bool to_stdout = target.path.empty() || target.path == "-";
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  return to_stdout && ::isatty(STDOUT_FILENO) == 1 && (no_color == nullptr || *no_color == '\0') &&
         !(term != nullptr && std::string_view(term) == "dumb");
}

std::optional<std::vector<report::ReportTarget>> parse_targets(
    const std::vector<std::string>& specs, const std::vector<std::pair<std::string, std::string>>& others) {
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

std::optional<Outputs> parse_outputs(const AuditArgs& args,
                                     const std::vector<std::pair<std::string, std::string>>& others) {
  Outputs out;
  auto all = others;
  std::vector<std::string> reports = args.reports;
  if (!args.events.empty()) {
    std::string err;
    out.events = report::events::parse_events_target(args.events, err);
    if (!out.events) {
      error_line("--events: " + err);
      return std::nullopt;
    }
    if (out.events->kind == report::events::EventsTarget::Kind::kNats) {
      out.nats = session::parse_nats_target(out.events->path, err);
      if (!out.nats) {
        error_line("--events: " + err);
        return std::nullopt;
      }
      out.nats_settings.creds_file = args.nats_creds;
      out.nats_settings.ca_file = args.nats_ca;
      out.nats_settings.stream = args.nats_stream;
      out.nats_settings.spool_dir = args.events_spool;
      if (const auto m = report::events::parse_rotation(args.events_spool_max, err); m && m->max_bytes != 0) {
        out.nats_settings.spool_max = m->max_bytes;
      } else {
        error_line("--events-spool-max: '" + args.events_spool_max + "' is not a size (64M, 1G)");
        return std::nullopt;
      }
      if (!args.nats_ca.empty() && !out.nats->tls) {
        error_line("--nats-ca: only with tls://HOST:PORT/SUBJECT");
        return std::nullopt;
      }
    } else if (!args.nats_creds.empty() || !args.nats_ca.empty() || !args.events_spool.empty()) {
      error_line("--nats-creds, --nats-ca and --events-spool: only with --events ocsf:nats://... or tls://...");
      return std::nullopt;
    }
    if (!args.events_rotate.empty()) {
      if (out.events->kind != report::events::EventsTarget::Kind::kFile) {
        error_line("--events-rotate: only an events file is rotated (--events ocsf:PATH)");
        return std::nullopt;
      }
      const auto rotation = report::events::parse_rotation(args.events_rotate, err);
      if (!rotation) {
        error_line("--events-rotate: " + err);
        return std::nullopt;
      }
      out.rotation = *rotation;
    }
    const bool to_stdout = out.events->kind == report::events::EventsTarget::Kind::kStdout;
    // Events on standard output are for a pipe: the default report moves out of their way.
    if (to_stdout && reports.empty()) reports.push_back("text:/dev/stderr");
    if (out.events->kind != report::events::EventsTarget::Kind::kNats) {
      all.emplace_back("--events", to_stdout ? std::string("-") : out.events->path);
    }
  } else if (!args.events_rotate.empty()) {
    error_line("--events-rotate: give --events ocsf:PATH too");
    return std::nullopt;
  }
  auto targets = parse_targets(reports, all);
  if (!targets) return std::nullopt;
  out.reports = std::move(*targets);
  return out;
}

namespace {

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "unknown";
  return name;
}

}  // namespace

std::unique_ptr<report::events::EventSink> open_events_sink(const Outputs& outputs) {
  std::string err;
  std::unique_ptr<report::events::EventSink> sink;
  if (outputs.nats) {
    sink = session::NatsSink::open(*outputs.nats, outputs.nats_settings, err);
  } else {
    sink = report::events::open_file_sink(*outputs.events, outputs.rotation, err);
  }
  if (!sink) error_line("--events: " + err);
  return sink;
}

bool close_events_sink(report::events::EventSink& sink) {
  const std::string err = sink.close();
  if (const auto* nats = dynamic_cast<const session::NatsSink*>(&sink)) fmt::print(stderr, "{}\n", nats->summary());
  if (!err.empty()) {
    error_line("--events: " + err + " (" + std::to_string(sink.events()) + " events written before it)");
    return false;
  }
  return true;
}

namespace {
report::events::EventContext event_context(const AuditArgs& args) {
  report::events::EventContext context;
  context.sensor_id = args.sensor_id.empty() ? host_name() : args.sensor_id;
  context.redact = !args.no_redact;
  context.labels = args.labels;
  context.threads = event_threads(args);
  return context;
}
}  // namespace

std::size_t event_threads(const AuditArgs& args) {
  // As many as --threads (0: one per core, up to 8, as for reading); the events are the same.
  return args.threads != 0 ? args.threads : std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 8);
}

bool emit_events(report::events::EventSink& sink, const AuditArgs& args, const session::AuditSession& run,
                 const EventStream* stream, std::size_t threads) {
  report::events::EventContext context = event_context(args);
  if (threads != 0) context.threads = threads;
  context.source = report::events::source_of(run.result());
  if (stream != nullptr) {
    // The flows that ended were told as they ended: the open ones and the DNS not told yet are left.
    context.audit_key = stream->audit_key;
    context.only_open_flows = true;
    context.dns_from = stream->dns_told;
  }
  report::events::write_ocsf_events(run.report_input(), context,
                                    [&](std::string_view event) { return sink.write(event); });
  // Events are made from the audit's records: what the memory caps dropped has none. Said here, as
  // the report says it, so that a fleet knows its store lacks them. (A capture that tells as it
  // goes tells each flow as it ends or is folded: nothing is dropped before it is told.)
  const auto& caps = run.result().caps;
  if (caps.flow_records_dropped > 0 && stream == nullptr) {
    fmt::print(stderr,
               "flowaudit: warning: {} ({}): {} of {} flows have no Network Activity event: their records were "
               "dropped to stay within --max-flow-records {} (their bytes are in the destinations and findings); "
               "raise --max-flow-records for one event per flow\n",
               core::escape_terminal(args.events), core::escape_terminal(context.source), caps.flow_records_dropped,
               run.result().total_flows(), caps.max_flow_records);
  }
  if (caps.dns_records_dropped > 0) {
    fmt::print(stderr,
               "flowaudit: warning: {} ({}): {} DNS messages have no DNS Activity event: the DNS log was full\n",
               core::escape_terminal(args.events), core::escape_terminal(context.source), caps.dns_records_dropped);
  }
  return sink.error().empty();
}

bool emit_ended_events(report::events::EventSink& sink, const AuditArgs& args, EventStream& stream,
                       const analysis::AuditResult& part) {
  report::events::EventContext context = event_context(args);
  context.source = stream.source;
  context.audit_key = stream.audit_key;
  context.dns_index_base = stream.dns_told;
  report::events::write_ocsf_events(report::ReportInput{part, nullptr}, context,
                                    [&](std::string_view event) { return sink.write(event); });
  stream.dns_told += part.dns.size();
  stream.flows_told += part.flows.size();
  return sink.flush();
}

int write_reports(const AuditArgs& args, const Outputs& outputs, const session::AuditSession& run) {
  if (!outputs.events) return write_reports(args, outputs.reports, run);
  const auto sink = open_events_sink(outputs);
  if (!sink) {
    write_reports(args, outputs.reports, run);
    return kExitUsage;
  }
  // With more than one thread, the events are made while the reports are written (both only read
  // the audit): on the bench capture the events took as long again as the JSON report, one after
  // the other. The reports keep one thread, the events the rest.
  int status = kExitOk;
  if (const std::size_t threads = event_threads(args); threads > 1) {
    std::thread events([&] { emit_events(*sink, args, run, nullptr, threads - 1); });
    status = write_reports(args, outputs.reports, run);
    events.join();
  } else {
    status = write_reports(args, outputs.reports, run);
    emit_events(*sink, args, run);
  }
  if (!close_events_sink(*sink)) status = kExitUsage;
  return status;
}

void add_events_options(CLI::App* cmd, AuditArgs& audit) {
  cmd->add_option("--events", audit.events,
                  "ocsf[:PATH|-|nats://HOST:PORT/SUBJECT|tls://...]: the audit as OCSF 1.1 events, one JSON object per "
                  "line (network, DNS and HTTP activity, detection findings) for a fleet's store; no PATH or '-' "
                  "writes to standard output (the default text report then goes to standard error); nats:// "
                  "publishes to NATS JetStream, at least once. docs/fleet.md");
  cmd->add_option("--sensor-id", audit.sensor_id,
                  "The sensor named in every event (metadata.loggers); default: this host's name");
  cmd->add_option("--label", audit.labels,
                  "KEY=VALUE in every event's metadata.labels, repeatable; the store (docs/fleet.md) has columns for "
                  "app, app_version and device (default: the sensor)")
      ->check([](const std::string& v) { return report::events::label_error(v); });
  cmd->add_option("--nats-creds", audit.nats_creds, "With --events ocsf:nats://...: a NATS credentials file (JWT and seed)");
  cmd->add_option("--nats-ca", audit.nats_ca, "With --events ocsf:tls://...: CA certificates to trust (PEM)");
  cmd->add_option("--nats-stream", audit.nats_stream,
                  "With NATS: the JetStream stream created for the subject when none takes it")
      ->default_str("FLOWAUDIT");
  cmd->add_option("--events-spool", audit.events_spool,
                  "With NATS: where events not acknowledged wait for the next run (default "
                  "~/.local/state/flowaudit/spool)");
  cmd->add_option("--events-spool-max", audit.events_spool_max, "With NATS: the spool's size limit; past it the run "
                                                                "fails and says how many events were lost")
      ->default_str("1G");
  cmd->add_option("--events-rotate", audit.events_rotate,
                  "Start a new events file past a size (100M, 1G) or an age (15m, 1h, 1d); the full one is renamed "
                  "PATH.<UTC time>");
}

void add_audit_options(CLI::App* cmd, AuditArgs& audit, report::Subject subject, std::string_view report_note) {
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
  cmd->add_option("--keylog", audit.keylogs,
                  "TLS key log (NSS format, as SSLKEYLOGFILE writes), repeatable: TLS flows are decrypted; a TLS "
                  "flow whose keys are not in it is a blind spot (encrypted-no-keys). Secrets blocks of pcapng "
                  "inputs are read too. Keys never appear in a report");
  cmd->add_option("--canary", audit.canaries,
                  "A value typed into the app (an email, a phone number, a sentence of a prompt), repeatable: "
                  "searched in every request in the encodings apps use (URL, JSON, base64, hex, hashes...)");
  cmd->add_option("--canary-file", audit.canary_files, "Canary values, one per line ('#' comments), repeatable");
  cmd->add_option("--chat-endpoints", audit.chat_endpoints,
                  "Extra AI chat endpoints YAML (format of data/chat-endpoints.yaml), repeatable: prompt text "
                  "sent to them is counted");
  cmd->add_option("--region", audit.device_region,
                  "The device's region (ISO 3166 alpha-2, e.g. CN): phone numbers in national form are recognised "
                  "in it");
  cmd->add_flag("--no-inspect", audit.no_inspect,
                "Do not search requests and names for personal data, canaries and prompt text (faster; the "
                "data-leaks rules then see nothing, and a warning says so)");
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

}  // namespace flowaudit::cli
