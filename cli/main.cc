// flowaudit command line: the commands (one file each, cli/<command>.cc) registered, the
// arguments parsed, the parsed command run. The work is in session/.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <string>

#include "cli/options.h"

int main(int argc, char** argv) {
  using namespace flowaudit::cli;
  CLI::App app{"flowaudit: audits where an AI chat client sends its users' data, from the wire."};
  app.set_version_flag("--version", std::string("flowaudit ") + FLOWAUDIT_VERSION);
  app.require_subcommand(1);

  Commands commands;
  for (const auto add : {add_audit_command, add_capture_command, add_run_command, add_diff_command, add_geo_command,
                         add_geodb_command, add_rules_command, add_sink_command}) {
    for (auto& c : add(app)) commands.push_back(std::move(c));
  }

  // A repeatable option takes one value per occurrence: `--policy a.yaml s.pcap` must leave s.pcap
  // to the positional arguments (CLI11 would otherwise give it to --policy too).
  for (const auto& c : commands) {
    for (CLI::Option* opt : c.app->get_options()) {
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
  for (const auto& c : commands) {
    if (c.app->parsed()) return c.run();
  }
  return kExitUsage;
}
