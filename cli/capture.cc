// `flowaudit capture -i IFACE`: live capture, its events printed as they come (session/live_session.h).
#include "cli/options.h"

#include <fmt/format.h>

#include <memory>

#include "core/escape.h"
#include "core/timestamp.h"
#include "core/format.h"
#include "rules/eval/records.h"
#include "cli/live_printer.h"
#include "session/live_session.h"

namespace flowaudit::cli {

namespace {

using CaptureArgs = session::LiveSettings;


// `flowaudit capture -i IFACE`: the same analysis as audit, on packets as they arrive.
int run_capture(const AuditArgs& args, const CaptureArgs& c) {
  if (c.interface.empty() && !c.selected()) {
    error_line("capture: -i INTERFACE, --uid USER or --cgroup PATH is required");
    return kExitUsage;
  }
  const auto targets = parse_outputs(args, {{"--write", c.write}});
  if (!targets) return kExitUsage;
  session::AuditSession run(args, messages());
  LivePrinter printer;
  session::LiveSession live(run, c, printer);
  if (!live.open()) return kExitUsage;
  // Again as the user the capture now runs as: root could write where that user cannot.
  if (!parse_outputs(args, {{"--write", c.write}})) return kExitUsage;
  if (!targets->events) {
    if (!live.run()) return kExitUsage;
    return write_reports(args, *targets, run);
  }
  // --events: a capture may run for weeks, so each flow is told when it ends (or is folded past
  // --max-flow-records), each DNS message soon after it is logged; the flows still open and the
  // findings are told when the capture stops. The sink is opened as the user the capture runs as.
  const auto sink = open_events_sink(*targets);
  if (!sink) return kExitUsage;
  EventStream stream;
  stream.source = "interface:" + c.interface;
  stream.audit_key = stream.source + '\0' + std::to_string(core::wall_clock_ns());
  session::LiveHooks hooks;
  bool sink_failed = false;
  hooks.on_ended = [&](analysis::AuditResult& part) {
    if (!sink_failed && !emit_ended_events(*sink, args, stream, part)) {
      sink_failed = true;
      error_line("--events: " + sink->error() + "; the capture goes on, its report is written at the end");
    }
  };
  if (!live.run(hooks)) {
    close_events_sink(*sink);
    return kExitUsage;
  }
  Outputs reports_only = *targets;
  reports_only.events.reset();
  int status = write_reports(args, reports_only, run);
  if (!sink_failed) emit_events(*sink, args, run, &stream);
  if (!close_events_sink(*sink) || sink_failed) status = kExitUsage;
  return status;
}

}  // namespace

Commands add_capture_command(CLI::App& app) {
  struct Args {
    AuditArgs audit;
    CaptureArgs capture;
  };
  auto args = std::make_shared<Args>();
  AuditArgs& live_args = args->audit;
  CaptureArgs& capture_args = args->capture;
  auto* capture_cmd = app.add_subcommand(
      "capture", "Capture live from an interface (as root; root is dropped once the interface is open)");
  auto* interface = capture_cmd->add_option("-i,--interface", capture_args.interface, "Interface, or 'any'");
  auto* uid = capture_cmd->add_option(
      "--uid", capture_args.select_uid,
      "Only this user's traffic (name or number), selected by the kernel (nftables and NFLOG), both directions");
  auto* cgroup = capture_cmd->add_option(
      "--cgroup", capture_args.select_cgroup,
      "Only the traffic of this cgroup v2 (e.g. an app started with systemd-run --user --scope)");
  interface->excludes(uid)->excludes(cgroup);
  uid->excludes(cgroup);
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
  add_events_options(capture_cmd, live_args);
  return {{capture_cmd, [args] { return run_capture(args->audit, args->capture); }}};
}

}  // namespace flowaudit::cli
