// --threads N (issue 18): the report is the one-thread report, byte for byte, for N = 2 and 4, on
// every committed capture (and with their key logs, and several captures in one audit). The one
// number that differs by design, flow_table.peak_live (the sum of the workers' peaks), is blanked
// before comparing; the messages on standard error and the exit code must be the same too.
#include <filesystem>
#include <regex>
#include <set>

#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

std::string without_peak_live(std::string json) {
  static const std::regex peak("\"peak_live\": *[0-9]+");
  return std::regex_replace(json, peak, "\"peak_live\": 0");
}

// Audits with 1, 2 and 4 threads and checks that the three agree; returns the one-thread run.
RunResult same_for_any_threads(std::vector<std::string> args) {
  args.insert(args.begin(), "audit");
  for (const char* a : {"--report", "json:-", "--fail-on", "never"}) args.emplace_back(a);
  RunResult first;
  for (const char* n : {"1", "2", "4"}) {
    std::vector<std::string> with = args;
    with.emplace_back("--threads");
    with.emplace_back(n);
    RunResult r = run(with);
    r.out = without_peak_live(r.out);
    if (std::string(n) == "1") {
      first = r;
      continue;
    }
    INFO("flowaudit " << binary_command(with));
    CHECK(r.exit_code == first.exit_code);
    CHECK(r.err == first.err);
    CHECK(r.out == first.out);
  }
  return first;
}

std::vector<std::filesystem::path> committed_captures() {
  std::set<std::filesystem::path> found;  // sorted: the same order on every machine
  for (const auto& e : std::filesystem::recursive_directory_iterator(source_path("tests/data"))) {
    const auto ext = e.path().extension();
    if (e.is_regular_file() && (ext == ".pcap" || ext == ".pcapng")) found.insert(e.path());
  }
  return {found.begin(), found.end()};
}

}  // namespace

TEST_SUITE("e2e") {

TEST_CASE("--threads 2 and 4 give the one-thread report on every committed capture") {
  const auto captures = committed_captures();
  REQUIRE(captures.size() > 80);
  std::size_t with_flows = 0;
  for (const auto& c : captures) {
    std::vector<std::string> args{c.string()};
    // A capture with its key log next to it (tests/data/decrypt) is audited with it.
    auto keys = c;
    keys.replace_extension(".keys");
    if (std::filesystem::exists(keys)) {
      args.emplace_back("--keylog");
      args.push_back(keys.string());
    }
    const RunResult r = same_for_any_threads(args);
    boost::system::error_code ec;
    const auto report = boost::json::parse(r.out, ec);
    if (!ec && report.is_object() && report.at("summary").at("flows").to_number<std::int64_t>() > 0) ++with_flows;
  }
  // The comparison is worth something only if most reports have flows to compare.
  CHECK(with_flows > captures.size() / 2);
}

TEST_CASE("--threads: several captures in one audit, and standard input read by one thread") {
  same_for_any_threads({source_path("tests/data/deepseek-session.pcapng"), source_path("tests/data/clock-back.pcap"),
                        source_path("tests/data/clock-two-devices.pcapng")});
  // Standard input cannot be read by more than one worker: the same report, from one.
  const auto path = source_path("tests/data/deepseek-session.pcapng");
  const RunResult one = run({"audit", path, "--report", "json:-", "--fail-on", "never", "--threads", "1"});
  const RunResult piped = run({"audit", "-", "--report", "json:-", "--fail-on", "never", "--threads", "4"}, path);
  CHECK(piped.exit_code == one.exit_code);
  CHECK(piped.out.size() > 1000);
}

}  // TEST_SUITE

}  // namespace flowaudit::e2e
