#include "report/report_output.h"

#include <cstdio>
#include <utility>

#include <fmt/format.h>

#include "core/output_file.h"

namespace flowaudit::report {

std::optional<ReportTarget> parse_report_target(std::string_view spec, std::string& error) {
  const auto colon = spec.find(':');
  const std::string_view name = spec.substr(0, colon);
  ReportTarget t;
  if (colon != std::string_view::npos) t.path = std::string(spec.substr(colon + 1));
  if (const auto* f = find_format(name)) {
    t.format = f->format;
    return t;
  }
  error = fmt::format("unknown report format '{}' (formats: {})", name, format_list(Subject::kAudit));
  return std::nullopt;
}

std::string check_report_targets(const std::vector<ReportTarget>& targets,
                                 const std::vector<std::pair<std::string, std::string>>& others) {
  struct Checked {
    std::string label;
    std::string path;
    core::OutputCheck check;
  };
  std::vector<Checked> checked;
  const auto add = [&](std::string label, const std::string& path) -> std::string {
    Checked c{std::move(label), path, {}};
    if (auto err = core::check_output(path, c.check); !err.empty()) return fmt::format("{}: {}: {}", c.label, path, err);
    const bool to_stdout = c.check.kind == core::OutputKind::kStdout;
    for (const auto& prior : checked) {
      if (to_stdout && prior.check.kind == core::OutputKind::kStdout) {
        return fmt::format("{}: only one report can go to standard output ({} and {} both do); give the others a "
                           "path (FORMAT:PATH)",
                           c.label, prior.path.empty() ? "-" : prior.path, path.empty() ? "-" : path);
      }
      if (core::same_output(prior.check, c.check)) {
        return fmt::format("{}: {} is given twice ({} and {}): one would overwrite the other", c.label, path,
                           prior.label, c.label);
      }
    }
    checked.push_back(std::move(c));
    return {};
  };
  for (const auto& t : targets) {
    if (auto err = add(fmt::format("--report {}", format_name(t.format)), t.path); !err.empty()) return err;
  }
  for (const auto& [label, path] : others) {
    if (path.empty()) continue;
    if (auto err = add(label, path); !err.empty()) return err;
  }
  return {};
}

std::string write_report(const ReportTarget& target, const std::function<void(Output&)>& writer) {
  const bool to_stdout = target.path.empty() || target.path == "-";
  const std::string name = to_stdout ? std::string("standard output") : target.path;
  core::OutputFile out;
  if (auto err = out.open(target.path, core::OutputFile::Mode::kReplace); !err.empty()) {
    return fmt::format("{}: cannot write report: {}", name, err);
  }
  // A writer that throws leaves no temporary file: `out` removes it when it goes.
  Output output(out.file());
  writer(output);
  if (auto err = out.commit(); !err.empty()) return fmt::format("{}: cannot write report: {}", name, err);
  return {};
}

std::string write_report(const ReportTarget& target, std::string_view content) {
  return write_report(target, [content](Output& out) { out.write(content); });
}

}  // namespace flowaudit::report
