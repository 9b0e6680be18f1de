#include "rules/lang/fields.h"

#include <array>

namespace flowaudit::rules::lang {
namespace {

using enum FieldType;
using enum Scope;
using analysis::FlowValue;
// Quoted in a message, the value loses its identifiers unless --no-redact (core/redact.h).
constexpr bool kRequestTarget = true;

constexpr std::array<FieldInfo, kFieldCount> kFields{{
    {FieldId::kHostname, "hostname", kString, kDestination, "name of the destination (SNI, Host, DNS), lower case",
     FlowValue::kHostname},
    {FieldId::kHostnameSource, "hostname_source", kString, kDestination,
     "where the name came from: tls-sni, quic-sni, proxy-connect, socks, http-host or dns", FlowValue::kHostnameSource},
    {FieldId::kIp, "ip", kAddress, kDestination, "server address"},
    {FieldId::kPort, "port", kInteger, kDestination, "server port"},
    {FieldId::kTransport, "transport", kString, kDestination, "tcp or udp"},
    {FieldId::kAppProtocol, "app_protocol", kString, kDestination, "tls, quic, http, dns, ... as recognised",
     FlowValue::kAppProtocol},
    {FieldId::kEncrypted, "encrypted", kBoolean, kDestination, "whether the traffic is encrypted",
     FlowValue::kEncrypted},
    {FieldId::kGeoCountry, "geo.country", kCountry, kDestination, "country of the server address (ISO 3166 alpha-2)"},
    {FieldId::kGeoAsn, "geo.asn", kInteger, kDestination, "autonomous system number of the server address"},
    {FieldId::kGeoAsOrg, "geo.as_org", kString, kDestination, "organisation of the autonomous system"},
    {FieldId::kGeoSpecial, "geo.special", kString, kDestination, "special range (private, loopback, ...) if any"},
    {FieldId::kServiceId, "service.id", kString, kDestination, "service catalog id (e.g. deepseek)"},
    {FieldId::kServiceName, "service.name", kString, kDestination, "service name"},
    {FieldId::kServiceCategory, "service.category", kString, kDestination, "service category (ai-chat, tracker, cdn, ...)"},
    {FieldId::kServiceOperator, "service.operator", kString, kDestination, "legal entity operating the service"},
    {FieldId::kServiceJurisdiction, "service.jurisdiction", kCountry, kDestination,
     "country whose law governs the operator"},
    {FieldId::kBytesOut, "bytes_out", kInteger, kDestination, "bytes sent by the client", FlowValue::kBytesOut},
    {FieldId::kBytesIn, "bytes_in", kInteger, kDestination, "bytes received by the client", FlowValue::kBytesIn},
    {FieldId::kFlows, "flows", kInteger, kDestination, "number of flows to the destination"},
    {FieldId::kBlindSpot, "blind_spot", kString, kFlow, "why the flow could not be named or read (ech, doh, dot, ...)",
     FlowValue::kBlindSpot},
    {FieldId::kTlsVersion, "tls.version", kString, kFlow, "negotiated TLS version, e.g. 'TLS 1.2'",
     FlowValue::kTlsVersion},
    {FieldId::kTlsCipher, "tls.cipher", kString, kFlow, "negotiated cipher suite name", FlowValue::kTlsCipher},
    {FieldId::kTlsJa3, "tls.ja3", kString, kFlow, "JA3 fingerprint of the ClientHello", FlowValue::kTlsJa3},
    {FieldId::kTlsJa4, "tls.ja4", kString, kFlow, "JA4 fingerprint of the ClientHello", FlowValue::kTlsJa4},
    {FieldId::kTlsEch, "tls.ech", kBoolean, kFlow, "whether the ClientHello offers Encrypted Client Hello",
     FlowValue::kTlsEch},
    {FieldId::kTlsSni, "tls.sni", kString, kFlow, "server name in the ClientHello", FlowValue::kTlsSni},
    {FieldId::kTlsAlpn, "tls.alpn", kList, kFlow, "ALPN protocols offered", FlowValue::kTlsAlpn},
    {FieldId::kHttpMethod, "http.method", kString, kFlow, "method of the first plaintext HTTP request",
     FlowValue::kHttpMethod},
    {FieldId::kHttpHost, "http.host", kString, kFlow, "Host header of the first plaintext HTTP request",
     FlowValue::kHttpHost},
    {FieldId::kHttpPath, "http.path", kString, kFlow, "path of the first plaintext HTTP request",
     FlowValue::kHttpPath, kRequestTarget},
    {FieldId::kHttpUserAgent, "http.user_agent", kString, kFlow, "User-Agent of the first plaintext HTTP request",
     FlowValue::kHttpUserAgent},
    {FieldId::kQuicVersion, "quic.version", kString, kFlow, "QUIC version", FlowValue::kQuicVersion},
    {FieldId::kDnsQuery, "dns.query", kString, kDns, "name asked"},
    {FieldId::kDnsQtype, "dns.qtype", kString, kDns, "query type (A, AAAA, HTTPS, ...)"},
    {FieldId::kDnsAnswers, "dns.answers", kList, kDns, "answers (addresses and names)"},
    {FieldId::kDnsEncrypted, "dns.encrypted", kBoolean, kDns, "whether the query went over DoT, DoH or DoQ"},
    {FieldId::kCaptureCoverage, "capture.coverage", kInteger, kCapture, "percent of bytes to named destinations"},
    {FieldId::kCapturePackets, "capture.packets", kInteger, kCapture, "packets read"},
    {FieldId::kCaptureFlows, "capture.flows", kInteger, kCapture, "flows seen"},
    {FieldId::kCaptureComplete, "capture.complete", kBoolean, kCapture, "whether every input was read to its end"},
    {FieldId::kServiceParent, "service.parent", kString, kDestination,
     "the group at the top of the operator's ownership chain (from the company registry), when there is one"},
    {FieldId::kTlsClientVersion, "tls.client_version", kString, kFlow, "highest TLS version the client offered",
     FlowValue::kTlsClientVersion},
    {FieldId::kTlsCertSubject, "tls.cert_subject", kString, kFlow,
     "subject of the server certificate (TLS 1.2 and older: sent in clear)", FlowValue::kTlsCertSubject},
    {FieldId::kTlsCertIssuer, "tls.cert_issuer", kString, kFlow, "issuer of the server certificate (TLS 1.2 and older)",
     FlowValue::kTlsCertIssuer},
    {FieldId::kHttpContentType, "http.content_type", kString, kFlow, "Content-Type of the first plaintext HTTP request",
     FlowValue::kHttpContentType},
    {FieldId::kHttpContentLength, "http.content_length", kInteger, kFlow,
     "Content-Length of the first plaintext HTTP request (bytes of body it announced)", FlowValue::kHttpContentLength},
    {FieldId::kDnsRcode, "dns.rcode", kString, kDns, "response code (NOERROR, NXDOMAIN, ...); no value: no response seen"},
    {FieldId::kDnsServer, "dns.server", kAddress, kDns, "address of the DNS server asked"},
    {FieldId::kBlindSpotReason, "blind_spot_reason", kString, kFlow,
     "with blind_spot inspection-limit: which limit (tcp-reorder, tcp-byte-budget, http-head-bytes, "
     "http-head-lines, tls-handshake-size, quic-client-hello, concurrent-inspections, protocol-detection, "
     "dns-messages, proxy-handshake, starttls-plaintext, content-decoding, quic-decrypt-budget, inspection-budget)", FlowValue::kBlindSpotReason},
    {FieldId::kCaptureCapped, "capture.capped", kBoolean, kCapture,
     "whether a memory cap (--max-destinations, --max-flow-records, --max-dns-records, string pool) left "
     "flows, DNS messages or names out of the audit"},
    {FieldId::kUnnamedReason, "unnamed_reason", kString, kFlow,
     "why the flow has no name (not-inspected, inspection-limit, encrypted-sni, quic-undecryptable, no-sni, "
     "no-client-hello, http-no-host, http-no-request, dns-exchange, no-payload, no-handshake, unknown-protocol, proxy-no-request, "
     "no-tls-upgrade, tunnel-depth, sslv2-hello); no value: "
     "named", FlowValue::kUnnamedReason},
    {FieldId::kServiceParentJurisdiction, "service.parent_jurisdiction", kCountry, kDestination,
     "country whose law governs the group at the top of the operator's ownership chain (TikTok Pte. Ltd. [SG]: "
     "ByteDance Ltd. [CN]); no value: the operator has no parent in the catalog"},
    {FieldId::kRequestMethod, "request.method", kString, kRequest, "HTTP method (GET, POST, ...)"},
    {FieldId::kRequestScheme, "request.scheme", kString, kRequest, "https (decrypted TLS) or http (plaintext)"},
    {FieldId::kRequestAuthority, "request.authority", kString, kRequest, ":authority or Host of the request"},
    {FieldId::kRequestPath, "request.path", kString, kRequest, "request target as sent (path and query)", {},
     kRequestTarget},
    {FieldId::kRequestStatus, "request.status", kInteger, kRequest, "status of the final response; no value: none seen"},
    {FieldId::kRequestContentType, "request.content_type", kString, kRequest, "Content-Type of the request body"},
    {FieldId::kRequestBodyBytes, "request.body_bytes", kInteger, kRequest,
     "bytes of the request body after content decoding (as sent when not coded)"},
    {FieldId::kRequestDecrypted, "request.decrypted", kBoolean, kRequest,
     "whether the request was read by decrypting TLS (false: plaintext HTTP)"},
    {FieldId::kRequestResponseContentType, "request.response_content_type", kString, kRequest,
     "Content-Type of the response"},
    {FieldId::kRequestResponseBodyBytes, "request.response_body_bytes", kInteger, kRequest,
     "bytes of the response body after content decoding"},
    {FieldId::kServiceAiOperator, "service.ai_operator", kBoolean, kDestination,
     "whether the destination's operator runs an AI service this capture sent prompt text to (a chat "
     "endpoint of data/chat-endpoints.yaml); when no prompt was seen, whether it runs any AI service "
     "(ai-chat, ai-api) the capture talked to. No value: the destination's operator is unknown"},
    {FieldId::kPiiTypes, "pii.types", kList, kContent,
     "kinds of personal data and device identifiers found (request: in the request; flow: in its TLS/QUIC "
     "server name; dns: in the query name): email, phone, imei, meid, "
     "advertising-id, device-id, mac-address, ip-address, location, payment-card, iban, fingerprint); "
     "no value: none found"},
    {FieldId::kPiiFields, "pii.fields", kList, kContent,
     "where they were: field paths such as body.user.email, query.idfa, header.cookie:uid"},
    {FieldId::kPiiEvidence, "pii.evidence", kList, kContent,
     "each finding as 'type value in field (detector)', the value masked unless --no-redact"},
    {FieldId::kCanaryFound, "canary.found", kBoolean, kContent,
     "whether a value given with --canary or --canary-file was found in the request, in any encoding"},
    {FieldId::kCanaryEncodings, "canary.encodings", kList, kContent,
     "how the canaries found were encoded: 'as is', url, base64, 'sha256(lower(trim)) as hex', ..."},
    {FieldId::kCanaryFields, "canary.fields", kList, kContent, "field paths where canaries were found"},
    {FieldId::kCanaryEvidence, "canary.evidence", kList, kContent,
     "each canary found as 'canary value in field (encoding)', the value masked unless --no-redact"},
    {FieldId::kPromptBytes, "prompt.bytes", kInteger, kRequest,
     "bytes of prompt text in the request (a chat endpoint of data/chat-endpoints.yaml); 0: none"},
    {FieldId::kPromptService, "prompt.service", kString, kRequest,
     "catalog id of the AI service whose chat endpoint the request matched; no value: none"},
    {FieldId::kDataEvidence, "data.evidence", kList, kContent,
     "pii.evidence, canary.evidence and the prompt text ('prompt N bytes in body.prompt') together"},
}};

constexpr bool table_in_order() {
  for (std::size_t i = 0; i < kFields.size(); ++i) {
    if (static_cast<std::size_t>(kFields[i].id) != i) return false;
  }
  return true;
}
static_assert(table_in_order(), "kFields must list every FieldId in order");

}  // namespace

std::span<const FieldInfo> all_fields() noexcept { return kFields; }

const FieldInfo& field_info(FieldId id) noexcept { return kFields[static_cast<std::size_t>(id)]; }

std::optional<FieldId> find_field(std::string_view name) noexcept {
  for (const FieldInfo& field : kFields) {
    if (field.name == name) return field.id;
  }
  return std::nullopt;
}

std::string_view field_type_name(FieldType type) noexcept {
  switch (type) {
    case kString: return "string";
    case kInteger: return "integer";
    case kBoolean: return "boolean";
    case kAddress: return "address";
    case kCountry: return "country";
    case kList: return "list";
  }
  return "?";
}

std::string_view scope_name(Scope scope) noexcept {
  switch (scope) {
    case kDestination: return "destination";
    case kFlow: return "flow";
    case kDns: return "dns";
    case kCapture: return "capture";
    case kRequest: return "request";
    case kContent: return "request, flow or dns";
  }
  return "?";
}

bool field_visible(Scope field, Scope rule) noexcept {
  if (field == kContent) return rule == kRequest || rule == kFlow || rule == kDns;
  if (field == rule || field == kCapture) return true;
  if (rule == kRequest) return field == kFlow || field == kDestination;
  return field == kDestination && rule == kFlow;
}

}  // namespace flowaudit::rules::lang
