#include "rules/report/report_output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace flowaudit::rules::report {

namespace {
constexpr std::pair<Format, std::string_view> kFormats[] = {
    {Format::kText, "text"},   {Format::kJson, "json"},   {Format::kHtml, "html"}, {Format::kMarkdown, "md"},
    {Format::kJunit, "junit"}, {Format::kSarif, "sarif"}, {Format::kCsv, "csv"},
};
}  // namespace

std::string_view format_name(Format format) noexcept {
  for (const auto& [f, name] : kFormats) {
    if (f == format) return name;
  }
  return "?";
}

std::optional<ReportTarget> parse_report_target(std::string_view spec, std::string& error) {
  const auto colon = spec.find(':');
  const std::string_view name = spec.substr(0, colon);
  ReportTarget t;
  if (colon != std::string_view::npos) t.path = std::string(spec.substr(colon + 1));
  for (const auto& [f, n] : kFormats) {
    if (n == name || (f == Format::kMarkdown && name == "markdown")) {
      t.format = f;
      return t;
    }
  }
  error = fmt::format("unknown report format '{}' (formats: text, json, html, md, junit, sarif, csv)", name);
  return std::nullopt;
}

std::string write_report(const ReportTarget& target, const std::function<void(std::FILE*)>& writer) {
  if (target.path.empty() || target.path == "-") {
    writer(stdout);
    if (std::ferror(stdout) != 0 || std::fflush(stdout) != 0) {
      return fmt::format("cannot write report to standard output: {}", std::strerror(errno));
    }
    return {};
  }
  // Reports name who talked to whom: readable by the owner only, whatever the umask.
  const int fd = ::open(target.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fmt::format("{}: cannot write report: {}", target.path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) != 0600) ::fchmod(fd, 0600);
  std::FILE* out = ::fdopen(fd, "w");
  if (out == nullptr) {
    const std::string err = fmt::format("{}: cannot write report: {}", target.path, std::strerror(errno));
    ::close(fd);
    return err;
  }
  writer(out);
  const bool failed = std::ferror(out) != 0;
  const int saved = errno;
  if (std::fclose(out) != 0 || failed) {
    return fmt::format("{}: cannot write report: {}", target.path, std::strerror(failed ? saved : errno));
  }
  return {};
}

std::string write_report(const ReportTarget& target, std::string_view content) {
  return write_report(target, [content](std::FILE* out) { std::fwrite(content.data(), 1, content.size(), out); });
}

}  // namespace flowaudit::rules::report
