// `flowaudit run -- CMD`: CMD in a network namespace of its own, exactly its traffic audited
// (session/run_session.h).
#include "cli/options.h"

#include <fmt/format.h>

#include <memory>

#include "cli/live_printer.h"
#include "session/run_session.h"

namespace flowaudit::cli {

namespace {

// CMD failed (exited non-zero, was killed or never ran) and no finding reached --fail-on: a
// failed test run must not turn into a green CI step.
constexpr int kExitCommandFailed = 3;

int run_run(const AuditArgs& args, const session::RunSettings& settings) {
  const auto targets = parse_outputs(args, {{"--write", settings.live.write}});
  if (!targets) return kExitUsage;
  session::Settings audit_settings = args;
  audit_settings.keys_expected = settings.keylog;
  session::AuditSession audit(audit_settings, messages());
  LivePrinter printer(true);
  session::RunSession run(audit, settings, printer);
  if (!run.open()) return kExitUsage;
  // Again as the user the capture now runs as: root could write where that user cannot.
  if (!parse_outputs(args, {{"--write", settings.live.write}})) return kExitUsage;
  if (!run.run()) return kExitUsage;
  const auto& info = run.info();
  fmt::print(stderr, "flowaudit: {} {} after {:.1f} s\n", settings.command.front(),
             !info.signal.empty() ? "was ended by " + info.signal
                                  : fmt::format("exited with status {}", info.exit_code.value_or(-1)),
             info.duration_s);
  const int status = write_reports(args, *targets, audit);
  if (status == kExitOk && info.failed()) return kExitCommandFailed;
  return status;
}

}  // namespace

Commands add_run_command(CLI::App& app) {
  struct Args {
    AuditArgs audit;
    session::RunSettings run;
  };
  auto args = std::make_shared<Args>();
  auto& s = args->run;
  auto* cmd = app.add_subcommand(
      "run", "Run a command in a network namespace of its own and audit exactly its traffic (as root)");
  cmd->add_option("command", s.command, "The command and its arguments, after --")->required()->expected(-1);
  cmd->add_option("--user", s.user, "Run the command as this user (default: the user who ran sudo, else root)");
  cmd->add_option("--network", s.network,
                  "netns (root: a network namespace with a veth pair and NAT), pasta (without root: Debian's "
                  "pasta, audited when the command ends), or auto")
      ->check(CLI::IsMember({"auto", "netns", "pasta"}))
      ->default_str("auto");
  cmd->add_flag("--no-keylog", [&s](std::int64_t) { s.keylog = false; },
                "Do not give the command SSLKEYLOGFILE (TLS keys are then not kept)");
  cmd->add_option("--write", s.live.write,
                  "Keep the packets in this pcapng file (mode 0600), with the TLS keys in Decryption Secrets Blocks");
  cmd->add_option("--duration", s.live.duration, "End the command (SIGTERM, SIGKILL 2 s later) after this many seconds")
      ->check(CLI::Range(0.0, 31536000.0));
  cmd->add_option("--snaplen", s.live.snaplen, "Bytes kept per packet")->check(CLI::Range(64, 262144))->default_str("262144");
  cmd->add_option("--buffer-size", s.live.buffer_mib, "Kernel capture buffer, MiB")
      ->check(CLI::Range(1, 2048))
      ->default_str("8");
  cmd->add_option("--stats-interval", s.live.stats_interval, "Print packet and drop counts every N seconds")
      ->check(CLI::Range(0.0, 86400.0));
  add_audit_options(cmd, args->audit, report::Subject::kAudit, "written when the command ends");
  add_events_options(cmd, args->audit);
  cmd->footer(
      "Exit status: 0 clean, 1 a finding reached --fail-on, 2 usage error or the command could not be started, "
      "3 the command failed (non-zero exit or killed) and no finding reached --fail-on.");
  return {{cmd, [args] { return run_run(args->audit, args->run); }}};
}

}  // namespace flowaudit::cli
