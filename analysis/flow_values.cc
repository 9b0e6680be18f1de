#include "analysis/flow_values.h"

#include <algorithm>
#include <limits>

namespace flowaudit::analysis {
namespace {

std::optional<FlowValueData> text(std::string_view s) {
  if (s.empty()) return std::nullopt;
  return FlowValueData(s);
}

std::optional<FlowValueData> number(std::uint64_t n) {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  return FlowValueData(static_cast<std::int64_t>(std::min(n, kMax)));
}

}  // namespace

std::optional<FlowValueData> flow_value(FlowValue v, const flow::Flow& f, const app::FlowName& name,
                                        const app::FlowDetails* d) noexcept {
  const app::TlsDetails* t = d != nullptr ? d->tls.get() : nullptr;
  const app::HttpDetails* h = d != nullptr ? d->http.get() : nullptr;
  const bool hello = t != nullptr && t->client_hello;
  const bool answered = t != nullptr && t->server_hello;
  switch (v) {
    case FlowValue::kHostname: return text(name.hostname);
    case FlowValue::kHostnameSource: return text(name.source);
    case FlowValue::kAppProtocol: return d != nullptr ? text(app::to_string(d->app)) : std::nullopt;
    case FlowValue::kEncrypted: {
      const int e = app::encrypted(d);
      if (e < 0) return std::nullopt;
      return FlowValueData(e != 0);
    }
    case FlowValue::kBytesOut: return number(f.out().bytes);
    case FlowValue::kBytesIn: return number(f.in().bytes);
    case FlowValue::kBlindSpot: return d != nullptr ? text(app::to_string(d->blind_spot)) : std::nullopt;
    case FlowValue::kBlindSpotReason: return d != nullptr ? text(app::to_string(d->limit)) : std::nullopt;
    case FlowValue::kTlsVersion: return answered ? number(t->version) : std::nullopt;
    case FlowValue::kTlsCipher: return answered ? number(t->cipher) : std::nullopt;
    case FlowValue::kTlsClientVersion: return hello ? number(t->client_version) : std::nullopt;
    case FlowValue::kTlsJa3: return t != nullptr ? text(t->ja3) : std::nullopt;
    case FlowValue::kTlsJa4: return t != nullptr ? text(t->ja4) : std::nullopt;
    case FlowValue::kTlsEch: return hello ? std::optional<FlowValueData>(t->ech) : std::nullopt;
    case FlowValue::kTlsSni: return t != nullptr && t->has_sni ? text(t->sni) : std::nullopt;
    case FlowValue::kTlsAlpn: return t != nullptr ? text(t->alpn_offered) : std::nullopt;
    case FlowValue::kTlsCertSubject: return t != nullptr ? text(t->cert_subject) : std::nullopt;
    case FlowValue::kTlsCertIssuer: return t != nullptr ? text(t->cert_issuer) : std::nullopt;
    case FlowValue::kHttpMethod: return h != nullptr ? text(h->method) : std::nullopt;
    case FlowValue::kHttpHost: return h != nullptr ? text(h->host) : std::nullopt;
    case FlowValue::kHttpPath: return h != nullptr ? text(h->path) : std::nullopt;
    case FlowValue::kHttpUserAgent: return h != nullptr ? text(h->user_agent) : std::nullopt;
    case FlowValue::kHttpContentType: return h != nullptr ? text(h->content_type) : std::nullopt;
    case FlowValue::kHttpContentLength:
      if (h == nullptr || h->content_length < 0) return std::nullopt;
      return FlowValueData(static_cast<std::int64_t>(h->content_length));
    case FlowValue::kQuicVersion: return d != nullptr && d->quic ? text(d->quic->version_name) : std::nullopt;
    case FlowValue::kUnnamedReason: return text(app::to_string(name.unnamed));
  }
  return std::nullopt;
}

}  // namespace flowaudit::analysis
