// Records repeat: thousands of flows to one destination with the same TLS fingerprint, the same DNS
// name asked again and again. A ScopeMemo evaluates the rules of a scope once per distinct
// combination of the values they read and reuses the answers (rules/eval/evaluator.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "rules/lang/compiler.h"

namespace flowaudit::rules::eval {

// Appends a field's value to a memo key: a type tag, then the bytes (strings with their length).
inline void append_value(std::string& key, const std::optional<lang::Value>& v) {
  if (!v) {
    key.push_back('\0');
    return;
  }
  if (const auto* s = std::get_if<std::string_view>(&*v)) {
    const auto n = static_cast<std::uint32_t>(s->size());
    key.push_back('s');
    key.append(reinterpret_cast<const char*>(&n), sizeof n);
    key.append(*s);
  } else if (const auto* i = std::get_if<std::int64_t>(&*v)) {
    key.push_back('i');
    key.append(reinterpret_cast<const char*>(i), sizeof *i);
  } else if (const auto* b = std::get_if<bool>(&*v)) {
    key.push_back(*b ? 't' : 'f');
  } else {
    const auto& ip = std::get<core::IpAddress>(*v);
    key.push_back(ip.is_v4() ? '4' : '6');
    key.append(reinterpret_cast<const char*>(ip.bytes().data()), ip.bytes().size());
  }
}

// The rules of a scope are evaluated once per distinct combination of
// the values they read (capture fields are the same for every record and left out), and the
// answers are reused. The table is bounded; past its size records are evaluated directly.
class ScopeMemo {
 public:
  static constexpr std::size_t kMaxEntries = 1 << 16;

  ScopeMemo(std::vector<std::size_t> rules, lang::FieldSet used) : rules_(std::move(rules)), used_(used) {}

  // The rules (state indexes) whose condition is true on `record`, into `matched`. `predicate_of`
  // maps a state index to its predicate.
  template <typename PredicateOf>
  void match(const lang::Record& record, lang::FieldSet present, PredicateOf&& predicate_of,
             std::vector<std::size_t>& matched) {
    matched.clear();
    key_.clear();
    used_.for_each([&](lang::FieldId field) { append_value(key_, record.get(field)); });
    if (auto it = index_.find(key_); it != index_.end()) {
      const std::uint8_t* row = results_.data() + it->second * rules_.size();
      for (std::size_t j = 0; j < rules_.size(); ++j) {
        if (row[j] != 0) matched.push_back(rules_[j]);
      }
      return;
    }
    const bool keep = index_.size() < kMaxEntries;
    const std::size_t row = results_.size();
    if (keep) results_.resize(row + rules_.size(), 0);
    for (std::size_t j = 0; j < rules_.size(); ++j) {
      const lang::Predicate& p = predicate_of(rules_[j]);
      if (!p.may_match(present) || !p.evaluate(record)) continue;
      matched.push_back(rules_[j]);
      if (keep) results_[row + j] = 1;
    }
    if (keep) index_.emplace(key_, rules_.empty() ? 0 : row / rules_.size());
  }

 private:
  std::vector<std::size_t> rules_;
  lang::FieldSet used_;
  std::string key_;
  std::unordered_map<std::string, std::size_t> index_;
  std::vector<std::uint8_t> results_;  // one row of rules_.size() answers per distinct key
};

}  // namespace flowaudit::rules::eval
