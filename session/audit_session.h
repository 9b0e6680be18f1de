// One audit from the command line's point of view, without the command line: the settings, the
// policy and the databases (prepare), the auditor they configure, and the end of the audit
// (complete: names, enrichment, evaluation). Replay (replay_session.h) and live capture
// (live_session.h) feed the auditor in between. Nothing here prints: messages go to a Messages
// sink that the command line implements.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <span>
#include <string_view>
#include <vector>

#include "analysis/audit.h"
#include "analysis/enrich/enrichment.h"
#include "report/input.h"
#include "rules/eval/evaluator.h"
#include "rules/load/policy.h"

namespace flowaudit::session {

// Where the session's messages go. error() is a one-line error or warning for the user (the
// command line prefixes it with "flowaudit: "); line() is a line that already has its own form
// (a policy error with its FILE:LINE position).
class Messages {
 public:
  virtual ~Messages() = default;
  virtual void error(std::string_view message) = 0;
  virtual void line(std::string_view text) = 0;
};

// What an audit is asked to do: the options of `audit`, `capture` and `diff` that are not about
// where the reports go.
struct Settings {
  std::vector<std::string> clients;
  std::string fail_on = "high";
  std::size_t max_flows = 1u << 20;
  std::size_t max_flow_records = 100'000;
  std::size_t max_destinations = 100'000;
  std::size_t max_dns_records = 1u << 18;
  double tcp_timeout = 300;
  double udp_timeout = 120;
  std::size_t fragment_memory = 8u << 20;
  std::vector<std::string> geoip_dbs;
  std::vector<std::string> catalogs;
  std::vector<std::string> policies;
  std::string app;
  bool no_redact = false;
  std::vector<std::string> keylogs;  // --keylog FILE: TLS secrets (NSS key log format)
  // `run` hands the command a key log: every TLS flow is expected to decrypt, and one whose keys
  // never came is a blind spot (encrypted-no-keys), as with --keylog.
  bool keys_expected = false;
  // What left (issue 17): values the tester typed into the app, searched in every request in the
  // encodings apps use; extra chat endpoint files besides the data directory's chat-endpoints.yaml.
  std::vector<std::string> canaries;
  std::vector<std::string> canary_files;
  std::vector<std::string> chat_endpoints;
  std::string device_region;  // ISO alpha-2: national phone numbers are read in it
  // --no-inspect: requests are reconstructed but not searched (the bench's baseline); a warning
  // says the data-leaks rules saw nothing.
  bool no_inspect = false;
  // `audit --threads N` (analysis/parallel_audit.h): workers reading the captures at once; 0 picks
  // one per core for inputs of kThreadsFromBytes or more, else one (a thread costs more than it
  // gives on a small capture). Standard input is always read by one thread.
  std::size_t threads = 0;
  static constexpr std::uint64_t kThreadsFromBytes = 32ULL << 20;
};

// --fail-on: nullopt for "never".
[[nodiscard]] std::optional<rules::Severity> fail_on_severity(const std::string& text);

// Opens the geolocation databases and the service catalog; false after reporting each error.
bool open_enricher(analysis::enrich::Enricher& enricher, const std::vector<std::string>& geoip_dbs,
                   const std::vector<std::string>& catalogs, std::vector<std::string>& warnings, Messages& messages);

// Loads the policies named on the command line (built-in names or files). Errors go to `messages`
// with their positions; warnings are returned. Without specs the built-in `default` pack is used;
// "none" runs no policy (nullopt, failed false).
std::optional<rules::Policy> load_policies(std::vector<std::string> specs, std::vector<std::string>& warnings,
                                           bool& failed, Messages& messages);

class AuditSession {
 public:
  AuditSession(Settings settings, Messages& messages) : settings_(std::move(settings)), messages_(&messages) {}

  // The auditor's options from the settings; false (and a message) for a bad --client.
  // Also reads the --keylog files (an unreadable one is an error; malformed lines and a key log
  // others may read are warnings).
  bool auditor_options(analysis::AuditOptions& options);
  // The inspector of what left (canaries, chat endpoints) into options.app; false after an error.
  bool make_inspector(analysis::AuditOptions& options);
  // Adds a capture's Decryption Secrets Block (NSS key log lines); `origin` names it in warnings.
  void add_secrets(std::span<const std::uint8_t> text, const std::string& origin);
  // Policy, databases and catalog: a bad --policy, --app, --geoip-db or --catalog is a usage
  // error found before any packet is read. False after reporting it.
  bool prepare();
  // Whether flow groups must agree on flow bytes (a flow rule of the policy reads them).
  [[nodiscard]] bool group_by_flow_bytes() const;
  // Ends the audit: names, geolocation, service, policy. `warnings` are the caller's, added to
  // the session's own (policy and databases).
  void complete(analysis::Auditor& auditor, std::vector<capture::SourceInfo> inputs,
                const std::vector<std::string>& warnings = {}, bool only_attributed = false);
  // The same for an audit already ended (the merge of --threads).
  void complete(analysis::AuditResult result, const std::vector<std::string>& warnings = {});

  [[nodiscard]] const Settings& settings() const noexcept { return settings_; }
  [[nodiscard]] Messages& messages() const noexcept { return *messages_; }
  // After prepare(): the policy, null with --policy none.
  [[nodiscard]] const rules::Policy* policy() const noexcept { return policy_.get(); }
  // How the policy is evaluated (--app, --fail-on, --no-redact), for the whole audit and for live
  // findings alike.
  [[nodiscard]] rules::eval::EvalOptions eval_options() const;
  // After prepare().
  [[nodiscard]] analysis::enrich::Enricher& enricher() noexcept { return *enricher_; }
  [[nodiscard]] analysis::AuditResult& result() noexcept { return result_; }
  [[nodiscard]] const analysis::AuditResult& result() const noexcept { return result_; }
  [[nodiscard]] const rules::eval::Evaluation& evaluation() const noexcept { return *evaluation_; }
  // The policy's outcome for the report writers, null when no policy ran.
  [[nodiscard]] const report::PolicyOutcome* outcome() const noexcept { return outcome_ ? &*outcome_ : nullptr; }
  [[nodiscard]] report::ReportInput report_input() const noexcept { return {result_, outcome()}; }

 private:
  Settings settings_;
  Messages* messages_;
  std::vector<std::string> warnings_;  // from loading the policy and opening the databases
  std::shared_ptr<analysis::decrypt::KeyLog> keys_;  // --keylog files and the captures' secrets blocks
  std::unique_ptr<analysis::enrich::Enricher> enricher_;
  // On the heap, shared: findings point at the policy's rules and the outcome (a view for the
  // writers) at both, so neither may move when the session does.
  std::shared_ptr<const rules::Policy> policy_;
  analysis::AuditResult result_;
  std::shared_ptr<const rules::eval::Evaluation> evaluation_ = std::make_shared<const rules::eval::Evaluation>();
  std::optional<report::PolicyOutcome> outcome_;
};

}  // namespace flowaudit::session
