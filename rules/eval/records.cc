#include "rules/eval/records.h"

#include <algorithm>

#include "analysis/app/tls/client_hello.h"
#include "analysis/enrich/special_ranges.h"
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

CaptureRecord::CaptureRecord(const analysis::AuditResult& result) noexcept : r_(result) {
  complete_ = std::all_of(result.inputs.begin(), result.inputs.end(), [](const auto& i) { return i.complete; });
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
  const auto& d = r_.destinations[index_];
  const analysis::enrich::DestinationEnrichment* e =
      index_ < r_.enrichment.size() ? &r_.enrichment[index_] : nullptr;
  const analysis::enrich::Service* s = e != nullptr ? e->service : nullptr;
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
    case FieldId::kBytesOut: return number(d.bytes_out);
    case FieldId::kBytesIn: return number(d.bytes_in);
    case FieldId::kFlows: return number(d.flows);
    default: return capture_.get(field);
  }
}

void FlowRecord::bind(std::size_t flow) noexcept {
  index_ = flow;
  details_ = analysis::Auditor::details_of(r_, r_.flows[flow]);
  version_.reset();
  cipher_.reset();
  client_version_.reset();
}

std::optional<Value> FlowRecord::get(FieldId field) const {
  const auto& f = r_.flows[index_];
  const analysis::app::FlowDetails* d = details_;
  const analysis::app::TlsDetails* t = d != nullptr ? d->tls.get() : nullptr;
  const analysis::app::HttpDetails* h = d != nullptr ? d->http.get() : nullptr;
  switch (field) {
    // The flow's own view where it has one; the rest is its destination's.
    case FieldId::kHostname:
      if (index_ < r_.names.size() && !r_.names[index_].hostname.empty()) return Value(r_.names[index_].hostname);
      return destination_.get(field);
    case FieldId::kHostnameSource:
      if (index_ < r_.names.size() && !r_.names[index_].source.empty()) return Value(r_.names[index_].source);
      return destination_.get(field);
    case FieldId::kAppProtocol: return d != nullptr ? text(analysis::app::to_string(d->app)) : std::nullopt;
    case FieldId::kEncrypted: return tristate(analysis::app::encrypted(d));
    case FieldId::kBytesOut: return number(f.out().bytes);
    case FieldId::kBytesIn: return number(f.in().bytes);
    case FieldId::kBlindSpot: return d != nullptr ? text(analysis::app::to_string(d->blind_spot)) : std::nullopt;
    case FieldId::kBlindSpotReason: return d != nullptr ? text(analysis::app::to_string(d->limit)) : std::nullopt;
    case FieldId::kUnnamedReason:
      return index_ < r_.names.size() ? text(analysis::app::to_string(r_.names[index_].unnamed)) : std::nullopt;
    // Named values are static strings; only unknown code points are spelled out (and kept).
    case FieldId::kTlsVersion: {
      if (t == nullptr || !t->server_hello) return std::nullopt;
      const std::string_view known = analysis::tls::known_version_name(t->version);
      if (!known.empty()) return Value(known);
      if (!version_) version_ = analysis::tls::version_name(t->version);
      return Value(std::string_view(*version_));
    }
    case FieldId::kTlsCipher: {
      if (t == nullptr || !t->server_hello) return std::nullopt;
      const std::string_view known = analysis::tls::known_cipher_name(t->cipher);
      if (!known.empty()) return Value(known);
      if (!cipher_) cipher_ = analysis::tls::cipher_name(t->cipher);
      return Value(std::string_view(*cipher_));
    }
    case FieldId::kTlsJa3: return t != nullptr ? text(t->ja3) : std::nullopt;
    case FieldId::kTlsJa4: return t != nullptr ? text(t->ja4) : std::nullopt;
    case FieldId::kTlsEch: return t != nullptr && t->client_hello ? std::optional<Value>(Value(t->ech)) : std::nullopt;
    case FieldId::kTlsSni: return t != nullptr && t->has_sni ? text(t->sni) : std::nullopt;
    case FieldId::kTlsAlpn: return t != nullptr ? text(t->alpn_offered) : std::nullopt;
    case FieldId::kHttpMethod: return h != nullptr ? text(h->method) : std::nullopt;
    case FieldId::kHttpHost: return h != nullptr ? text(h->host) : std::nullopt;
    case FieldId::kHttpPath: return h != nullptr ? text(h->path) : std::nullopt;
    case FieldId::kHttpUserAgent: return h != nullptr ? text(h->user_agent) : std::nullopt;
    case FieldId::kHttpContentType: return h != nullptr ? text(h->content_type) : std::nullopt;
    case FieldId::kHttpContentLength:
      if (h == nullptr || h->content_length < 0) return std::nullopt;
      return Value(static_cast<std::int64_t>(h->content_length));
    case FieldId::kTlsClientVersion: {
      if (t == nullptr || !t->client_hello) return std::nullopt;
      const std::string_view known = analysis::tls::known_version_name(t->client_version);
      if (!known.empty()) return Value(known);
      if (!client_version_) client_version_ = analysis::tls::version_name(t->client_version);
      return Value(std::string_view(*client_version_));
    }
    case FieldId::kTlsCertSubject: return t != nullptr ? text(t->cert_subject) : std::nullopt;
    case FieldId::kTlsCertIssuer: return t != nullptr ? text(t->cert_issuer) : std::nullopt;
    case FieldId::kQuicVersion: return d != nullptr && d->quic ? text(d->quic->version_name) : std::nullopt;
    default: return destination_.get(field);
  }
}

