#include "rules/eval/evaluator.h"

#include <algorithm>
#include <unordered_map>

#include "analysis/enrich/special_ranges.h"
#include "rules/eval/records.h"
#include "rules/lang/compiler.h"
#include "core/redact.h"

namespace flowaudit::rules::eval {
namespace {

using lang::Scope;

constexpr std::size_t kScopes = 4;

struct DestKey {
  core::IpAddress ip;
  std::uint16_t port = 0;
  std::uint8_t protocol = 0;
  friend bool operator==(const DestKey&, const DestKey&) = default;
};
struct DestKeyHash {
  std::size_t operator()(const DestKey& k) const noexcept {
    return static_cast<std::size_t>(k.ip.hash() ^ (std::uint64_t{k.port} << 8 | k.protocol) * 0x9E3779B97F4A7C15ULL);
  }
};

// What findings are deduplicated by: the rule (its state index), waived or not, and the target (a
// destination index, the index of the first DNS record of a name, or 0 for the capture).
struct FindingKey {
  std::size_t state = 0;
  bool waived = false;
  std::size_t target = 0;
  friend bool operator==(const FindingKey&, const FindingKey&) = default;
};
struct FindingKeyHash {
  std::size_t operator()(const FindingKey& k) const noexcept {
    return (k.state * 0x9E3779B97F4A7C15ULL) ^ (k.target * 0xC2B2AE3D27D4EB4FULL) ^ (k.waived ? 1 : 0);
  }
};

// Appends a field's value to a memo key: a type tag, then the bytes (strings with their length).
void append_value(std::string& key, const std::optional<lang::Value>& v) {
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

// Records repeat: thousands of flows to one destination with the same TLS fingerprint, the same DNS
// name asked again and again. The rules of a scope are evaluated once per distinct combination of
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
    for (lang::FieldSet m = used_; m != 0; m &= m - 1) {
      append_value(key_, record.get(static_cast<lang::FieldId>(__builtin_ctzll(m))));
    }
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

std::string value_text(const lang::Value& v) {
  if (const auto* s = std::get_if<std::string_view>(&v)) {
    std::string out;
    for (const char c : *s) {
      if (c == core::kListSeparator) out += ", ";
      else out += c;
    }
    return out;
  }
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  return std::get<core::IpAddress>(v).to_string();
}

class Run {
 public:
  Run(const Policy& policy, const analysis::AuditResult& r, const EvalOptions& options, Evaluation& out)
      : policy_(policy), r_(r), options_(options), out_(out), capture_(r), dest_(r, capture_), flow_(r, dest_),
        dns_(r, capture_) {}

  void go() {
    index_rules();
    map_flows();
    destinations();
    flows();
    dns_queries();
    capture();
    allowlist();
    finish();
  }

 private:
  struct RuleState {
    const Rule* rule = nullptr;
    std::vector<const Waiver*> waivers;
    std::size_t findings = 0;
  };

  void index_rules() {
    states_.reserve(policy_.rules.size() + 1);
    for (const Rule& rule : policy_.rules) {
      if (!rule.enabled || !rule.predicate) continue;
      RuleState s;
      s.rule = &rule;
      for (const Waiver& w : policy_.waivers) {
        if (w.expired) continue;
        const bool glob = w.rule.find_first_of("*?") != std::string::npos;
        if (glob ? lang::glob_match(w.rule, rule.id) : w.rule == rule.id) s.waivers.push_back(&w);
      }
      states_.push_back(std::move(s));
      by_scope_[static_cast<std::size_t>(rule.scope)].push_back(states_.size() - 1);
    }
    out_.rules_evaluated = states_.size();
  }

  void map_flows() {
    std::unordered_map<DestKey, std::size_t, DestKeyHash> index;
    index.reserve(r_.destinations.size());
    for (std::size_t i = 0; i < r_.destinations.size(); ++i) {
      const auto& d = r_.destinations[i];
      index.emplace(DestKey{d.ip, d.port, d.protocol}, i);
    }
    flow_dest_.assign(r_.flows.size(), kNoDest);
    folded_.assign(r_.flows.size(), nullptr);
    dest_flows_.assign(r_.destinations.size(), {});
    for (std::size_t i = 0; i < r_.flows.size(); ++i) {
      const auto& f = r_.flows[i];
      auto it = index.find(DestKey{f.key.addr[f.server()], f.key.port[f.server()], f.key.protocol});
      if (it == index.end()) continue;
      flow_dest_[i] = it->second;
      auto& ids = dest_flows_[it->second];
      add_id(ids, f.id);
      if (const auto fit = r_.folded.find(f.id); fit != r_.folded.end()) {
        folded_[i] = &fit->second;
        for (const std::uint64_t id : fit->second.ids) add_id(ids, id);
      }
    }
    dns_dest_ = std::move(index);
    dest_present_.resize(r_.destinations.size());
    for (std::size_t i = 0; i < r_.destinations.size(); ++i) {
      dest_.bind(i);
      dest_present_[i] = dest_.presence();
    }
  }

  // Evidence lists the lowest flow ids: records arrive in id order, but the flows folded into a
  // record (dropped records, see analysis::FoldedFlows) do not.
  static void add_id(std::vector<std::uint64_t>& ids, std::uint64_t id) {
    if (ids.size() >= kMaxEvidenceFlows && id >= ids.back()) return;
    const auto at = std::lower_bound(ids.begin(), ids.end(), id);
    if (at != ids.end() && *at == id) return;
    ids.insert(at, id);
    if (ids.size() > kMaxEvidenceFlows) ids.pop_back();
  }

  // The waiver that covers a record for a rule, if any.
  const Waiver* waiver_for(const RuleState& s, const lang::Record& record) const noexcept {
    for (const Waiver* w : s.waivers) {
      const lang::Predicate* p = w->predicate_for(s.rule->scope);
      if (w->condition.empty() || (p != nullptr && p->evaluate(record))) return w;
    }
    return nullptr;
  }

  // The finding of (rule, key) to add evidence to; null when the rule has too many already.
  Finding* finding(std::size_t state, std::size_t target, const Waiver* waiver, const lang::Record& record,
                   std::optional<std::size_t> destination) {
    const FindingKey full{state, waiver != nullptr, target};
    if (auto it = keys_.find(full); it != keys_.end()) {
      return it->second == kNoFinding ? nullptr : &out_.findings[it->second];
    }
    RuleState& s = states_[state];
    const Rule& rule = *s.rule;
    if (waiver == nullptr) ++out_.counts[static_cast<std::size_t>(rule.severity)];
    else ++out_.waived;
    if (s.findings >= kMaxFindingsPerRule) {
      ++out_.dropped;
      keys_.emplace(full, kNoFinding);  // counted once, like a listed finding
      return nullptr;
    }
    ++s.findings;
    Finding f;
    f.rule = &rule;
    f.message = render_message(rule.message_template, record, options_.redact);
    f.destination = destination;
    f.waiver = waiver;
    if (destination) f.evidence.hostname_source = r_.destinations[*destination].hostname_source;
    out_.findings.push_back(std::move(f));
    keys_.emplace(full, out_.findings.size() - 1);
    return &out_.findings.back();
  }

  static void add_time(Evidence& e, core::TimestampNs first, core::TimestampNs last) {
    if (e.first_seen == 0 || (first != 0 && first < e.first_seen)) e.first_seen = first;
    e.last_seen = std::max(e.last_seen, last);
  }

  // A destination finding's evidence: the whole destination.
  void destination_evidence(Evidence& e, std::size_t i) const {
    const auto& d = r_.destinations[i];
    e.flows = d.flows;
    e.flow_ids = dest_flows_[i];
    e.bytes_out = d.bytes_out;
    e.bytes_in = d.bytes_in;
    add_time(e, d.first_ns, d.last_ns);
  }

  void destinations() {
    const auto& rules = by_scope_[static_cast<std::size_t>(Scope::kDestination)];
    if (rules.empty()) return;
    for (std::size_t i = 0; i < r_.destinations.size(); ++i) {
      dest_.bind(i);
      const lang::FieldSet present = dest_present_[i];
      for (const std::size_t state : rules) {
        const lang::Predicate& p = *states_[state].rule->predicate;
        if (!p.may_match(present) || !p.evaluate(dest_)) continue;
        Finding* f = finding(state, i, waiver_for(states_[state], dest_), dest_, i);
        if (f == nullptr) continue;
        destination_evidence(f->evidence, i);
      }
    }
  }

  ScopeMemo memo_for(Scope scope) const {
    const auto& rules = by_scope_[static_cast<std::size_t>(scope)];
    lang::FieldSet used = 0;
    for (const std::size_t state : rules) used |= states_[state].rule->predicate->fields();
    lang::FieldSet capture = 0;
    for (const auto& info : lang::all_fields()) {
      if (info.scope == Scope::kCapture) capture |= lang::field_bit(info.id);
    }
    return ScopeMemo(rules, used & ~capture);
  }

  const lang::Predicate& predicate_of(std::size_t state) const noexcept { return *states_[state].rule->predicate; }

  void flows() {
    const auto& rules = by_scope_[static_cast<std::size_t>(Scope::kFlow)];
    if (rules.empty()) return;
    ScopeMemo memo = memo_for(Scope::kFlow);
    std::vector<std::size_t> matched;
    for (std::size_t i = 0; i < r_.flows.size(); ++i) {
      const std::size_t d = flow_dest_[i];
      if (d == kNoDest) continue;
      dest_.bind(d);
      flow_.bind(i);
      memo.match(flow_, flow_.presence(dest_present_[d]), [&](std::size_t s) -> const lang::Predicate& {
        return predicate_of(s);
      }, matched);
      for (const std::size_t state : matched) {
        Finding* f = finding(state, d, waiver_for(states_[state], flow_), flow_, d);
        if (f == nullptr) continue;
        const auto& fl = r_.flows[i];
        ++f->evidence.flows;
        add_id(f->evidence.flow_ids, fl.id);
        f->evidence.bytes_out += fl.out().bytes;
        f->evidence.bytes_in += fl.in().bytes;
        add_time(f->evidence, fl.first_seen(), fl.last_seen);
        if (const analysis::FoldedFlows* more = folded_[i]) {
          f->evidence.flows += more->flows;
          for (const std::uint64_t id : more->ids) add_id(f->evidence.flow_ids, id);
          f->evidence.bytes_out += more->bytes_out;
          f->evidence.bytes_in += more->bytes_in;
          add_time(f->evidence, more->first_ns, more->last_ns);
        }
      }
    }
  }

  void dns_queries() {
    const auto& rules = by_scope_[static_cast<std::size_t>(Scope::kDns)];
    if (rules.empty()) return;
    ScopeMemo memo = memo_for(Scope::kDns);
    std::vector<std::size_t> matched;
    // DNS findings are per name: the first record of each name stands for it.
    std::unordered_map<std::string_view, std::size_t> first_of_name;
    first_of_name.reserve(r_.dns.size());
    for (std::size_t i = 0; i < r_.dns.size(); ++i) {
      const auto& q = r_.dns[i];
      const std::size_t name = first_of_name.emplace(q.query, i).first->second;
      dns_.bind(i);
      memo.match(dns_, dns_.presence(), [&](std::size_t s) -> const lang::Predicate& { return predicate_of(s); },
                 matched);
      if (matched.empty()) continue;
      std::optional<std::size_t> server;
      const std::uint8_t proto = q.transport == "tcp" ? 6 : 17;
      if (auto it = dns_dest_.find(DestKey{q.server, 53, proto}); it != dns_dest_.end()) server = it->second;
      for (const std::size_t state : matched) {
        Finding* f = finding(state, name, waiver_for(states_[state], dns_), dns_, server);
        if (f == nullptr) continue;
        ++f->evidence.flows;
        if (f->evidence.flow_ids.size() < kMaxEvidenceFlows &&
            std::find(f->evidence.flow_ids.begin(), f->evidence.flow_ids.end(), q.flow_id) ==
                f->evidence.flow_ids.end()) {
          f->evidence.flow_ids.push_back(q.flow_id);
        }
        if (f->evidence.dns_query.empty()) f->evidence.dns_query = q.query;
        add_time(f->evidence, q.ts_ns, q.ts_ns);
      }
    }
  }

  void capture() {
    for (const std::size_t state : by_scope_[static_cast<std::size_t>(Scope::kCapture)]) {
      if (!states_[state].rule->predicate->evaluate(capture_)) continue;
      Finding* f = finding(state, 0, waiver_for(states_[state], capture_), capture_, std::nullopt);
      if (f == nullptr) continue;
      f->evidence.flows = r_.total_flows();
      f->evidence.bytes_out = r_.coverage.bytes_out;
      for (const auto& d : r_.destinations) {
        if (d.via_type.empty()) f->evidence.bytes_in += d.bytes_in;  // proxied bytes: once, at the proxy
      }
      add_time(f->evidence, r_.first_ns, r_.last_ns);
    }
  }

  static bool allowed(const Allowlist& a, const analysis::flow::Destination& d, const analysis::enrich::Service* service) {
    for (const auto& pattern : a.hosts) {
      if (!d.hostname.empty() && lang::glob_match(pattern, d.hostname)) return true;
      for (const auto& seen : d.names) {
        if (lang::glob_match(pattern, seen.name)) return true;
      }
    }
    if (service != nullptr && std::find(a.services.begin(), a.services.end(), service->id) != a.services.end()) {
      return true;
    }
    return std::any_of(a.networks.begin(), a.networks.end(), [&](const core::Cidr& c) { return c.contains(d.ip); });
  }

  void allowlist() {
    if (options_.app.empty()) return;
    const Allowlist* a = policy_.find_allowlist(options_.app);
    if (a == nullptr) {
      out_.warnings.push_back("the policy has no allowlist for app '" + options_.app + "'");
      return;
    }
    Rule& rule = out_.synthetic_rules.emplace_back();
    rule.id = "allowlist." + a->app;
    rule.title = "Destination outside the expected set for " + a->app;
    rule.description = a->description.empty()
                           ? "The policy lists the destinations the app " + a->app +
                                 " is expected to talk to; this one is not among them."
                           : a->description;
    rule.severity = a->severity;
    rule.scope = Scope::kDestination;
    rule.pack = a->origin.file;
    rule.origin = a->origin;
    rule.remediation = "Find out why the app talks to this destination; if it is expected, add it to the allowlist.";
    states_.push_back(RuleState{&rule, {}, 0});
    const std::size_t state = states_.size() - 1;
    for (const Waiver& w : policy_.waivers) {
      if (!w.expired && (w.rule == rule.id || lang::glob_match(w.rule, rule.id))) states_[state].waivers.push_back(&w);
    }
    ++out_.rules_evaluated;
    for (std::size_t i = 0; i < r_.destinations.size(); ++i) {
      const auto& d = r_.destinations[i];
      const analysis::enrich::DestinationEnrichment* e = i < r_.enrichment.size() ? &r_.enrichment[i] : nullptr;
      if (e != nullptr && e->geo.special != analysis::enrich::SpecialRange::kNone) continue;
      if (e == nullptr && analysis::enrich::classify_special(d.ip) != analysis::enrich::SpecialRange::kNone) continue;
      if (allowed(*a, d, e != nullptr ? e->service : nullptr)) continue;
      dest_.bind(i);
      Finding* f = finding(state, i, waiver_for(states_[state], dest_), dest_, i);
      if (f == nullptr) continue;
      f->message = (d.hostname.empty() ? d.ip.to_string() : d.hostname + " (" + d.ip.to_string() + ")") + " port " +
                   std::to_string(d.port) + " is not an expected destination of " + a->app;
      destination_evidence(f->evidence, i);
    }
  }

  void finish() {
    std::stable_sort(out_.findings.begin(), out_.findings.end(), [](const Finding& a, const Finding& b) {
      if ((a.waiver == nullptr) != (b.waiver == nullptr)) return a.waiver == nullptr;
      if (a.rule->severity != b.rule->severity) return a.rule->severity > b.rule->severity;
      if (a.rule->id != b.rule->id) return a.rule->id < b.rule->id;
      return a.evidence.bytes_out > b.evidence.bytes_out;
    });
    if (options_.fail_on) {
      for (std::size_t s = static_cast<std::size_t>(*options_.fail_on); s < kSeverityCount; ++s) {
        if (out_.counts[s] != 0) out_.failed = true;
      }
    }
    if (out_.dropped != 0) {
      out_.warnings.push_back(std::to_string(out_.dropped) + " findings beyond " +
                              std::to_string(kMaxFindingsPerRule) + " per rule are counted but not listed");
    }
  }

  static constexpr std::size_t kNoDest = static_cast<std::size_t>(-1);
  static constexpr std::size_t kNoFinding = static_cast<std::size_t>(-1);

  const Policy& policy_;
  const analysis::AuditResult& r_;
  const EvalOptions& options_;
  Evaluation& out_;
  CaptureRecord capture_;
  DestinationRecord dest_;
  FlowRecord flow_;
  DnsQueryRecord dns_;
  std::vector<RuleState> states_;
  std::array<std::vector<std::size_t>, kScopes> by_scope_;
  std::vector<std::size_t> flow_dest_;
  std::vector<const analysis::FoldedFlows*> folded_;  // parallel to the flows
  std::vector<lang::FieldSet> dest_present_;
  std::vector<std::vector<std::uint64_t>> dest_flows_;
  std::unordered_map<DestKey, std::size_t, DestKeyHash> dns_dest_;
  std::unordered_map<FindingKey, std::size_t, FindingKeyHash> keys_;
};

}  // namespace

std::string render_message(const MessageTemplate& message, const lang::Record& record, bool redact) {
  std::string out;
  for (const auto& piece : message.pieces) {
    if (const auto* text = std::get_if<std::string>(&piece)) {
      out += *text;
      continue;
    }
    const lang::FieldId field = std::get<lang::FieldId>(piece);
    const auto value = record.get(field);
    if (!value) {
      out += "unknown";
    } else if (field == lang::FieldId::kHttpPath) {
      out += core::redact_target(value_text(*value), redact);
    } else {
      out += value_text(*value);
    }
  }
  return out;
}

bool flow_rules_read_flow_bytes(const Policy& policy) noexcept {
  const lang::FieldSet bytes = lang::field_bit(lang::FieldId::kBytesOut) | lang::field_bit(lang::FieldId::kBytesIn);
  for (const Rule& rule : policy.rules) {
    if (rule.enabled && rule.predicate && rule.scope == Scope::kFlow && (rule.predicate->fields() & bytes) != 0) {
      return true;
    }
  }
  for (const Waiver& w : policy.waivers) {
    const lang::Predicate* p = w.predicate_for(Scope::kFlow);
    if (p != nullptr && (p->fields() & bytes) != 0) return true;
  }
  return false;
}

Evaluation evaluate(const Policy& policy, const analysis::AuditResult& result, const EvalOptions& options) noexcept {
  Evaluation out;
  try {
    Run run(policy, result, options, out);
    run.go();
  } catch (const std::exception& e) {
    // Only allocation can fail here; what was found so far is still reported.
    out.warnings.push_back(std::string("policy evaluation stopped early: ") + e.what());
    out.failed = out.failed || !out.findings.empty();
  }
  return out;
}

}  // namespace flowaudit::rules::eval
