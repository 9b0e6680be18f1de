#include "analysis/enrich/data_dir.h"

#include <sys/stat.h>

#include <cstdlib>
#include <system_error>

namespace flowaudit::analysis::enrich {
namespace {

namespace fs = std::filesystem;

bool has_data(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir / "services", ec) || fs::is_directory(dir / "policies", ec);
}

// Owned by root or by whoever owns the running binary (who built it), and not writable by others.
bool trusted(const fs::path& dir) {
  struct stat exe {};
  struct stat st {};
  if (::stat("/proc/self/exe", &exe) != 0 || ::stat(dir.c_str(), &st) != 0) return false;
  if (st.st_uid != 0 && st.st_uid != exe.st_uid) return false;
  return (st.st_mode & S_IWOTH) == 0;
}

}  // namespace

std::vector<DataDirCandidate> data_dir_candidates() {
  std::vector<DataDirCandidate> out;
  if (const char* env = std::getenv("FLOWAUDIT_DATA_DIR"); env != nullptr && *env != '\0') {
    out.push_back({fs::path(env), true, false});
    return out;
  }
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && exe.is_absolute()) out.push_back({(exe.parent_path() / ".." / "share" / "flowaudit").lexically_normal()});
#ifdef FLOWAUDIT_SOURCE_DATA_DIR
  out.push_back({fs::path(FLOWAUDIT_SOURCE_DATA_DIR), false, true});
#endif
  return out;
}

std::optional<fs::path> find_data_dir(const std::vector<DataDirCandidate>& candidates) {
  for (const auto& c : candidates) {
    if (c.explicit_choice) return c.path;
    if (!c.path.is_absolute() || !has_data(c.path)) continue;
    if (c.check_owner && !trusted(c.path)) continue;
    return c.path;
  }
  return std::nullopt;
}

std::optional<fs::path> find_data_dir() { return find_data_dir(data_dir_candidates()); }

std::string data_dir_searched() {
  std::string out;
  for (const auto& c : data_dir_candidates()) {
    if (!out.empty()) out += ", ";
    out += c.explicit_choice ? "FLOWAUDIT_DATA_DIR=" + c.path.string() : c.path.string();
    if (c.check_owner && has_data(c.path) && !trusted(c.path)) {
      out += " (ignored: not owned by root or by the binary's owner, or writable by others)";
    }
  }
  return out.empty() ? std::string("nowhere") : out;
}

}  // namespace flowaudit::analysis::enrich
