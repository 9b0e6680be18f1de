// `flowaudit diff BASELINE NEW`: two audits (JSON reports or captures) compared.
#include "cli/options.h"

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <fstream>
#include <iterator>
#include <memory>

#include "core/input_file.h"
#include "report/diff.h"
#include "report/json_report.h"

namespace flowaudit::cli {

namespace {

// A JSON report to compare is read whole and parsed; the largest seen (the bench's key-log capture,
// every flow decrypted) is about 480 MB.
constexpr std::size_t kMaxReportBytes = std::size_t{2} << 30;

// One side of a diff: a JSON report as it is, or a capture audited now with the same options.
std::optional<report::DiffSide> load_diff_side(const std::string& path, session::AuditSession& run,
                                               int& status) {
  std::string head;
  if (path != "-") {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      error_line(fmt::format("{}: cannot open", path));
      status = kExitUsage;
      return std::nullopt;
    }
    char buf[64] = {};
    in.read(buf, sizeof buf);
    head.assign(buf, static_cast<std::size_t>(in.gcount()));
  }
  // RFC 8259 lets a parser skip a UTF-8 byte order mark; editors on Windows write one.
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  const std::size_t bom = std::string_view(head).starts_with(kBom) ? kBom.size() : 0;
  const auto first = head.find_first_not_of(" \t\r\n", bom);
  std::string error;
  if (first != std::string::npos && head[first] == '{') {
    std::string text;
    if (const std::string problem = core::read_input_file(path, kMaxReportBytes, text); !problem.empty()) {
      error_line(fmt::format("{}: {}", path, problem));
      status = kExitUsage;
      return std::nullopt;
    }
    text.erase(0, bom);
    boost::system::error_code ec;
    boost::json::parse_options opts;
    opts.max_depth = 64;
    const auto value = boost::json::parse(text, ec, {}, opts);
    if (ec) {
      error_line(fmt::format("{}: not valid JSON: {}", path, ec.message()));
      status = kExitUsage;
      return std::nullopt;
    }
    auto side = report::diff_side_from_report(value, path, error);
    if (!side) {
      error_line(error);
      status = kExitUsage;
    }
    return side;
  }
  Progress progress;
  if (!session::replay(run, {path}, &progress)) {
    status = kExitUsage;
    return std::nullopt;
  }
  const auto value = report::to_json(run.report_input());
  auto side = report::diff_side_from_report(value, path, error);
  if (!side) {
    error_line(error);
    status = kExitUsage;
  }
  return side;
}

int run_diff(const AuditArgs& args, const std::string& baseline_path, const std::string& next_path) {
  const auto targets = parse_targets(args.reports);
  if (!targets) return kExitUsage;
  for (const auto& t : *targets) {
    if (!report::supports(t.format, report::Subject::kDiff)) {
      error_line(fmt::format("--report: diff writes {}, not {}",
                             report::format_list(report::Subject::kDiff, false, " and "),
                             report::format_name(t.format)));
      return kExitUsage;
    }
  }
  int status = kExitOk;
  session::AuditSession baseline_run(args, messages());
  session::AuditSession next_run(args, messages());
  const auto baseline = load_diff_side(baseline_path, baseline_run, status);
  if (!baseline) return status;
  const auto next = load_diff_side(next_path, next_run, status);
  if (!next) return status;
  const auto diff = report::compare(*baseline, *next, session::fail_on_severity(args.fail_on), args.fail_on);
  status = diff.failed ? kExitFindings : kExitOk;
  const report::DiffInput input{*baseline, *next, diff};
  report::ReportOptions options;
  options.redact = !args.no_redact;
  for (const auto& t : *targets) {
    options.color = use_color(args.color, t);
    const auto writer = [&](report::Output& out) { (void)report::write_diff(t.format, input, options, out); };
    if (auto err = report::write_report(t, writer); !err.empty()) {
      error_line(err);
      status = kExitUsage;
    }
  }
  return status;
}

}  // namespace

Commands add_diff_command(CLI::App& app) {
  struct Args {
    AuditArgs audit;
    std::string baseline;
    std::string next;
  };
  auto args = std::make_shared<Args>();
  AuditArgs& diff = args->audit;
  std::string& diff_baseline = args->baseline;
  std::string& diff_next = args->next;
  auto* diff_cmd = app.add_subcommand(
      "diff", "Compare two audits (JSON reports or captures): destinations, services, countries, findings");
  diff_cmd->add_option("BASELINE", diff_baseline, "JSON report or capture of the earlier version")->required();
  diff_cmd->add_option("NEW", diff_next, "JSON report or capture of the new version")->required();
  add_audit_options(diff_cmd, diff, report::Subject::kDiff);
  return {{diff_cmd, [args] { return run_diff(args->audit, args->baseline, args->next); }}};
}

}  // namespace flowaudit::cli
