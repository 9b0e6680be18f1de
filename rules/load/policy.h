// A loaded, compiled policy: what the evaluator runs. Built by the loader (rules/load/loader.h) from
// one or more YAML files; every condition is already type-checked and compiled, so evaluation
// cannot fail.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/ip_address.h"
#include "rules/lang/compiler.h"
#include "rules/lang/fields.h"

namespace flowaudit::rules {

enum class Severity : std::uint8_t { kInfo, kLow, kMedium, kHigh, kCritical };
inline constexpr std::size_t kSeverityCount = 5;

[[nodiscard]] std::string_view severity_name(Severity severity) noexcept;
[[nodiscard]] std::optional<Severity> parse_severity(std::string_view text) noexcept;

struct Reference {
  std::string title;  // may be empty
  std::string url;
};

// Where something was defined: shown by `rules explain` and in findings.
struct Origin {
  std::string file;
  std::uint32_t line = 0;
};

// A message template compiled to pieces: literal text and fields of the record.
struct MessageTemplate {
  std::vector<std::variant<std::string, lang::FieldId>> pieces;
};

struct Rule {
  std::string id;
  std::string title;
  std::string description;
  Severity severity = Severity::kMedium;
  lang::Scope scope = lang::Scope::kDestination;
  std::string condition;  // as written
  std::string message;    // as written
  MessageTemplate message_template;
  std::vector<Reference> references;
  std::vector<std::string> tags;
  std::string remediation;
  bool enabled = true;
  std::string pack;  // the policy name of the file that defined it
  Origin origin;
  std::optional<lang::Predicate> predicate;  // set once compiled
};

// A calendar date as YYYYMMDD, comparable as an integer.
using Date = std::uint32_t;
[[nodiscard]] std::optional<Date> parse_date(std::string_view text) noexcept;
[[nodiscard]] std::string format_date(Date date);
[[nodiscard]] Date today_utc() noexcept;

struct Waiver {
  std::string rule;  // a rule id or a glob over ids
  std::string condition;  // as written; empty: every finding of the rule
  std::string reason;
  Date expires = 0;
  bool expired = false;  // expires < the audit's date: reported, not applied
  Origin origin;
  // One compiled condition per scope of the rules it names (a glob may name rules of several).
  std::vector<std::pair<lang::Scope, lang::Predicate>> predicates;
  [[nodiscard]] const lang::Predicate* predicate_for(lang::Scope scope) const noexcept {
    for (const auto& [s, p] : predicates) {
      if (s == scope) return &p;
    }
    return nullptr;
  }
};

struct Allowlist {
  std::string app;
  std::string description;
  Severity severity = Severity::kMedium;
  std::vector<std::string> hosts;     // globs over hostnames (and every other name seen)
  std::vector<std::string> services;  // catalog ids
  std::vector<core::Cidr> networks;
  Origin origin;
};

struct PolicyFile {
  std::string name;  // policy.name, or the file name without .yaml
  std::string path;
  std::string description;
  std::size_t rules = 0;  // rules this file defined (not overrides)
};

struct Policy {
  std::vector<PolicyFile> files;  // in load order
  std::vector<Rule> rules;        // in definition order; disabled ones included
  std::vector<Waiver> waivers;
  std::vector<Allowlist> allowlists;

  [[nodiscard]] const Rule* find_rule(std::string_view id) const noexcept {
    for (const Rule& r : rules) {
      if (r.id == id) return &r;
    }
    return nullptr;
  }
  [[nodiscard]] const Allowlist* find_allowlist(std::string_view app) const noexcept {
    for (const Allowlist& a : allowlists) {
      if (a.app == app) return &a;
    }
    return nullptr;
  }
};

}  // namespace flowaudit::rules
