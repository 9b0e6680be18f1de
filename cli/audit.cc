// `flowaudit audit CAPTURE...`: replay captures and report every destination.
#include "cli/options.h"

#include "capture/link_types.h"
#include "session/replay_session.h"

#include <memory>

namespace flowaudit::cli {

namespace {

int run_audit(const AuditArgs& args) {
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
