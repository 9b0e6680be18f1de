// What the commands share: exit statuses, the audit options of audit, capture and diff, the
// report targets, and the terminal side of the session's sinks (messages, progress).
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "report/events/event_sink.h"
#include "report/report.h"
#include "report/report_output.h"
#include "session/audit_session.h"
#include "session/nats_sink.h"
#include "session/replay_session.h"

namespace flowaudit::cli {

constexpr int kExitOk = 0;
constexpr int kExitFindings = 1;  // ran, and a finding reached --fail-on
constexpr int kExitUsage = 2;  // usage error or no input readable

struct AuditArgs : session::Settings {
  std::vector<std::string> captures;
  std::vector<std::string> reports;
  std::string color = "auto";
  std::string events;         // --events ocsf[:DEST]; empty: none
  std::string sensor_id;      // --sensor-id; empty: the host name
  std::vector<std::string> labels;  // --label KEY=VALUE, repeatable: metadata.labels of every event
  std::string events_rotate;  // --events-rotate SIZE|AGE
  std::string nats_creds;     // --nats-creds FILE
  std::string nats_ca;        // --nats-ca FILE
  std::string nats_stream = "FLOWAUDIT";  // --nats-stream NAME
  std::string events_spool;   // --events-spool DIR
  std::string events_spool_max = "1G";  // --events-spool-max SIZE
  bool each = false;          // audit --each: one audit per capture
  std::size_t jobs = 0;       // audit --jobs: audits at once with --each; 0: one per core
};

// A command the user can run: its CLI11 subcommand, and what it does once parsed.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};
using Commands = std::vector<Command>;

// One per file (cli/<command>.cc), registered in this order (the order of --help).
Commands add_audit_command(CLI::App& app);
Commands add_capture_command(CLI::App& app);
Commands add_run_command(CLI::App& app);
Commands add_diff_command(CLI::App& app);
Commands add_geo_command(CLI::App& app);
Commands add_geodb_command(CLI::App& app);
Commands add_rules_command(CLI::App& app);
Commands add_sink_command(CLI::App& app);  // cli/sink.cc

// "flowaudit: MESSAGE" on stderr.
void error_line(const std::string& message);
// The session's messages on stderr, as every command prints them.
session::Messages& messages();

// Progress on stderr while a long replay runs, only when stderr is a terminal.
class Progress final : public session::ReplayProgress {
 public:
  Progress();
  void start(const std::string& path) override;
  void update(std::uint64_t packets, std::uint64_t position) override;
  void done() override;

 private:
  bool enabled_;
  bool shown_ = false;
  std::string path_;
  std::uint64_t size_ = 0;
  std::chrono::steady_clock::time_point last_;
};

// Colour for a text report: only on a terminal, never with NO_COLOR set or TERM=dumb.
bool use_color(const std::string& mode, const report::ReportTarget& target);

// Parses --report and checks every output path (with `others`, e.g. capture --write) before any
// work: a report that cannot be written must not be found out after minutes of audit.
std::optional<std::vector<report::ReportTarget>> parse_targets(
    const std::vector<std::string>& specs, const std::vector<std::pair<std::string, std::string>>& others = {});

// The reports and the event stream of audit, capture and run, parsed and checked together (one
// output each; events on standard output send the default text report to standard error).
struct Outputs {
  std::vector<report::ReportTarget> reports;
  std::optional<report::events::EventsTarget> events;
  report::events::Rotation rotation;
  std::optional<session::NatsTarget> nats;  // events to NATS JetStream
  session::NatsSettings nats_settings;
};
// The events' sink for `outputs` (a file, standard output or NATS JetStream); nullptr after a
// one-line error on stderr.
std::unique_ptr<report::events::EventSink> open_events_sink(const Outputs& outputs);
// Closes it; false after a one-line error (events lost); prints where NATS events went.
bool close_events_sink(report::events::EventSink& sink);
std::optional<Outputs> parse_outputs(const AuditArgs& args,
                                     const std::vector<std::pair<std::string, std::string>>& others = {});

// Writes every requested report; the exit status from the verdict (or kExitUsage when a report
// could not be written).
int write_reports(const AuditArgs& args, const std::vector<report::ReportTarget>& targets,
                  const session::AuditSession& run);
// The reports, then the events (--events); kExitUsage as well when the events could not all be written.
int write_reports(const AuditArgs& args, const Outputs& outputs, const session::AuditSession& run);

// The events of one audit into `sink` (audit --each shares one among its audits); false once the
// sink has failed (sink.error() says why).
// A capture that tells its events as it goes (issue 19): what its parts share and what was told.
struct EventStream {
  std::string source;      // "interface:<name>", as the final result names it
  std::string audit_key;   // from the capture's start: the ids of its parts and of its end agree
  std::size_t dns_told = 0;
  std::uint64_t flows_told = 0;
};
// Threads that render events for these options (--threads; 0: one per core, up to 8).
[[nodiscard]] std::size_t event_threads(const AuditArgs& args);
// `threads`: how many render the events (0: as --threads says, one per core by default).
bool emit_events(report::events::EventSink& sink, const AuditArgs& args, const session::AuditSession& run,
                 const EventStream* stream = nullptr, std::size_t threads = 0);
// One part of a capture that tells as it goes (session::LiveHooks::on_ended).
bool emit_ended_events(report::events::EventSink& sink, const AuditArgs& args, EventStream& stream,
                       const analysis::AuditResult& part);

// --events, --sensor-id and --events-rotate (audit, capture, run).
void add_events_options(CLI::App* cmd, AuditArgs& audit);

// Options shared by audit, capture and diff (a capture given to diff is audited with them). The
// report formats, in the --report help and the footer, come from the table in report/report.h.
void add_audit_options(CLI::App* cmd, AuditArgs& audit, report::Subject subject, std::string_view report_note = {});

}  // namespace flowaudit::cli
