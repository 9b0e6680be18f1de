// `flowaudit geo IP...`: what an audit would attach to each address.
#include "cli/options.h"

#include <fmt/format.h>

#include <memory>

#include "analysis/enrich/enrichment.h"
#include "report/geo_report.h"

namespace flowaudit::cli {

namespace {

struct GeoArgs {
  std::vector<std::string> addresses;
  std::vector<std::string> geoip_dbs;
  std::vector<std::string> catalogs;
  std::string hostname;
  bool json = false;
};

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

}  // namespace

Commands add_geo_command(CLI::App& app) {
  auto args = std::make_shared<GeoArgs>();
  GeoArgs& geo = *args;
  auto* geo_cmd = app.add_subcommand("geo", "What an audit would attach to each address: country, ASN, operator");
  geo_cmd->add_option("IP", geo.addresses, "IPv4 or IPv6 addresses")->required();
  geo_cmd->add_option("--geoip-db", geo.geoip_dbs, "MMDB database, repeatable (default: the data directory)");
  geo_cmd->add_option("--catalog", geo.catalogs, "Extra service catalog YAML, repeatable");
  geo_cmd->add_option("--hostname", geo.hostname, "Also match this name against the service catalog");
  geo_cmd->add_flag("--json", geo.json, "JSON instead of text");
  return {{geo_cmd, [args] { return run_geo(*args); }}};
}

}  // namespace flowaudit::cli
