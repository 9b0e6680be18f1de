// `flowaudit audit CAPTURE...`: replay captures and report every destination.
#include "cli/options.h"

#include "capture/link_types.h"
#include "session/replay_session.h"

#include <fmt/format.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

namespace flowaudit::cli {

namespace {

// --each: a report path names the capture with {name} (its file name without the extension) or
// {index} (its position, from 1).
std::string expand(std::string_view spec, const std::string& name, std::size_t index) {
  std::string out;
  for (std::size_t i = 0; i < spec.size(); ++i) {
    if (spec.substr(i).starts_with("{name}")) {
      out += name;
      i += 5;
    } else if (spec.substr(i).starts_with("{index}")) {
      out += std::to_string(index);
      i += 6;
    } else {
      out.push_back(spec[i]);
    }
  }
  return out;
}

// `audit --each`: one audit per capture, --jobs at once, one event stream. Each audit is the one
// `flowaudit audit FILE` would run (one thread unless --threads says otherwise), its reports at
// their own paths, its events written whole to the shared sink once it ends.
int run_each(const AuditArgs& args) {
  const std::size_t n = args.captures.size();
  for (const auto& c : args.captures) {
    if (c == "-") {
      error_line("--each: standard input cannot be one of the captures");
      return kExitUsage;
    }
  }
  for (const auto& spec : args.reports) {
    std::string err;
    const auto t = report::parse_report_target(spec, err);
    if (t && (t->path.empty() || t->path == "-" ||
              (t->path.find("{name}") == std::string::npos && t->path.find("{index}") == std::string::npos))) {
      error_line("--report " + spec + ": with --each, each capture needs its own report: give a PATH with {name} "
                 "or {index}");
      return kExitUsage;
    }
  }
  // Every report path of every audit, and the events, checked together before any work.
  AuditArgs all = args;
  all.reports.clear();
  for (std::size_t i = 0; i < n; ++i) {
    const std::string name = std::filesystem::path(args.captures[i]).stem().string();
    for (const auto& spec : args.reports) all.reports.push_back(expand(spec, name, i + 1));
  }
  auto outputs = parse_outputs(all);
  if (!outputs) return kExitUsage;
  if (args.reports.empty()) outputs->reports.clear();  // no default report per capture: the summary lines
  std::unique_ptr<report::events::EventSink> sink;
  if (outputs->events) {
    sink = open_events_sink(*outputs);
    if (!sink) return kExitUsage;
  }
  // The summary lines go where the events do not.
  std::FILE* summary = outputs->events && outputs->events->kind == report::events::EventsTarget::Kind::kStdout
                           ? stderr
                           : stdout;
  const std::size_t per = args.reports.size();
  std::mutex events_lock;
  std::atomic<std::size_t> next{0};
  std::atomic<int> worst{kExitOk};
  const auto one = [&](std::size_t i) {
    AuditArgs a = args;
    a.threads = args.threads == 0 ? 1 : args.threads;
    const std::string& path = args.captures[i];
    session::AuditSession run(a, messages());
    int status = kExitOk;
    std::string line;
    if (!session::replay(run, {path}, nullptr)) {
      status = kExitUsage;
      line = fmt::format("{}: not read", path);
    } else {
      const std::vector<report::ReportTarget> mine(outputs->reports.begin() + static_cast<std::ptrdiff_t>(i * per),
                                                   outputs->reports.begin() + static_cast<std::ptrdiff_t>((i + 1) * per));
      status = write_reports(a, mine, run);
      if (sink) {
        const std::lock_guard<std::mutex> lock(events_lock);
        if (!emit_events(*sink, a, run)) status = kExitUsage;
      }
      const auto& r = run.result();
      const auto* outcome = run.outcome();
      const std::size_t findings = outcome != nullptr && outcome->evaluation != nullptr
                                       ? outcome->evaluation->findings.size()
                                       : 0;
      line = fmt::format("{}: {}, {} flows to {} destinations, {} findings", path,
                         outcome != nullptr && outcome->evaluation != nullptr ? outcome->evaluation->verdict()
                                                                               : "not evaluated",
                         r.total_flows(), r.destinations.size(), findings);
    }
    fmt::print(summary, "{}\n", line);
    std::fflush(summary);
    int seen = worst.load();
    while (status > seen && !worst.compare_exchange_weak(seen, status)) {
    }
  };
  const std::size_t jobs =
      std::min<std::size_t>(n, args.jobs != 0 ? args.jobs : std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> workers;
  for (std::size_t w = 0; w < jobs; ++w) {
    workers.emplace_back([&] {
      for (std::size_t i = next++; i < n; i = next++) one(i);
    });
  }
  for (auto& t : workers) t.join();
  if (sink && !close_events_sink(*sink)) return kExitUsage;
  return worst.load();
}

int run_audit(const AuditArgs& args) {
  if (args.each) return run_each(args);
  if (args.jobs != 0) {
    error_line("--jobs: only with --each");
    return kExitUsage;
  }
  const auto targets = parse_outputs(args);
  if (!targets) return kExitUsage;
  session::AuditSession run(args, messages());
  Progress progress;
  if (!session::replay(run, args.captures, &progress)) return kExitUsage;
  session::PhaseClock phases;
  const int status = write_reports(args, *targets, run);
  phases.lap("reports");
  return status;
}

}  // namespace

Commands add_audit_command(CLI::App& app) {
  auto args = std::make_shared<AuditArgs>();
  AuditArgs& audit = *args;
  auto* cmd = app.add_subcommand("audit", "Replay pcap/pcapng captures and report every destination");
  cmd->add_option("CAPTURE", audit.captures, "pcap or pcapng files; '-' reads standard input")->required();
  add_audit_options(cmd, audit, report::Subject::kAudit, "no PATH writes to stdout");
  add_events_options(cmd, audit);
  cmd->add_flag("--each", audit.each,
                "One audit per CAPTURE (reports need a PATH with {name} or {index}; one summary line per capture "
                "on stdout; exit code: the worst); with --events, one stream tagged by capture");
  cmd->add_option("--jobs", audit.jobs, "With --each: audits at once (0: one per core)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{256}))
      ->default_str("0");
  cmd->add_option("--threads", audit.threads,
                  "Worker threads reading the captures at once (0: one per core, up to 8, for inputs of 32 MiB "
                  "or more; else 1); the report is the same for any number. Standard input uses one")
      ->check(CLI::Range(std::size_t{0}, std::size_t{64}))
      ->default_str("0");
  cmd->footer("Link types read: " + capture::supported_link_type_names() +
              ".\nTunnels opened (the inner flow is audited): GRE, ERSPAN, VXLAN, Geneve, MPLS, IP-in-IP, "
              "Teredo, GTP-U.");
  return {{cmd, [args] { return run_audit(*args); }}};
}

}  // namespace flowaudit::cli
