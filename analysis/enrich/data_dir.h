// Where the built-in data (the service catalog, data/services, and the policy packs,
// data/policies) is found. Never relative to the working directory: a CI job audits inside an
// untrusted checkout, and a ./data/policies/default.yaml planted there must not become the policy.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace flowaudit::analysis::enrich {

struct DataDirCandidate {
  std::filesystem::path path;
  bool explicit_choice = false;  // FLOWAUDIT_DATA_DIR: taken as it is, nothing else is tried
  bool check_owner = false;      // the configure-time source path: it may no longer be the source tree
};

// In order: $FLOWAUDIT_DATA_DIR alone when it is set; else <exe>/../share/flowaudit (the installed
// data, <exe> being the directory of /proc/self/exe), then the source tree's data/ recorded when
// the build was configured (FLOWAUDIT_SOURCE_DATA_DIR), so that a build tree anywhere finds it.
[[nodiscard]] std::vector<DataDirCandidate> data_dir_candidates();
// The first candidate that has a services/ or policies/ folder (an explicit one is returned as it
// is). The source-tree fallback is taken only when it belongs to root or to the owner of the
// running executable and others cannot write to it: a build's source path may have been deleted
// and made again by someone else (/tmp). nullopt if none.
[[nodiscard]] std::optional<std::filesystem::path> find_data_dir(const std::vector<DataDirCandidate>& candidates);
[[nodiscard]] std::optional<std::filesystem::path> find_data_dir();
// The places searched, for an error message: "FLOWAUDIT_DATA_DIR=/x" or "/usr/share/flowaudit, /src/data".
[[nodiscard]] std::string data_dir_searched();

}  // namespace flowaudit::analysis::enrich
