#include "rules/eval/evaluator.h"

#include <algorithm>
#include <unordered_map>

#include "analysis/enrich/special_ranges.h"
#include "rules/eval/records.h"
#include "rules/eval/scope_memo.h"
#include "rules/lang/compiler.h"
#include "core/redact.h"

namespace flowaudit::rules::eval {
namespace {

using lang::Scope;

constexpr std::size_t kScopes = 5;

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

// Evidence lists the lowest flow ids: records arrive in id order, but the flows folded into a
// record (dropped records, see analysis::FoldedFlows) do not.
void add_lowest_id(std::vector<std::uint64_t>& ids, std::uint64_t id) {
  if (ids.size() >= kMaxEvidenceFlows && id >= ids.back()) return;
  const auto at = std::lower_bound(ids.begin(), ids.end(), id);
  if (at != ids.end() && *at == id) return;
  ids.insert(at, id);
  if (ids.size() > kMaxEvidenceFlows) ids.pop_back();
}

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

}  // namespace

class RecordEvaluator::Impl {
 public:
  Impl(const Policy& policy, const analysis::AuditResult& r, const EvalOptions& options)
      : policy_(policy), options_(options), r_(r), capture_(r), dest_(capture_), flow_(dest_), dns_(capture_), request_(flow_) {
    index_rules();
  }

  // Runs one step; an exception (only allocation can fail) stops the evaluation, and what was
  // found so far is still reported.
  template <typename Step>
  void guarded(Step&& step) noexcept {
    if (stopped_) return;
    try {
      step();
    } catch (const std::exception& e) {
      stopped_ = true;
      out_.warnings.push_back(std::string("policy evaluation stopped early: ") + e.what());
    }
  }

  void destination(const analysis::DestinationRow& d, std::size_t i, const std::vector<std::uint64_t>& flow_ids) {
    const auto& rules = by_scope_[static_cast<std::size_t>(Scope::kDestination)];
    if (rules.empty()) return;
    dest_.bind(d);
    const lang::FieldSet present = dest_presence(d, i);
    for (const std::size_t state : rules) {
      const lang::Predicate& p = *states_[state].rule->predicate;
      if (!p.may_match(present) || !p.evaluate(dest_)) continue;
      Finding* f = finding(state, i, waiver_for(states_[state], dest_), dest_, i, &d);
      if (f == nullptr) continue;
      destination_evidence(f->evidence, d, flow_ids);
    }
  }

  void flow(const analysis::FlowRow& fl, std::size_t index, const analysis::DestinationRow& d, std::size_t di,
            const analysis::FoldedFlows* more) {
    const auto& rules = by_scope_[static_cast<std::size_t>(Scope::kFlow)];
    const bool requests = !by_scope_[static_cast<std::size_t>(Scope::kRequest)].empty() && fl.details &&
                          fl.details->requests && !fl.details->requests->list.empty();
    if (rules.empty() && !requests) return;
    const lang::FieldSet present = dest_presence(d, di);
    dest_.bind(d);
    flow_.bind(fl);
    if (requests) request_rules(fl, index, d, di, present);
    if (rules.empty()) return;
    if (!flow_memo_) flow_memo_.emplace(memo_for(Scope::kFlow));
    flow_memo_->match(flow_, flow_.presence(present), [&](std::size_t s) -> const lang::Predicate& {
      return predicate_of(s);
    }, matched_);
    for (const std::size_t state : matched_) {
      Finding* f = finding(state, di, waiver_for(states_[state], flow_), flow_, di, &d);
      if (f == nullptr) continue;
      flow_evidence(*f, fl, index);
      if (more != nullptr) {
        f->evidence.flows += more->flows;
        for (const std::uint64_t id : more->ids) add_lowest_id(f->evidence.flow_ids, id);
        f->evidence.bytes_out += more->bytes_out;
        f->evidence.bytes_in += more->bytes_in;
        add_time(f->evidence, more->first_ns, more->last_ns);
      }
    }
  }

