#include "rules/eval/records.h"

#include <algorithm>

#include "analysis/app/tls/client_hello.h"
#include "analysis/enrich/service_catalog.h"
#include "analysis/enrich/special_ranges.h"
#include "analysis/flow_values.h"
#include "analysis/packet/transport.h"
#include "core/string_pool.h"

namespace flowaudit::rules::eval {
namespace {

using lang::FieldId;
using lang::Value;

std::optional<Value> text(std::string_view s) {
  if (s.empty()) return std::nullopt;
  return Value(s);
}

std::optional<Value> number(std::uint64_t n) {
  return Value(static_cast<std::int64_t>(std::min<std::uint64_t>(n, INT64_MAX)));
}

std::optional<Value> tristate(int value) {
  if (value < 0) return std::nullopt;
  return Value(value != 0);
}

}  // namespace

std::string_view transport_name(std::uint8_t protocol) noexcept {
  switch (protocol) {
    case analysis::packet::kProtoTcp: return "tcp";
    case analysis::packet::kProtoUdp: return "udp";
    default: return "other";
  }
}

CaptureRecord::CaptureRecord(const analysis::AuditResult& result) : r_(result) {
  complete_ = std::all_of(result.inputs.begin(), result.inputs.end(), [](const auto& i) { return i.complete; });
  // The AI services the capture sent prompt text to: the services of the chat endpoints matched.
  std::vector<std::string_view> chat_services;
  for (const auto& f : result.flows) {
    if (!f.details || !f.details->requests) continue;
    for (const auto& e : f.details->requests->list) {
      if (!e.chat_service.empty() && std::find(chat_services.begin(), chat_services.end(), e.chat_service) ==
                                         chat_services.end()) {
        chat_services.push_back(e.chat_service);
      }
    }
  }
  // Their operators, from the destinations the catalog names with the same service (a chat endpoint
  // of a host the catalog gives to another service, a proxy, does not make that host first party).
  // Without any prompt seen (nothing decrypted), every AI service the capture talked to counts.
  for (const auto& d : result.destinations) {
    const auto* s = d.enrichment ? d.enrichment->service.get() : nullptr;
    if (s == nullptr || s->operator_name.empty()) continue;
    const bool ai = chat_services.empty()
                        ? analysis::enrich::is_ai(s->category)
                        : std::find(chat_services.begin(), chat_services.end(), s->id) != chat_services.end();
    if (ai) ai_operators_.push_back(s->operator_name);
  }
  std::sort(ai_operators_.begin(), ai_operators_.end());
  ai_operators_.erase(std::unique(ai_operators_.begin(), ai_operators_.end()), ai_operators_.end());
}

bool CaptureRecord::ai_operator(std::string_view operator_name) const noexcept {
  return std::binary_search(ai_operators_.begin(), ai_operators_.end(), operator_name);
}

std::optional<Value> CaptureRecord::get(FieldId field) const {
  switch (field) {
    case FieldId::kCaptureCoverage:
      // Percent of the bytes sent that went to named destinations, rounded down: 99.9 is not 100.
      return Value(static_cast<std::int64_t>(r_.coverage.bytes_out_share() * 100.0));
    case FieldId::kCapturePackets: return number(r_.packets);
    case FieldId::kCaptureFlows: return number(r_.total_flows());
    case FieldId::kCaptureComplete: return Value(complete_);
    case FieldId::kCaptureCapped: return Value(r_.caps.capped());
    default: return std::nullopt;
  }
}

lang::FieldSet CaptureRecord::presence() const noexcept {
  return lang::field_bit(FieldId::kCaptureCoverage) | lang::field_bit(FieldId::kCapturePackets) |
         lang::field_bit(FieldId::kCaptureFlows) | lang::field_bit(FieldId::kCaptureComplete) |
         lang::field_bit(FieldId::kCaptureCapped);
}

lang::FieldSet DestinationRecord::presence() const {
  lang::FieldSet out = capture_.presence();
  for (const auto& info : lang::all_fields()) {
    if (info.scope == lang::Scope::kDestination && get(info.id)) out |= lang::field_bit(info.id);
  }
  return out;
}

std::optional<Value> DestinationRecord::get(FieldId field) const {
  const auto& d = *d_;
  const analysis::enrich::DestinationEnrichment* e = d.enrichment ? &*d.enrichment : nullptr;
  const analysis::enrich::Service* s = e != nullptr ? e->service.get() : nullptr;
  switch (field) {
    case FieldId::kHostname: return text(d.hostname);
    case FieldId::kHostnameSource: return text(d.hostname_source);
    case FieldId::kIp: return Value(d.ip);
    case FieldId::kPort: return Value(static_cast<std::int64_t>(d.port));
    case FieldId::kTransport: return Value(transport_name(d.protocol));
    case FieldId::kAppProtocol: return text(d.app_protocol);
    case FieldId::kEncrypted: return tristate(d.encrypted);
    case FieldId::kGeoCountry: return e != nullptr ? text(e->geo.country) : std::nullopt;
    case FieldId::kGeoAsn: return e != nullptr && e->geo.asn != 0 ? number(e->geo.asn) : std::nullopt;
    case FieldId::kGeoAsOrg: return e != nullptr ? text(e->geo.as_org) : std::nullopt;
    case FieldId::kGeoSpecial:
      return e != nullptr ? text(analysis::enrich::special_range_name(e->geo.special)) : std::nullopt;
    case FieldId::kServiceId: return s != nullptr ? text(s->id) : std::nullopt;
    case FieldId::kServiceName: return s != nullptr ? text(s->name) : std::nullopt;
    case FieldId::kServiceCategory:
      return s != nullptr ? text(analysis::enrich::category_name(s->category)) : std::nullopt;
    case FieldId::kServiceOperator: return s != nullptr ? text(s->operator_name) : std::nullopt;
    case FieldId::kServiceJurisdiction: return s != nullptr ? text(s->jurisdiction) : std::nullopt;
    case FieldId::kServiceParent: return s != nullptr ? text(s->parent) : std::nullopt;
    case FieldId::kServiceParentJurisdiction: return s != nullptr ? text(s->parent_jurisdiction) : std::nullopt;
    case FieldId::kServiceAiOperator:
      if (s == nullptr || s->operator_name.empty()) return std::nullopt;
      return Value(capture_.ai_operator(s->operator_name));
    case FieldId::kBytesOut: return number(d.bytes_out);
    case FieldId::kBytesIn: return number(d.bytes_in);
    case FieldId::kFlows: return number(d.flows);
    default: return capture_.get(field);
  }
}

void FlowRecord::bind(const analysis::FlowRow& flow) noexcept {
  f_ = &flow;
  const analysis::NameFindings* sni = nullptr;
  if (flow.name.source == "tls-sni" || flow.name.source == "quic-sni") {
    sni = destination_.capture().result().find_name_findings("sni", flow.name.hostname);
  }
  content_.bind(sni != nullptr ? &sni->findings : nullptr);
  version_.reset();
  cipher_.reset();
  client_version_.reset();
}

namespace {

// The flow's name stands in for its destination's only when it has one; every other flow value
// (protocol, encryption, bytes, ...) is the flow's own even when unknown.
bool falls_back(FieldId field) noexcept { return field == FieldId::kHostname || field == FieldId::kHostnameSource; }

// Version and cipher codes as rules read them: named values are static strings; only unknown code
// points are spelled out (and kept in `cache`).
Value spelled(FieldId field, std::int64_t code, std::optional<std::string>& cache) {
  const auto c = static_cast<std::uint16_t>(code);
  const bool cipher = field == FieldId::kTlsCipher;
  const std::string_view known = cipher ? analysis::tls::known_cipher_name(c) : analysis::tls::known_version_name(c);
  if (!known.empty()) return Value(known);
  if (!cache) cache = cipher ? analysis::tls::cipher_name(c) : analysis::tls::version_name(c);
  return Value(std::string_view(*cache));
}

}  // namespace

std::optional<Value> FlowRecord::get(FieldId field) const {
  if (ContentLists::is_content(field)) return content_.get(field);
  const auto& info = lang::field_info(field);
  if (!info.flow) return destination_.get(field);
  const auto v = analysis::flow_value(*info.flow, *f_, f_->name, f_->app_details());
  if (!v) return falls_back(field) ? destination_.get(field) : std::nullopt;
  if (const auto* n = std::get_if<std::int64_t>(&*v)) {
    switch (field) {
      case FieldId::kTlsVersion: return spelled(field, *n, version_);
      case FieldId::kTlsCipher: return spelled(field, *n, cipher_);
      case FieldId::kTlsClientVersion: return spelled(field, *n, client_version_);
      default: return Value(*n);
    }
  }
  if (const auto* b = std::get_if<bool>(&*v)) return Value(*b);
  return Value(std::get<std::string_view>(*v));
}

lang::FieldSet FlowRecord::presence(lang::FieldSet destination) const {
  lang::FieldSet out = destination | content_.presence();
  for (const auto& info : lang::all_fields()) {
    if (!info.flow) continue;
    if (analysis::flow_value(*info.flow, *f_, f_->name, f_->app_details())) {
      out |= lang::field_bit(info.id);
    } else if (!falls_back(info.id)) {
      out &= ~lang::field_bit(info.id);
    }
  }
  return out;
}

lang::FieldSet DnsQueryRecord::presence() const noexcept {
  using lang::field_bit;
  const auto& q = *q_;
  lang::FieldSet out = capture_.presence() | field_bit(FieldId::kDnsEncrypted) | field_bit(FieldId::kDnsServer);
  if (q.rcode && !q.rcode->empty()) out |= field_bit(FieldId::kDnsRcode);
  if (!q.query.empty()) out |= field_bit(FieldId::kDnsQuery);
  if (!q.qtype.empty()) out |= field_bit(FieldId::kDnsQtype);
  if (!q.answers.empty()) out |= field_bit(FieldId::kDnsAnswers);
  return out | content_.presence();
}

void DnsQueryRecord::bind(const analysis::app::DnsRecord& query) noexcept {
  q_ = &query;
  answers_built_ = false;
  const analysis::NameFindings* name = capture_.result().find_name_findings("dns", query.query);
  content_.bind(name != nullptr ? &name->findings : nullptr);
}

std::optional<Value> DnsQueryRecord::get(FieldId field) const {
  const auto& q = *q_;
  switch (field) {
    case FieldId::kDnsQuery: return text(q.query);
    case FieldId::kDnsQtype: return text(q.qtype);
    case FieldId::kDnsAnswers:
      if (q.answers.empty()) return std::nullopt;
      if (!answers_built_) {  // joined on first use: most rules never ask
        answers_.clear();
        for (std::size_t i = 0; i < q.answers.size(); ++i) {
          if (i != 0) answers_.push_back(core::kListSeparator);
          answers_ += q.answers[i];
        }
        answers_built_ = true;
      }
      return Value(std::string_view(answers_));
    // Only plaintext DNS is decoded; DoT, DoH and DoQ are blind spots of their flows.
    case FieldId::kDnsEncrypted: return Value(false);
    case FieldId::kDnsRcode: return q.rcode ? text(*q.rcode) : std::nullopt;
    case FieldId::kDnsServer: return Value(q.server);
    default:
      if (ContentLists::is_content(field)) return content_.get(field);
      return capture_.get(field);
  }
}

lang::FieldSet RequestRecord::presence(lang::FieldSet flow) const noexcept {
  using lang::field_bit;
  const auto& e = *e_;
  lang::FieldSet out = flow | field_bit(FieldId::kRequestScheme) | field_bit(FieldId::kRequestBodyBytes) |
                       field_bit(FieldId::kRequestDecrypted) | field_bit(FieldId::kRequestResponseBodyBytes);
  if (!e.method.empty()) out |= field_bit(FieldId::kRequestMethod);
  if (!e.authority.empty()) out |= field_bit(FieldId::kRequestAuthority);
  if (!e.path.empty()) out |= field_bit(FieldId::kRequestPath);
  if (e.status != 0) out |= field_bit(FieldId::kRequestStatus);
  if (!e.request_content_type.empty()) out |= field_bit(FieldId::kRequestContentType);
  if (!e.response_content_type.empty()) out |= field_bit(FieldId::kRequestResponseContentType);
  out |= field_bit(FieldId::kPromptBytes) | content_.presence();
  if (!e.chat_service.empty()) out |= field_bit(FieldId::kPromptService);
  return out;
}

namespace {

// Appends `item` to a '\0'-separated list unless it is there already.
void add_item(std::string& list, std::string_view item) {
  std::size_t at = 0;
  while (at <= list.size()) {
    const std::size_t end = std::min(list.find(core::kListSeparator, at), list.size());
    if (std::string_view(list).substr(at, end - at) == item) return;
    at = end + 1;
  }
  if (!list.empty()) list.push_back(core::kListSeparator);
  list += item;
}

}  // namespace

bool ContentLists::is_content(FieldId field) noexcept { return lang::field_info(field).scope == lang::Scope::kContent; }

lang::FieldSet ContentLists::presence() const noexcept {
  lang::FieldSet out = lang::field_bit(FieldId::kCanaryFound);
  if (f_ == nullptr || f_->empty()) return out;
  for (const auto& info : lang::all_fields()) {
    if (info.scope == lang::Scope::kContent) out |= lang::field_bit(info.id);
  }
  return out;
}

void ContentLists::build() const {
  for (auto& l : lists_) l.clear();
  canary_found_ = false;
  built_ = true;
  if (f_ == nullptr) return;
  std::string item;
  for (const auto& f : *f_) {
    if (f.type == "prompt") {  // prompt.bytes and prompt.service have the rest
      item = "prompt " + f.value + " in " + f.field;
      add_item(lists_[kDataEvidence], item);
      continue;
    }
    if (f.type == "canary") {
      canary_found_ = true;
      const std::string_view encoding = f.encoding.empty() ? std::string_view("as is") : std::string_view(f.encoding);
      add_item(lists_[kCanaryEncodings], encoding);
      add_item(lists_[kCanaryFields], f.field);
      item = "canary " + f.value + " in " + f.field + " (" + std::string(encoding) + ")";
      add_item(lists_[kCanaryEvidence], item);
      add_item(lists_[kDataEvidence], item);
      continue;
    }
    add_item(lists_[kPiiTypes], f.type);
    add_item(lists_[kPiiFields], f.field);
    item = f.type + " " + f.value + " in " + f.field;
    if (!f.encoding.empty()) item += " (" + f.encoding + ")";
    item += " [" + f.detector + "]";
    add_item(lists_[kPiiEvidence], item);
    add_item(lists_[kDataEvidence], item);
  }
}

std::optional<Value> ContentLists::get(FieldId field) const {
  if (!is_content(field)) return std::nullopt;
  if (!built_) build();
  switch (field) {
    case FieldId::kCanaryFound: return Value(canary_found_);
    case FieldId::kPiiTypes: return text(lists_[kPiiTypes]);
    case FieldId::kPiiFields: return text(lists_[kPiiFields]);
    case FieldId::kPiiEvidence: return text(lists_[kPiiEvidence]);
    case FieldId::kCanaryEncodings: return text(lists_[kCanaryEncodings]);
    case FieldId::kCanaryFields: return text(lists_[kCanaryFields]);
    case FieldId::kCanaryEvidence: return text(lists_[kCanaryEvidence]);
    case FieldId::kDataEvidence: return text(lists_[kDataEvidence]);
    default: return std::nullopt;
  }
}

std::optional<Value> RequestRecord::get(FieldId field) const {
  const auto& e = *e_;
  switch (field) {
    case FieldId::kRequestMethod: return text(e.method);
    case FieldId::kRequestScheme: return Value(scheme_);
    case FieldId::kRequestAuthority: return text(e.authority);
    case FieldId::kRequestPath: return text(e.path);
    case FieldId::kRequestStatus:
      return e.status == 0 ? std::nullopt : std::optional<Value>(Value(static_cast<std::int64_t>(e.status)));
    case FieldId::kRequestContentType: return text(e.request_content_type);
    case FieldId::kRequestBodyBytes: return Value(static_cast<std::int64_t>(e.request_body_decoded_bytes));
    case FieldId::kRequestDecrypted: return Value(scheme_ == "https");
    case FieldId::kRequestResponseContentType: return text(e.response_content_type);
    case FieldId::kRequestResponseBodyBytes: return Value(static_cast<std::int64_t>(e.response_body_decoded_bytes));
    case FieldId::kPromptBytes: return number(e.prompt_bytes);
    case FieldId::kPromptService: return text(e.chat_service);
    default:
      if (ContentLists::is_content(field)) return content_.get(field);
      return flow_.get(field);
  }
}

}  // namespace flowaudit::rules::eval
