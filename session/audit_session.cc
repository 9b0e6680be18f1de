#include "session/audit_session.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "analysis/enrich/data_dir.h"
#include "rules/load/loader.h"

namespace flowaudit::session {

std::optional<rules::Severity> fail_on_severity(const std::string& text) {
  if (text == "never") return std::nullopt;
  return rules::parse_severity(text);
}

bool open_enricher(analysis::enrich::Enricher& enricher, const std::vector<std::string>& geoip_dbs,
                   const std::vector<std::string>& catalogs, std::vector<std::string>& warnings, Messages& messages) {
  std::vector<std::string> errors;
  if (enricher.open(geoip_dbs, catalogs, errors, warnings)) return true;
  for (const auto& e : errors) messages.error(e);
  return false;
}

std::optional<rules::Policy> load_policies(std::vector<std::string> specs, std::vector<std::string>& warnings,
                                           bool& failed, Messages& messages) {
  failed = false;
  rules::load::LoadOptions options;
  options.builtin_dir = rules::load::find_builtin_policies();
  if (specs.size() == 1 && specs.front() == "none") return std::nullopt;
  if (std::find(specs.begin(), specs.end(), "none") != specs.end()) {
    messages.error("--policy none evaluates no policy and cannot be combined with other policies");
    failed = true;
    return std::nullopt;
  }
  if (specs.empty()) {
    // Auditing with no policy would pass everything: fail closed, unless the user said so.
    if (!options.builtin_dir) {
      messages.error(fmt::format("no built-in policies found (looked in {}); set FLOWAUDIT_DATA_DIR, or give --policy "
                                 "FILE, or --policy none to evaluate no policy",
                                 analysis::enrich::data_dir_searched()));
      failed = true;
      return std::nullopt;
    }
    specs.push_back("default");
  }
  auto loaded = rules::load::load_policy(specs, options);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) messages.line(e);
    messages.error(
        fmt::format("the policy has {} error{}", loaded.errors.size(), loaded.errors.size() == 1 ? "" : "s"));
    failed = true;
    return std::nullopt;
  }
  warnings.insert(warnings.end(), loaded.warnings.begin(), loaded.warnings.end());
  return std::move(loaded.policy);
}

namespace {

void key_log_warnings(const analysis::decrypt::KeyLogLoad& load, std::string_view origin,
                      std::vector<std::string>& warnings) {
  if (load.malformed > 0) {
    std::string first;
    for (const auto& p : load.problems) first += (first.empty() ? "" : "; ") + p;
    warnings.push_back(fmt::format("{}: {} malformed key log line{} skipped ({})", origin, load.malformed,
                                   load.malformed == 1 ? "" : "s", first));
  }
  if (load.limit_reached) {
    warnings.push_back(fmt::format("{}: key log limit reached ({} MiB, {} sessions): later secrets were not read",
                                   origin, analysis::decrypt::KeyLog::kMaxBytes >> 20,
                                   analysis::decrypt::KeyLog::kMaxSessions));
  }
}

}  // namespace

void AuditSession::add_secrets(std::span<const std::uint8_t> text, const std::string& origin) {
  if (!keys_) keys_ = std::make_shared<analysis::decrypt::KeyLog>();
  // A char view of the same bytes (character types may alias).
  const auto load = keys_->add_text(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()));
  key_log_warnings(load, origin, warnings_);
}

bool AuditSession::auditor_options(analysis::AuditOptions& options) {
  const auto& s = settings_;
  for (const auto& c : s.clients) {
    const auto cidr = core::Cidr::parse(c);
    if (!cidr) {
      messages_->error(fmt::format("--client: '{}' is not an address or CIDR prefix", c));
      return false;
    }
    options.flows.clients.push_back(*cidr);
  }
  options.flows.max_flows = s.max_flows;
  options.max_flow_records = s.max_flow_records;
  options.max_destinations = s.max_destinations;
  options.app.max_dns_records = s.max_dns_records;
  options.flows.tcp_idle_ns = static_cast<core::TimestampNs>(s.tcp_timeout * 1e9);
  options.flows.udp_idle_ns = static_cast<core::TimestampNs>(s.udp_timeout * 1e9);
  options.reassembly.memory_limit = s.fragment_memory;
  if (!s.keylogs.empty() && !keys_) {
    keys_ = std::make_shared<analysis::decrypt::KeyLog>();
    for (const auto& path : s.keylogs) {
      analysis::decrypt::KeyLogLoad load;
      bool world_readable = false;
      std::string error;
      if (!analysis::decrypt::load_key_log_file(path, *keys_, load, world_readable, error)) {
        messages_->error(fmt::format("--keylog {}", error));
        return false;
      }
      key_log_warnings(load, path, warnings_);
      if (world_readable) {
        warnings_.push_back(fmt::format("{}: the key log can be read by other users: it opens every session it "
                                        "records (chmod 600)", path));
      }
      if (load.keys == 0) warnings_.push_back(fmt::format("{}: no TLS secrets in the key log", path));
    }
  }
  // Pcapng inputs may carry secrets blocks: a key log exists for every replay, filled as they are
  // read; decryption is asked for (every TLS flow without keys is a blind spot) with --keylog.
  if (!keys_) keys_ = std::make_shared<analysis::decrypt::KeyLog>();
  options.app.keys = keys_;
  options.app.decryption_asked = !s.keylogs.empty() || s.keys_expected;
  return make_inspector(options);
}

