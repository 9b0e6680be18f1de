// The policy loader: YAML files -> lists, macros, rules, waivers, allowlists -> compiled Policy.
// Stages as in Falco's rule loader, with positions kept throughout: read every file (includes
// first), collect definitions in load order (later files replace or override earlier ones by id),
// then compile every condition and message against the field registry. Every mistake is an error
// "FILE:LINE:COL: message (in rule ID > macro NAME)" followed by the file's line and a caret.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/load/policy.h"

namespace flowaudit::rules::load {

inline constexpr std::size_t kMaxPolicyFileBytes = 4u << 20;
inline constexpr std::size_t kMaxIncludeDepth = 16;
inline constexpr std::size_t kMaxPolicyFiles = 256;
inline constexpr std::size_t kMaxDefinitions = 10000;  // rules, lists, macros, waivers, allowlists, each
inline constexpr std::size_t kMaxListItems = 10000;    // per list
inline constexpr std::size_t kMaxErrors = 50;

struct LoadOptions {
  // Where built-in packs live (data/policies); nullopt: names of built-in packs are errors.
  std::optional<std::filesystem::path> builtin_dir;
  Date today = today_utc();  // waivers that expired before this day are not applied
  bool allow_includes = true;
};

struct LoadResult {
  Policy policy;
  std::vector<std::string> errors;    // each: one line, then the file's line and a caret
  std::vector<std::string> warnings;  // one line each (expired waivers, ...)
  [[nodiscard]] bool ok() const noexcept { return errors.empty(); }
};

// `specs`: built-in pack names (no '/', no .yaml suffix) or file paths, loaded in order.
[[nodiscard]] LoadResult load_policy(const std::vector<std::string>& specs, const LoadOptions& options);

// One policy given as text (tests, fuzzing); `name` stands for the file name in messages.
[[nodiscard]] LoadResult load_policy_text(std::string_view text, std::string_view name, const LoadOptions& options);

// The built-in policies directory: <data dir>/policies.
[[nodiscard]] std::optional<std::filesystem::path> find_builtin_policies();
// Names of the built-in packs, sorted.
[[nodiscard]] std::vector<std::string> builtin_pack_names(const std::filesystem::path& dir);

}  // namespace flowaudit::rules::load
