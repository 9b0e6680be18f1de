// --report FORMAT[:PATH]: which formats, where to, and writing files that may hold personal data
// with mode 0600. A file is written whole or not at all (a temporary file renamed into place), and
// never through a symlink to a file (core/output_file.h says what each kind of path gets).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "report/output.h"
#include "report/report.h"

namespace flowaudit::report {

struct ReportTarget {
  Format format = Format::kText;
  std::string path;  // empty or "-": standard output
};

// Returns nullopt and sets `error` for an unknown format (report.h: formats()).
std::optional<ReportTarget> parse_report_target(std::string_view spec, std::string& error);

// Checks every target before any work starts, with the other outputs of the run (`others`: label
// and path, e.g. {"--write", "x.pcapng"}): each can be written, no file is named twice (however it
// is spelled), at most one goes to standard output. Returns "" or a one-line error.
std::string check_report_targets(const std::vector<ReportTarget>& targets,
                                 const std::vector<std::pair<std::string, std::string>>& others = {});

// Lets `writer` stream the report into the target; returns an empty string or a one-line error
// naming the path.
std::string write_report(const ReportTarget& target, const std::function<void(Output&)>& writer);
std::string write_report(const ReportTarget& target, std::string_view content);

}  // namespace flowaudit::report