// The inspection of what left: canaries from the command line, chat endpoints from the data
// directory (and --chat-endpoints). A missing endpoints file is said, not silent: prompt text is then
// not counted.
bool AuditSession::make_inspector(analysis::AuditOptions& options) {
  const Settings& s = settings_;
  if (s.no_inspect) {
    if (!s.canaries.empty() || !s.canary_files.empty()) {
      messages_->error("--no-inspect cannot be combined with --canary or --canary-file: canaries would not be searched");
      return false;
    }
    warnings_.push_back("--no-inspect: requests and names were not searched for personal data, canaries or prompt "
                        "text; the data-leaks rules saw nothing");
    return true;
  }
  auto canaries = std::make_shared<analysis::inspect::CanarySet>();
  for (const auto& v : s.canaries) {
    std::string why;
    if (!canaries->add(v, why)) {
      messages_->error(fmt::format("--canary: {}", why));
      return false;
    }
  }
  for (const auto& file : s.canary_files) {
    std::string error;
    if (!canaries->add_file(file, error)) {
      messages_->error(fmt::format("--canary-file {}", error));
      return false;
    }
  }
  if (canaries->size() > 0) {
    std::string error;
    if (!canaries->compile(error)) {
      messages_->error(fmt::format("--canary: {}", error));
      return false;
    }
  }
  auto endpoints = std::make_shared<analysis::inspect::ChatEndpoints>();
  const auto data_dir = analysis::enrich::find_data_dir();
  const auto builtin = data_dir ? *data_dir / "chat-endpoints.yaml" : std::filesystem::path();
  std::error_code ec;
  if (data_dir && std::filesystem::exists(builtin, ec)) {
    std::string error;
    if (!endpoints->load(builtin, error)) {
      messages_->error(error);
      return false;
    }
  } else {
    warnings_.push_back("chat-endpoints.yaml not found in the data directory: prompt text sent to AI chat "
                        "endpoints is not counted (set FLOWAUDIT_DATA_DIR, or pass --chat-endpoints)");
  }
  for (const auto& file : s.chat_endpoints) {
    std::string error;
    if (!endpoints->load(file, error)) {
      messages_->error(fmt::format("--chat-endpoints {}", error));
      return false;
    }
  }
  analysis::inspect::InspectOptions io;
  io.redact = !s.no_redact;
  io.device_region = s.device_region;
  options.app.inspector = std::make_shared<analysis::inspect::Inspector>(
      std::move(io), canaries->size() > 0 ? std::move(canaries) : nullptr, std::move(endpoints));
  return true;
}

bool AuditSession::prepare() {
  // The catalog and the geolocation databases are opened on a second thread while the policies
  // are parsed: each reads its own files into its own objects, and the two were most of the start
  // of a short audit (yaml-cpp for the policies, the catalog's name table). Their messages are
  // given in the order they always were: the policies', then the enricher's.
  enricher_ = std::make_unique<analysis::enrich::Enricher>();
  std::vector<std::string> enrich_errors;
  std::vector<std::string> enrich_warnings;
  bool enrich_ok = false;
  std::thread opener([&] {
    enrich_ok = enricher_->open(settings_.geoip_dbs, settings_.catalogs, enrich_errors, enrich_warnings);
  });
  bool policy_failed = false;
  auto loaded = load_policies(settings_.policies, warnings_, policy_failed, *messages_);
  opener.join();
  if (policy_failed) return false;
  if (loaded) policy_ = std::make_shared<const rules::Policy>(std::move(*loaded));
  const auto& app = settings_.app;
  if (!app.empty() && (!policy_ || policy_->find_allowlist(app) == nullptr)) {
    std::string apps;
    if (policy_) {
      for (const auto& a : policy_->allowlists) apps += (apps.empty() ? "" : ", ") + a.app;
    }
    messages_->error(fmt::format("--app: the policy has no allowlist for '{}'{}", app,
                                 apps.empty() ? std::string(" (it has none)") : " (it has: " + apps + ")"));
    return false;
  }
  warnings_.insert(warnings_.end(), enrich_warnings.begin(), enrich_warnings.end());
  if (!enrich_ok) {
    for (const auto& e : enrich_errors) messages_->error(e);
    return false;
  }
  return true;
}

bool AuditSession::group_by_flow_bytes() const {
  return policy_ && rules::eval::flow_rules_read_flow_bytes(*policy_);
}

void AuditSession::complete(analysis::Auditor& auditor, std::vector<capture::SourceInfo> inputs,
                            const std::vector<std::string>& warnings, bool only_attributed) {
  complete(auditor.finish(std::move(inputs), only_attributed), warnings);
}

void AuditSession::complete(analysis::AuditResult result_in, const std::vector<std::string>& warnings) {
  result_ = std::move(result_in);
  auto& result = result_;
  // The session's own warnings came first (policy, databases), then the caller's (capture).
  result.warnings.insert(result.warnings.end(), warnings_.begin(), warnings_.end());
  result.warnings.insert(result.warnings.end(), warnings.begin(), warnings.end());
  for (auto& d : result.destinations) d.enrichment = enricher_->enrich(d);
  for (const auto& db : enricher_->geo().databases()) result.geo_databases.push_back(db);
  if (policy_) {
    auto evaluation =
        std::make_shared<const rules::eval::Evaluation>(rules::eval::evaluate(*policy_, result, eval_options()));
    result.warnings.insert(result.warnings.end(), evaluation->warnings.begin(), evaluation->warnings.end());
    evaluation_ = std::move(evaluation);
    outcome_ = report::PolicyOutcome{policy_.get(), evaluation_.get(), settings_.fail_on};
  }
}

rules::eval::EvalOptions AuditSession::eval_options() const {
  rules::eval::EvalOptions options;
  options.app = settings_.app;
  options.fail_on = fail_on_severity(settings_.fail_on);
  options.redact = !settings_.no_redact;
  return options;
}

}  // namespace flowaudit::session