lang::FieldSet FlowRecord::presence(lang::FieldSet destination) const noexcept {
  using lang::field_bit;
  // The flow's own view replaces its destination's for these (see get()).
  lang::FieldSet out = destination & ~(field_bit(FieldId::kAppProtocol) | field_bit(FieldId::kEncrypted));
  out |= field_bit(FieldId::kBytesOut) | field_bit(FieldId::kBytesIn);
  if (index_ < r_.names.size() && !r_.names[index_].hostname.empty()) out |= field_bit(FieldId::kHostname);
  if (index_ < r_.names.size() && !r_.names[index_].source.empty()) out |= field_bit(FieldId::kHostnameSource);
  if (analysis::app::encrypted(details_) >= 0) out |= field_bit(FieldId::kEncrypted);
  if (index_ < r_.names.size() && r_.names[index_].unnamed != analysis::app::UnnamedReason::kNone) {
    out |= field_bit(FieldId::kUnnamedReason);
  }
  const analysis::app::FlowDetails* d = details_;
  if (d == nullptr) return out;
  if (d->app != analysis::app::AppProtocol::kUnknown) out |= field_bit(FieldId::kAppProtocol);
  if (d->blind_spot != analysis::app::BlindSpot::kNone) out |= field_bit(FieldId::kBlindSpot);
  if (d->limit != analysis::app::InspectionLimit::kNone) out |= field_bit(FieldId::kBlindSpotReason);
  if (const auto* t = d->tls.get()) {
    if (t->server_hello) out |= field_bit(FieldId::kTlsVersion) | field_bit(FieldId::kTlsCipher);
    if (!t->ja3.empty()) out |= field_bit(FieldId::kTlsJa3);
    if (!t->ja4.empty()) out |= field_bit(FieldId::kTlsJa4);
    if (t->client_hello) out |= field_bit(FieldId::kTlsEch) | field_bit(FieldId::kTlsClientVersion);
    if (!t->cert_subject.empty()) out |= field_bit(FieldId::kTlsCertSubject);
    if (!t->cert_issuer.empty()) out |= field_bit(FieldId::kTlsCertIssuer);
    if (t->has_sni && !t->sni.empty()) out |= field_bit(FieldId::kTlsSni);
    if (!t->alpn_offered.empty()) out |= field_bit(FieldId::kTlsAlpn);
  }
  if (const auto* h = d->http.get()) {
    if (!h->method.empty()) out |= field_bit(FieldId::kHttpMethod);
    if (!h->host.empty()) out |= field_bit(FieldId::kHttpHost);
    if (!h->path.empty()) out |= field_bit(FieldId::kHttpPath);
    if (!h->user_agent.empty()) out |= field_bit(FieldId::kHttpUserAgent);
    if (!h->content_type.empty()) out |= field_bit(FieldId::kHttpContentType);
    if (h->content_length >= 0) out |= field_bit(FieldId::kHttpContentLength);
  }
  if (d->quic && !d->quic->version_name.empty()) out |= field_bit(FieldId::kQuicVersion);
  return out;
}

lang::FieldSet DnsQueryRecord::presence() const noexcept {
  using lang::field_bit;
  const auto& q = r_.dns[index_];
  lang::FieldSet out = capture_.presence() | field_bit(FieldId::kDnsEncrypted) | field_bit(FieldId::kDnsServer);
  if (q.rcode && !q.rcode->empty()) out |= field_bit(FieldId::kDnsRcode);
  if (!q.query.empty()) out |= field_bit(FieldId::kDnsQuery);
  if (!q.qtype.empty()) out |= field_bit(FieldId::kDnsQtype);
  if (!q.answers.empty()) out |= field_bit(FieldId::kDnsAnswers);
  return out;
}

void DnsQueryRecord::bind(std::size_t query) noexcept {
  index_ = query;
  answers_built_ = false;
}

std::optional<Value> DnsQueryRecord::get(FieldId field) const {
  const auto& q = r_.dns[index_];
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
    default: return capture_.get(field);
  }
}

}  // namespace flowaudit::rules::eval
