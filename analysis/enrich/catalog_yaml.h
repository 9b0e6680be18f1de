// Internal to the catalog loader (service_catalog.cc, company_registry.cc): error collection and
// scalar checks shared by the services and companies lists. Not part of the public interface.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "analysis/enrich/service_catalog.h"

namespace flowaudit::analysis::enrich::detail {

// nullptr if `name` is a valid lower-case DNS name of at least two labels, else why not.
const char* name_problem(std::string_view name);

inline bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
  });
}

// Collects errors for one file, capped.
class Diagnostics {
 public:
  Diagnostics(const std::string& file, std::vector<CatalogError>& out) : file_(file), out_(out) {}

  void at(const YAML::Mark& mark, std::string message) {
    ++count_;
    if (count_ > kMaxErrorsPerFile) return;
    if (count_ == kMaxErrorsPerFile) {
      out_.push_back({file_, 0, 0, "too many errors; fix the ones above first"});
      return;
    }
    const int line = mark.line >= 0 ? mark.line + 1 : 0;
    const int column = mark.line >= 0 && mark.column >= 0 ? mark.column + 1 : 0;
    out_.push_back({file_, line, column, std::move(message)});
  }
  void at(const YAML::Node& node, std::string message) { at(node.Mark(), std::move(message)); }
  void whole(std::string message) { at(YAML::Mark::null_mark(), std::move(message)); }

  [[nodiscard]] std::size_t count() const { return count_; }
  [[nodiscard]] const std::string& file() const { return file_; }

 private:
  const std::string& file_;
  std::vector<CatalogError>& out_;
  std::size_t count_ = 0;
};

inline std::string shown(std::string_view s) {
  std::string out = "'";
  // Error lines must stay one line: control characters are shown as '?'.
  for (const char c : s.substr(0, 80)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) ? '?' : c;
  if (s.size() > 80) out += "...";
  out += "'";
  return out;
}

// An entry's key, or null (said in `diag`) when it is not a plain word or was given before.
inline const std::string* entry_key(const YAML::Node& k, std::unordered_set<std::string>& seen, Diagnostics& diag) {
  if (!k.IsScalar()) {
    diag.at(k, "keys must be plain words");
    return nullptr;
  }
  const std::string& key = k.Scalar();
  if (!seen.insert(key).second) {
    diag.at(k, "duplicate key " + shown(key));
    return nullptr;
  }
  return &key;
}

inline std::optional<std::string> read_scalar(const YAML::Node& value, std::string_view key, std::size_t max,
                                       Diagnostics& diag) {
  if (!value.IsScalar()) {
    diag.at(value, std::string(key) + " must be a string");
    return std::nullopt;
  }
  const std::string& s = value.Scalar();
  if (s.empty()) {
    diag.at(value, std::string(key) + " is empty");
    return std::nullopt;
  }
  if (s.size() > max) {
    diag.at(value, std::string(key) + " is longer than " + std::to_string(max) + " characters");
    return std::nullopt;
  }
  if (std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    diag.at(value, std::string(key) + " has a control character");
    return std::nullopt;
  }
  return s;
}

inline bool is_country_code(std::string_view s) {
  return s.size() == 2 && std::all_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// A country-valued key (jurisdiction, incorporated, parent_jurisdiction): the code, or nothing (said
// in `diag`).
inline std::optional<std::string> read_country(const YAML::Node& value, const std::string& key, std::size_t max,
                                               Diagnostics& diag) {
  auto x = read_scalar(value, key, max, diag);
  if (x && !is_country_code(*x)) {
    diag.at(value, key + " " + shown(*x) + " must be an ISO 3166 country code of two upper-case letters, e.g. US");
    return std::nullopt;
  }
  return x;
}

}  // namespace flowaudit::analysis::enrich::detail
