// `flowaudit capture -i IFACE`: live capture, its events printed as they come (session/live_session.h).
#include "cli/options.h"

#include <fmt/format.h>

#include <memory>

#include "core/escape.h"
#include "core/format.h"
#include "rules/eval/records.h"
#include "session/live_session.h"

namespace flowaudit::cli {

namespace {

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
    // Through a proxy only the proxy's address is on the wire: the server's country is unknown
    // unless the client asked by address.
    const std::string address = d.address_known() ? d.ip.to_string() : std::string("?");
    const std::string via = d.via_type.empty() ? std::string()
                                               : fmt::format(" via {} {}:{}", d.via_type, d.via_ip.to_string(), d.via_port);
    fmt::print(stderr, "flowaudit: new destination {} {}:{}/{}{}  server {}  service {}\n",
               d.hostname.empty() ? "(unnamed)" : core::escape_terminal(d.hostname), address, d.port,
               rules::eval::transport_name(d.protocol), via, core::escape_terminal(where), core::escape_terminal(whose));
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
  return {{capture_cmd, [args] { return run_capture(args->audit, args->capture); }}};
}

}  // namespace flowaudit::cli
