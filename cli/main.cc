// flowaudit command line: option parsing and wiring of capture -> analysis -> report.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <vector>

#include "analysis/audit.h"
#include "analysis/packet/link_layer.h"
#include "capture/pcap_file_source.h"
#include "rules/report/json_report.h"
#include "rules/report/report_output.h"
#include "rules/report/text_report.h"

namespace {

using namespace flowaudit;

constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;  // usage error or no input readable

struct AuditArgs {
  std::vector<std::string> captures;
  std::vector<std::string> clients;
  std::vector<std::string> reports;
  std::string fail_on = "high";
  std::size_t max_flows = 1u << 20;
  double tcp_timeout = 300;
  double udp_timeout = 120;
  std::size_t fragment_memory = 8u << 20;
};

void error_line(const std::string& message) { fmt::print(stderr, "flowaudit: {}\n", message); }

int run_audit(const AuditArgs& args) {
  analysis::AuditOptions options;
  for (const auto& c : args.clients) {
    const auto cidr = core::Cidr::parse(c);
    if (!cidr) {
      error_line(fmt::format("--client: '{}' is not an address or CIDR prefix", c));
      return kExitUsage;
    }
    options.flows.clients.push_back(*cidr);
  }
  options.flows.max_flows = args.max_flows;
  options.flows.tcp_idle_ns = static_cast<core::TimestampNs>(args.tcp_timeout * 1e9);
  options.flows.udp_idle_ns = static_cast<core::TimestampNs>(args.udp_timeout * 1e9);
  options.reassembly.memory_limit = args.fragment_memory;

  std::vector<rules::report::ReportTarget> targets;
  for (const auto& spec : args.reports) {
    std::string err;
    auto t = rules::report::parse_report_target(spec, err);
    if (!t) {
      error_line("--report: " + err);
      return kExitUsage;
    }
    targets.push_back(*t);
  }
  if (targets.empty()) targets.push_back({});

  int stdin_uses = 0;
  for (const auto& c : args.captures) stdin_uses += c == "-" ? 1 : 0;
  if (stdin_uses > 1) {
    error_line("standard input ('-') can be given only once");
    return kExitUsage;
  }

  analysis::Auditor auditor(options);
  std::vector<capture::SourceInfo> infos;
  std::size_t readable = 0;
  for (const auto& path : args.captures) {
    auto opened = capture::open_capture_file(path);
    if (!opened.source) {
      error_line(opened.info.error);
      infos.push_back(std::move(opened.info));
      continue;
    }
    const auto& first = opened.source->info();
    if (first.format != "pcapng" && !first.link_types.empty() &&
        !analysis::packet::is_supported_link_type(first.link_types.front())) {
      auto info = first;
      info.error = fmt::format("{}: unsupported link type {} (supported: ethernet, linux-sll, linux-sll2, raw, "
                               "ipv4, ipv6, null, loop)",
                               path, capture::link_type_name(first.link_types.front()));
      error_line(info.error);
      infos.push_back(std::move(info));
      continue;
    }
    auto info = auditor.run(*opened.source, static_cast<std::uint32_t>(infos.size()));
    if (!info.error.empty()) error_line(info.error);
    ++readable;
    infos.push_back(std::move(info));
  }
  if (readable == 0) {
    if (args.captures.size() > 1) error_line("no input could be read");
    return kExitUsage;
  }

  const auto result = auditor.finish(std::move(infos));
  int status = kExitOk;
  for (const auto& t : targets) {
    const auto writer = [&](std::FILE* out) {
      if (t.format == rules::report::Format::kJson) {
        rules::report::write_json(result, out);
      } else {
        const std::string text = rules::report::render_text(result);
        std::fwrite(text.data(), 1, text.size(), out);
      }
    };
    if (auto err = rules::report::write_report(t, writer); !err.empty()) {
      error_line(err);
      status = kExitUsage;
    }
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"flowaudit: audits where an AI chat client sends its users' data, from the wire."};
  app.set_version_flag("--version", std::string("flowaudit ") + FLOWAUDIT_VERSION);
  app.require_subcommand(1);

  AuditArgs audit;
  auto* cmd = app.add_subcommand("audit", "Replay pcap/pcapng captures and report every destination");
  cmd->add_option("CAPTURE", audit.captures, "pcap or pcapng files; '-' reads standard input")->required();
  cmd->add_option("--client", audit.clients,
                  "Address or CIDR of the audited device (orients flows without a TCP handshake); repeatable");
  cmd->add_option("--report", audit.reports,
                  "FORMAT[:PATH], repeatable; formats: text (default), json; no PATH writes to stdout");
  cmd->add_option("--fail-on", audit.fail_on, "Exit 1 when a finding reaches this severity")
      ->check(CLI::IsMember({"info", "low", "medium", "high", "critical", "never"}))
      ->default_str("high");
  cmd->add_option("--max-flows", audit.max_flows, "Cap on live flows; the stalest is evicted beyond it")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 26))
      ->default_str("1048576");
  cmd->add_option("--tcp-timeout", audit.tcp_timeout, "Seconds before an idle TCP flow is closed")
      ->check(CLI::Range(0.001, 31536000.0))
      ->default_str("300");
  cmd->add_option("--udp-timeout", audit.udp_timeout, "Seconds before an idle UDP flow is closed")
      ->check(CLI::Range(0.001, 31536000.0))
      ->default_str("120");
  cmd->add_option("--fragment-memory", audit.fragment_memory, "Bytes kept for IP fragment reassembly")
      ->check(CLI::Range(std::size_t{65536}, std::size_t{1} << 30))
      ->default_str("8388608");

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
  return kExitUsage;
}