  // Request rules: each reconstructed request of the flow; a finding counts the flow once, however
  // many of its requests matched.
  void request_rules(const analysis::FlowRow& fl, std::size_t index, const analysis::DestinationRow& d,
                     std::size_t di, lang::FieldSet destination_present) {
    if (!request_memo_) request_memo_.emplace(memo_for(Scope::kRequest));
    const lang::FieldSet flow_present = flow_.presence(destination_present);
    const auto& x = *fl.details->requests;
    // By index: a finding added for a later rule may move the findings (a pointer would go stale and
    // the flow be counted twice).
    std::vector<std::size_t> counted;
    for (const auto& e : x.list) {
      request_.bind(e, x.scheme);
      request_memo_->match(request_, request_.presence(flow_present),
                           [&](std::size_t s) -> const lang::Predicate& { return predicate_of(s); }, matched_);
      for (const std::size_t state : matched_) {
        Finding* f = finding(state, di, waiver_for(states_[state], request_), request_, di, &d);
        if (f == nullptr) continue;
        const auto at = static_cast<std::size_t>(f - out_.findings.data());
        if (std::find(counted.begin(), counted.end(), at) != counted.end()) continue;
        counted.push_back(at);
        flow_evidence(*f, fl, index);
      }
    }
  }

  void dns(const analysis::app::DnsRecord& q, std::size_t name, const analysis::DestinationRow* server,
           std::optional<std::size_t> server_index) {
    const auto& rules = by_scope_[static_cast<std::size_t>(Scope::kDns)];
    if (rules.empty()) return;
    if (!dns_memo_) dns_memo_.emplace(memo_for(Scope::kDns));
    dns_.bind(q);
    dns_memo_->match(dns_, dns_.presence(), [&](std::size_t s) -> const lang::Predicate& { return predicate_of(s); },
                     matched_);
    for (const std::size_t state : matched_) {
      Finding* f = finding(state, name, waiver_for(states_[state], dns_), dns_, server_index, server);
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

  void capture() {
    for (const std::size_t state : by_scope_[static_cast<std::size_t>(Scope::kCapture)]) {
      if (!states_[state].rule->predicate->evaluate(capture_)) continue;
      Finding* f = finding(state, 0, waiver_for(states_[state], capture_), capture_, std::nullopt, nullptr);
      if (f == nullptr) continue;
      f->evidence.flows = r_.total_flows();
      f->evidence.bytes_out = r_.coverage.bytes_out;
      for (const auto& d : r_.destinations) {
        if (d.via_type.empty()) f->evidence.bytes_in += d.bytes_in;  // proxied bytes: once, at the proxy
      }
      add_time(f->evidence, r_.first_ns, r_.last_ns);
    }
  }

  static bool allowed(const Allowlist& a, const analysis::flow::Destination& d,
                      const analysis::enrich::Service* service) {
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

  void allowlist(const std::vector<analysis::DestinationRow>& destinations,
                 const std::vector<std::vector<std::uint64_t>>& flow_ids) {
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
    for (std::size_t i = 0; i < destinations.size(); ++i) {
      const auto& d = destinations[i];
      const analysis::enrich::DestinationEnrichment* e = d.enrichment ? &*d.enrichment : nullptr;
      if (e != nullptr && e->geo.special != analysis::enrich::SpecialRange::kNone) continue;
      if (e == nullptr && analysis::enrich::classify_special(d.ip) != analysis::enrich::SpecialRange::kNone) continue;
      if (allowed(*a, d, e != nullptr ? e->service.get() : nullptr)) continue;
      dest_.bind(d);
      Finding* f = finding(state, i, waiver_for(states_[state], dest_), dest_, i, &d);
      if (f == nullptr) continue;
      f->message = (d.hostname.empty() ? d.ip.to_string() : d.hostname + " (" + d.ip.to_string() + ")") + " port " +
                   std::to_string(d.port) + " is not an expected destination of " + a->app;
      destination_evidence(f->evidence, d, i < flow_ids.size() ? flow_ids[i] : kNoIds);
    }
  }

  Evaluation finish() {
    if (stopped_) {
      out_.failed = out_.failed || !out_.findings.empty();
      return std::move(out_);
    }
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
    return std::move(out_);
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
                   std::optional<std::size_t> destination, const analysis::DestinationRow* row) {
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
    if (row != nullptr) f.evidence.hostname_source = row->hostname_source;
    out_.findings.push_back(std::move(f));
    keys_.emplace(full, out_.findings.size() - 1);
    return &out_.findings.back();
  }

  static void add_time(Evidence& e, core::TimestampNs first, core::TimestampNs last) {
    if (e.first_seen == 0 || (first != 0 && first < e.first_seen)) e.first_seen = first;
    e.last_seen = std::max(e.last_seen, last);
  }

  // One flow (record `index`) in a flow or request finding's evidence.
  static void flow_evidence(Finding& f, const analysis::FlowRow& fl, std::size_t index) {
    if (!f.flow) f.flow = index;
    ++f.evidence.flows;
    add_lowest_id(f.evidence.flow_ids, fl.id);
    f.evidence.bytes_out += fl.out().bytes;
    f.evidence.bytes_in += fl.in().bytes;
    add_time(f.evidence, fl.first_seen(), fl.last_seen);
  }

  // A destination finding's evidence: the whole destination.
  static void destination_evidence(Evidence& e, const analysis::DestinationRow& d,
                                   const std::vector<std::uint64_t>& flow_ids) {
    e.flows = d.flows;
    e.flow_ids = flow_ids;
    e.bytes_out = d.bytes_out;
    e.bytes_in = d.bytes_in;
    add_time(e, d.first_ns, d.last_ns);
  }

  ScopeMemo memo_for(Scope scope) const {
    const auto& rules = by_scope_[static_cast<std::size_t>(scope)];
    lang::FieldSet used;
    for (const std::size_t state : rules) used |= states_[state].rule->predicate->fields();
    lang::FieldSet capture;
    for (const auto& info : lang::all_fields()) {
      if (info.scope == Scope::kCapture) capture |= lang::field_bit(info.id);
    }
    return ScopeMemo(rules, used & ~capture);
  }

  const lang::Predicate& predicate_of(std::size_t state) const noexcept { return *states_[state].rule->predicate; }

  // The presence of a destination's fields, computed once per destination index.
  lang::FieldSet dest_presence(const analysis::DestinationRow& d, std::size_t i) {
    if (i >= dest_present_.size()) dest_present_.resize(i + 1);
    if (!dest_present_[i]) {
      dest_.bind(d);
      dest_present_[i] = dest_.presence();
    }
    return *dest_present_[i];
  }

  static constexpr std::size_t kNoFinding = static_cast<std::size_t>(-1);
  static inline const std::vector<std::uint64_t> kNoIds;

  const Policy& policy_;
  const EvalOptions& options_;
  const analysis::AuditResult& r_;  // the capture's totals
  Evaluation out_;
  CaptureRecord capture_;
  DestinationRecord dest_;
  FlowRecord flow_;
  DnsQueryRecord dns_;
  RequestRecord request_;
  bool stopped_ = false;
  std::vector<RuleState> states_;
  std::array<std::vector<std::size_t>, kScopes> by_scope_;
  std::vector<std::optional<lang::FieldSet>> dest_present_;
  std::optional<ScopeMemo> flow_memo_;
  std::optional<ScopeMemo> dns_memo_;
  std::optional<ScopeMemo> request_memo_;
  std::vector<std::size_t> matched_;
  std::unordered_map<FindingKey, std::size_t, FindingKeyHash> keys_;
};

namespace {
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
    } else if (lang::field_info(field).request_target) {
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
    if (rule.enabled && rule.predicate && rule.scope == Scope::kFlow && (rule.predicate->fields() & bytes).any()) {
      return true;
    }
  }
  for (const Waiver& w : policy.waivers) {
    const lang::Predicate* p = w.predicate_for(Scope::kFlow);
    if (p != nullptr && (p->fields() & bytes).any()) return true;
  }
  return false;
}

RecordEvaluator::RecordEvaluator(const Policy& policy, const analysis::AuditResult& capture,
                                 const EvalOptions& options)
    : impl_(std::make_unique<Impl>(policy, capture, options)) {}
RecordEvaluator::~RecordEvaluator() = default;

void RecordEvaluator::destination(const analysis::DestinationRow& d, std::size_t index,
                                  const std::vector<std::uint64_t>& flow_ids) {
  impl_->guarded([&] { impl_->destination(d, index, flow_ids); });
}
void RecordEvaluator::flow(const analysis::FlowRow& f, std::size_t index, const analysis::DestinationRow& d,
                           std::size_t destination, const analysis::FoldedFlows* folded) {
  impl_->guarded([&] { impl_->flow(f, index, d, destination, folded); });
}
void RecordEvaluator::dns(const analysis::app::DnsRecord& q, std::size_t name, const analysis::DestinationRow* server,
                          std::optional<std::size_t> server_index) {
  impl_->guarded([&] { impl_->dns(q, name, server, server_index); });
}
void RecordEvaluator::capture() {
  impl_->guarded([&] { impl_->capture(); });
}
void RecordEvaluator::allowlist(const std::vector<analysis::DestinationRow>& destinations,
                                const std::vector<std::vector<std::uint64_t>>& flow_ids) {
  impl_->guarded([&] { impl_->allowlist(destinations, flow_ids); });
}
Evaluation RecordEvaluator::finish() { return impl_->finish(); }

namespace {

// Evidence lists the lowest flow ids of a destination: its records' and the flows folded into them.
std::vector<std::vector<std::uint64_t>> destination_flow_ids(const analysis::AuditResult& r,
                                                            const std::vector<std::size_t>& flow_dest) {
  std::vector<std::vector<std::uint64_t>> ids(r.destinations.size());
  for (std::size_t i = 0; i < r.flows.size(); ++i) {
    if (flow_dest[i] == analysis::kNoDestination) continue;
    auto& list = ids[flow_dest[i]];
    add_lowest_id(list, r.flows[i].id);
    if (const auto it = r.folded.find(r.flows[i].id); it != r.folded.end()) {
      for (const std::uint64_t id : it->second.ids) add_lowest_id(list, id);
    }
  }
  return ids;
}

void evaluate_all(RecordEvaluator& ev, const analysis::AuditResult& r) {
  const std::vector<std::size_t> flow_dest = analysis::flow_destinations(r);
  const auto flow_ids = destination_flow_ids(r, flow_dest);
  for (std::size_t i = 0; i < r.destinations.size(); ++i) ev.destination(r.destinations[i], i, flow_ids[i]);
  for (std::size_t i = 0; i < r.flows.size(); ++i) {
    const std::size_t d = flow_dest[i];
    if (d == analysis::kNoDestination) continue;
    const auto folded = r.folded.find(r.flows[i].id);
    ev.flow(r.flows[i], i, r.destinations[d], d, folded == r.folded.end() ? nullptr : &folded->second);
  }
  // DNS findings are per name: the first record of each name stands for it. The server is a
  // destination when the capture has its flow.
  std::unordered_map<DestKey, std::size_t, DestKeyHash> server_index;
  for (std::size_t i = 0; i < r.destinations.size(); ++i) {
    const auto& d = r.destinations[i];
    server_index.emplace(DestKey{d.ip, d.port, d.protocol}, i);
  }
  std::unordered_map<std::string_view, std::size_t> first_of_name;
  first_of_name.reserve(r.dns.size());
  for (std::size_t i = 0; i < r.dns.size(); ++i) {
    const auto& q = r.dns[i];
    const std::size_t name = first_of_name.emplace(q.query, i).first->second;
    const std::uint8_t proto = q.transport == "tcp" ? 6 : 17;
    const auto it = server_index.find(DestKey{q.server, 53, proto});
    if (it == server_index.end()) {
      ev.dns(q, name, nullptr, std::nullopt);
    } else {
      ev.dns(q, name, &r.destinations[it->second], it->second);
    }
  }
  ev.capture();
  ev.allowlist(r.destinations, flow_ids);
}

}  // namespace

Evaluation evaluate(const Policy& policy, const analysis::AuditResult& result, const EvalOptions& options) noexcept {
  try {
    RecordEvaluator ev(policy, result, options);
    try {
      evaluate_all(ev, result);
    } catch (const std::exception& e) {
      // Only allocation can fail here (each step catches its own); what was found is reported.
      Evaluation out = ev.finish();
      out.warnings.push_back(std::string("policy evaluation stopped early: ") + e.what());
      out.failed = out.failed || !out.findings.empty();
      return out;
    }
    return ev.finish();
  } catch (const std::exception& e) {
    Evaluation out;
    out.warnings.push_back(std::string("policy evaluation stopped early: ") + e.what());
    return out;
  }
}

}  // namespace flowaudit::rules::eval
