// `flowaudit rules fields|check|list|explain`: the policy language and the loaded policy.
#include "cli/options.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <memory>

#include "rules/lang/fields.h"
#include "rules/load/loader.h"

namespace flowaudit::cli {

namespace {

// `flowaudit rules fields`: what a policy condition can test, with types and scopes.
int run_rules_fields() {
  fmt::print("{:<24} {:<9} {:<12} {}\n", "field", "type", "scope", "description");
  for (const auto& f : rules::lang::all_fields()) {
    fmt::print("{:<24} {:<9} {:<12} {}\n", f.name, rules::lang::field_type_name(f.type),
               rules::lang::scope_name(f.scope), f.description);
  }
  return kExitOk;
}

// `flowaudit rules check FILE...`: loads the files as an audit would; exit 2 on any error.
int run_rules_check(const std::vector<std::string>& files) {
  rules::load::LoadOptions options;
  options.builtin_dir = rules::load::find_builtin_policies();
  const auto loaded = rules::load::load_policy(files, options);
  for (const auto& w : loaded.warnings) fmt::print(stderr, "flowaudit: warning: {}\n", w);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) fmt::print(stderr, "{}\n", e);
    fmt::print(stderr, "flowaudit: {} error{}\n", loaded.errors.size(), loaded.errors.size() == 1 ? "" : "s");
    return kExitUsage;
  }
  const auto& p = loaded.policy;
  std::size_t enabled = 0;
  for (const auto& r : p.rules) enabled += r.enabled ? 1 : 0;
  fmt::print("ok: {} file{}, {} rules ({} enabled), {} waivers, {} allowlists\n", p.files.size(),
             p.files.size() == 1 ? "" : "s", p.rules.size(), enabled, p.waivers.size(), p.allowlists.size());
  return kExitOk;
}

// Loads the policy for `rules list` and `rules explain`; nullopt (and a message) on errors.
std::optional<rules::Policy> policy_for_listing(const std::vector<std::string>& specs) {
  std::vector<std::string> warnings;
  bool failed = false;
  // None given: the built-in default, or an error.
  auto policy = session::load_policies(specs, warnings, failed, messages());
  if (!policy && !failed) error_line("--policy none: no policy to list");
  return policy;
}

int run_rules_list(const std::vector<std::string>& specs) {
  const auto policy = policy_for_listing(specs);
  if (!policy) return kExitUsage;
  fmt::print("{:<44} {:<9} {:<12} {}\n", "rule", "severity", "scope", "title");
  for (const auto& r : policy->rules) {
    fmt::print("{:<44} {:<9} {:<12} {}{}\n", r.id, rules::severity_name(r.severity), rules::lang::scope_name(r.scope),
               r.title, r.enabled ? "" : " (disabled)");
  }
  for (const auto& a : policy->allowlists) {
    fmt::print("{:<44} {:<9} {:<12} {}\n", "allowlist." + a.app, rules::severity_name(a.severity), "destination",
               "destinations outside the expected set (with --app " + a.app + ")");
  }
  return kExitOk;
}

int run_rules_explain(const std::string& id, const std::vector<std::string>& specs) {
  const auto policy = policy_for_listing(specs);
  if (!policy) return kExitUsage;
  const rules::Rule* r = policy->find_rule(id);
  if (r == nullptr) {
    error_line(fmt::format("no rule '{}' in the policy (flowaudit rules list shows them)", id));
    return kExitUsage;
  }
  fmt::print("{}: {}\n", r->id, r->title);
  fmt::print("  severity   {}\n  scope      {}\n  pack       {}\n  defined    {}:{}\n  enabled    {}\n",
             rules::severity_name(r->severity), rules::lang::scope_name(r->scope), r->pack, r->origin.file,
             r->origin.line, r->enabled ? "yes" : "no");
  fmt::print("  condition  {}\n", r->condition);
  if (!r->message.empty()) fmt::print("  message    {}\n", r->message);
  if (!r->tags.empty()) fmt::print("  tags       {}\n", fmt::join(r->tags, ", "));
  if (!r->description.empty()) fmt::print("\n{}\n", r->description);
  if (!r->remediation.empty()) fmt::print("\nRemediation: {}\n", r->remediation);
  if (!r->references.empty()) {
    fmt::print("\nReferences\n");
    for (const auto& ref : r->references) {
      fmt::print("  - {}{}\n", ref.title.empty() ? "" : ref.title + ": ", ref.url);
    }
  }
  for (const auto& w : policy->waivers) {
    if (w.rule == r->id || rules::lang::glob_match(w.rule, r->id)) {
      fmt::print("\nWaiver ({}:{}): {} until {}{}{}\n", w.origin.file, w.origin.line, w.reason,
                 rules::format_date(w.expires), w.expired ? " (EXPIRED, not applied)" : "",
                 w.condition.empty() ? "" : "; when " + w.condition);
    }
  }
  return kExitOk;
}

}  // namespace

Commands add_rules_command(CLI::App& app) {
  struct Args {
    std::vector<std::string> check_files;
    std::vector<std::string> list_policies;
    std::string explain_id;
    std::vector<std::string> explain_policies;
  };
  auto args = std::make_shared<Args>();
  auto& check_files = args->check_files;
  auto& list_policies = args->list_policies;
  auto& explain_id = args->explain_id;
  auto& explain_policies = args->explain_policies;
  auto* rules_cmd = app.add_subcommand("rules", "Policy rules: list, check, explain, fields");
  rules_cmd->require_subcommand(1);
  auto* rules_fields = rules_cmd->add_subcommand("fields", "List the fields a condition can test, with their types");
  auto* rules_check = rules_cmd->add_subcommand("check", "Load policy files as an audit would; exit 2 on errors");
  rules_check->add_option("FILE", check_files, "Policy YAML files or built-in pack names, in load order")->required();
  auto* rules_list = rules_cmd->add_subcommand("list", "List the rules of the policy");
  rules_list->add_option("--policy", list_policies, "Built-in pack or file, repeatable (default: default)");
  auto* rules_explain = rules_cmd->add_subcommand("explain", "Show one rule whole: condition, why, references");
  rules_explain->add_option("RULE", explain_id, "Rule id")->required();
  rules_explain->add_option("--policy", explain_policies, "Built-in pack or file, repeatable (default: default)");
  return {{rules_fields, [] { return run_rules_fields(); }},
          {rules_check, [args] { return run_rules_check(args->check_files); }},
          {rules_list, [args] { return run_rules_list(args->list_policies); }},
          {rules_explain, [args] { return run_rules_explain(args->explain_id, args->explain_policies); }}};
}

}  // namespace flowaudit::cli
