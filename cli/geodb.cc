// `flowaudit geodb build`: an .mmdb from range CSVs and CIDR lists.
#include "cli/options.h"

#include <fmt/format.h>

#include <memory>

#include "analysis/enrich/mmdb_writer.h"
#include "analysis/enrich/range_csv.h"

namespace flowaudit::cli {

namespace {

int run_geodb_build(const std::vector<std::string>& csvs, const std::string& out, const std::string& type,
                    const std::string& description, const std::string& overlap) {
  analysis::enrich::MmdbWriterOptions options;
  if (!type.empty()) options.database_type = type;
  options.overlap = overlap == "later-wins" ? analysis::enrich::OverlapPolicy::kLaterWins
                                            : analysis::enrich::OverlapPolicy::kReject;
  // libmaxminddb refuses a file without a description map; it also carries the data's attribution.
  options.description_en = description.empty() ? "built by flowaudit geodb build" : description;
  analysis::enrich::GeodbBuildStats stats;
  std::string error;
  if (!analysis::enrich::build_geodb(csvs, out, options, error, &stats)) {
    error_line(error);
    return kExitUsage;
  }
  fmt::print(stderr, "flowaudit: wrote {}: {} rows, {} networks, {} records\n", out, stats.rows, stats.networks,
             stats.records);
  if (stats.overlapping_rows > 0) {
    fmt::print(stderr, "flowaudit: {} rows overlap another row; where they do, the row given later won\n",
               stats.overlapping_rows);
  }
  return kExitOk;
}

}  // namespace

Commands add_geodb_command(CLI::App& app) {
  struct Args {
    std::vector<std::string> csvs;
    std::string out;
    std::string type;
    std::string description;
    std::string overlap = "error";
  };
  auto args = std::make_shared<Args>();
  auto& build_csvs = args->csvs;
  auto& build_out = args->out;
  auto& build_type = args->type;
  auto& build_description = args->description;
  auto& build_overlap = args->overlap;
  auto* geodb = app.add_subcommand("geodb", "Geolocation databases");
  geodb->require_subcommand(1);
  auto* geodb_build = geodb->add_subcommand("build", "Write an .mmdb from range CSVs and CIDR lists");
  geodb_build->add_option("--csv", build_csvs,
                          "start,end,asn,org | start,end,country | cidr,country | cidr,asn,org; repeatable")
      ->required();
  geodb_build->add_option("--out", build_out, "Output .mmdb")->required();
  geodb_build->add_option("--type", build_type, "database_type written in the metadata");
  geodb_build->add_option("--description", build_description,
                          "description.en in the metadata: say where the data comes from (reports show it)");
  geodb_build
      ->add_option("--overlap", build_overlap,
                   "Overlapping rows: error (naming both FILE:LINEs) or later-wins (the row given later wins there)")
      ->check(CLI::IsMember({"error", "later-wins"}))
      ->default_str("error");
  return {{geodb_build, [args] {
             return run_geodb_build(args->csvs, args->out, args->type, args->description, args->overlap);
           }}};
}

}  // namespace flowaudit::cli
