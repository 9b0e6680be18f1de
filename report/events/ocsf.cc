#include "report/events/ocsf.h"

#include <openssl/evp.h>

#include <array>
#include <chrono>
#include <string>

#include "analysis/app/naming.h"
#include "analysis/app/tls/client_hello.h"
#include "core/redact.h"
#include "report/json_report.h"
#include "report/json_writer.h"
#include "rules/eval/records.h"
#include "rules/lang/fields.h"

namespace flowaudit::report::events {
namespace {

using analysis::AuditResult;
using analysis::FlowRow;
using rules::eval::transport_name;

// OCSF class and category numbers (OCSF 1.1: class_uid = category_uid * 1000 + class id;
// type_uid = class_uid * 100 + activity_id).
constexpr int kNetworkCategory = 4;
constexpr int kFindingsCategory = 2;
constexpr int kNetworkActivity = 4001;
constexpr int kHttpActivity = 4002;
constexpr int kDnsActivity = 4003;
constexpr int kDetectionFinding = 2004;
constexpr int kSeverityInformational = 1;

std::int64_t millis(core::TimestampNs ns) { return ns / 1'000'000; }

// OCSF's hostname_t: dot-separated labels of letters, digits and hyphens, each starting and ending
// with a letter or digit. Real names also carry underscores (SRV and DKIM names; RFC 2181 section
// 11 allows any byte), which flowaudit accepts where OCSF's pattern does not. A name from the wire
// that is neither goes into the attributes typed string_t only (network_endpoint.name, unmapped).
bool hostname_ok(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  char prev = '.';
  for (const char c : name) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else if (alnum || c == '-') {
      if (label == 0 && c == '-') return false;
      if (++label > 63) return false;
    } else {
      return false;
    }
    prev = c;
  }
  return label > 0 && prev != '-';
}

// A required hostname_t (dns_query.hostname) for a name that is not one: each byte that cannot be in
// a label becomes '_', an empty label "_". The name as it was is in unmapped.flowaudit.query.
std::string hostname_for_ocsf(std::string_view name) {
  if (hostname_ok(name)) return std::string(name);
  std::string out;
  std::size_t label_start = 0;
  for (const char c : name.substr(0, 253)) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '-' || c == '.';
    if (c == '.') {
      if (out.size() == label_start) out.push_back('_');
      if (out.back() == '-') out.back() = '_';
      out.push_back('.');
      label_start = out.size();
      continue;
    }
    if (out.size() - label_start >= 63) continue;
    out.push_back(keep ? (c == '-' && out.size() == label_start ? '_' : c) : '_');
  }
  if (out.empty() || out.size() == label_start) out.push_back('_');
  if (out.back() == '-') out.back() = '_';
  return out;
}

// Events leave out what is unknown rather than write null: a fleet's store fills its defaults, and a
// million events are that much smaller.
void optional_string(JsonWriter& w, std::string_view key, std::string_view value) {
  if (!value.empty()) w.field(key, value);
}

// integer_t is 32 bits; larger counts go to unmapped.
constexpr std::uint64_t kMaxInteger = 0x7FFFFFFF;

// A deterministic event id: SHA-256 of the sensor, the audit and the record, as a UUID (version 8,
// RFC 9562's custom layout). The same record of the same audit on the same sensor gets the same id.
std::string event_uid(std::string_view sensor, std::string_view audit, int class_uid, std::string_view record) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  std::string text;
  text.reserve(sensor.size() + audit.size() + record.size() + 16);
  text.append(sensor).push_back('\0');
  text.append(audit).push_back('\0');
  text.append(std::to_string(class_uid)).push_back('\0');
  text.append(record);
  // Fetched once: with OpenSSL 3, EVP_sha256() makes every EVP_Digest look the algorithm up in
  // the providers again (a lock and a search per event). Null if the default provider cannot give
  // SHA-256, and then EVP_sha256() as before.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_Digest(text.data(), text.size(), md.data(), &len, sha256 != nullptr ? sha256 : EVP_sha256(), nullptr);
  md[6] = static_cast<unsigned char>((md[6] & 0x0F) | 0x80);
  md[8] = static_cast<unsigned char>((md[8] & 0x3F) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[md[static_cast<std::size_t>(i)] >> 4]);
    out.push_back(kHex[md[static_cast<std::size_t>(i)] & 0x0F]);
  }
  return out;
}

// What every event of one audit shares.
class Emitter {
 public:
  Emitter(const ReportInput& input, const EventContext& context, const EventEmit& emit)
      : r_(input.result), outcome_(input.outcome), ctx_(context), emit_(emit) {
    audit_key_ = !ctx_.audit_key.empty()
                     ? ctx_.audit_key
                     : ctx_.source + '\0' + std::to_string(r_.first_ns) + '\0' + std::to_string(r_.packets) + '\0' +
                           std::to_string(r_.bytes);
    logged_ms_ = ctx_.logged_ns != 0
                     ? millis(ctx_.logged_ns)
                     : std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  }

  EventCounts run() {
    const std::vector<std::size_t> destination_of = analysis::flow_destinations(r_);
    for (std::size_t i = 0; i < r_.flows.size() && !stopped_; ++i) {
      const FlowRow& f = r_.flows[i];
      if (ctx_.only_open_flows && f.end != analysis::flow::FlowEnd::kActive) continue;
      const analysis::DestinationRow* d =
          i < destination_of.size() && destination_of[i] < r_.destinations.size() ? &r_.destinations[destination_of[i]]
                                                                                   : nullptr;
      network_activity(f, d);
      const analysis::app::FlowDetails* details = f.app_details();
      if (details != nullptr && details->requests) {
        for (std::size_t k = 0; k < details->requests->list.size() && !stopped_; ++k) {
          http_activity(f, d, *details->requests, k);
        }
      }
    }
    for (std::size_t i = ctx_.dns_from; i < r_.dns.size() && !stopped_; ++i) {
      dns_activity(r_.dns[i], ctx_.dns_index_base + i);
    }
    if (outcome_ != nullptr && outcome_->evaluation != nullptr) {
      const auto& findings = outcome_->evaluation->findings;
      for (std::size_t i = 0; i < findings.size() && !stopped_; ++i) detection_finding(findings[i], i);
    }
    return counts_;
  }

 private:
  // ---- shared parts ----

  void begin(JsonWriter& w, int class_uid, int category_uid, int activity_id, std::string_view activity_name,
             std::string_view record, core::TimestampNs time_ns) {
    w.begin_object();
    w.field("class_uid", class_uid);
    w.field("category_uid", category_uid);
    w.field("activity_id", activity_id);
    if (!activity_name.empty()) w.field("activity_name", activity_name);
    w.field("type_uid", static_cast<std::int64_t>(class_uid) * 100 + activity_id);
    w.field("time", millis(time_ns));
    w.key("metadata");
    w.begin_object();
    w.field("version", kOcsfVersion);
    w.field("uid", event_uid(ctx_.sensor_id, audit_key_, class_uid, record));
    w.field("log_name", ctx_.source);
    w.field("logged_time", logged_ms_);
    if (!ctx_.labels.empty()) {
      w.key("labels");
      w.begin_array();
      for (const auto& l : ctx_.labels) w.value(l);
      w.end_array();
    }
    product(w);
    // The sensor that saw it: fleets ask "which sensor", and OCSF names the devices an event went
    // through in metadata.loggers.
    w.key("loggers");
    w.begin_array();
    w.begin_object();
    w.field("name", ctx_.sensor_id);
    w.end_object();
    w.end_array();
    w.end_object();
  }

  // unmapped.flowaudit: what OCSF 1.1 has no attribute for.
  static void begin_unmapped(JsonWriter& w) {
    w.key("unmapped");
    w.begin_object();
    w.key("flowaudit");
    w.begin_object();
  }
  static void end_unmapped(JsonWriter& w) {
    w.end_object();
    w.end_object();
  }

  static void product(JsonWriter& w) {
    w.key("product");
    w.begin_object();
    w.field("name", "flowaudit");
    w.field("vendor_name", "flowaudit");
    w.field("version", FLOWAUDIT_VERSION);
    w.end_object();
  }

  void end(JsonWriter& w, std::uint64_t& count) {
    w.end_object();
    w.flush();
    if (!stopped_ && emit_(line_)) {
      ++count;
    } else {
      stopped_ = true;
    }
    line_.clear();
  }

  static void endpoint(JsonWriter& w, std::string_view key, const core::IpAddress* ip, std::uint16_t port,
                       std::string_view hostname, const analysis::enrich::DestinationEnrichment* e) {
    w.key(key);
    w.begin_object();
    if (ip != nullptr) w.field("ip", ip->to_string());
    if (port != 0 || ip != nullptr) w.field("port", port);
    if (hostname_ok(hostname)) {
      w.field("hostname", hostname);
    } else if (!hostname.empty()) {
      w.field("name", hostname);
    }
    if (e != nullptr && (!e->geo.country.empty() || !e->geo.city.empty() || !e->geo.continent.empty())) {
      w.key("location");
      w.begin_object();
      if (!e->geo.country.empty()) w.field("country", e->geo.country);
      if (!e->geo.city.empty()) w.field("city", e->geo.city);
      if (!e->geo.continent.empty()) w.field("continent", e->geo.continent);
      w.end_object();
    }
    w.end_object();
  }

  // The service, its operator and their jurisdictions: as an OCSF enrichment of the destination's
  // name, which readers of OCSF know, and flat in unmapped.flowaudit for simple queries.
  static void service_enrichment(JsonWriter& w, const analysis::DestinationRow* d, std::string_view field) {
    if (d == nullptr || !d->enrichment || d->enrichment->service == nullptr) return;
    const auto& s = *d->enrichment->service;
    w.key("enrichments");
    w.begin_array();
    w.begin_object();
    w.field("name", field);
    w.field("value", d->hostname.empty() ? d->ip.to_string() : std::string(d->hostname));
    w.field("type", "service");
    w.field("provider", "flowaudit service catalog");
    w.key("data");
    w.begin_object();
    w.field("service_id", s.id);
    w.field("service", s.name);
    w.field("category", analysis::enrich::category_name(s.category));
    w.field("operator", s.operator_name);
    w.field("jurisdiction", s.jurisdiction);
    optional_string(w, "parent", s.parent);
    optional_string(w, "parent_jurisdiction", s.parent_jurisdiction);
    w.field("matched_by", d->enrichment->service_match);
    w.end_object();
    w.end_object();
    w.end_array();
  }

  static void service_fields(JsonWriter& w, const analysis::DestinationRow* d) {
    const auto* s = d != nullptr && d->enrichment ? d->enrichment->service.get() : nullptr;
    optional_string(w, "service_id", s != nullptr ? std::string_view(s->id) : std::string_view());
    optional_string(w, "operator", s != nullptr ? std::string_view(s->operator_name) : std::string_view());
    optional_string(w, "jurisdiction", s != nullptr ? std::string_view(s->jurisdiction) : std::string_view());
    optional_string(w, "parent_jurisdiction",
                     s != nullptr ? std::string_view(s->parent_jurisdiction) : std::string_view());
    const auto* geo = d != nullptr && d->enrichment ? &d->enrichment->geo : nullptr;
    optional_string(w, "country", geo != nullptr ? std::string_view(geo->country) : std::string_view());
    // OCSF 1.1's network_endpoint has no autonomous system.
    if (geo != nullptr && geo->asn != 0) w.field("asn", static_cast<std::uint64_t>(geo->asn));
    optional_string(w, "as_org", geo != nullptr ? std::string_view(geo->as_org) : std::string_view());
  }

  // The flow's two ends: the client as the source, the server (or, through a proxy, the server
  // asked for) as the destination, and the proxy itself as `proxy`.
  void flow_endpoints(JsonWriter& w, const FlowRow& f, const analysis::DestinationRow* d) {
    const analysis::app::FlowDetails* details = f.app_details();
    const auto* e = d != nullptr && d->enrichment ? &*d->enrichment : nullptr;
    endpoint(w, "src_endpoint", &f.key.addr[f.client], f.key.port[f.client], {}, nullptr);
    if (const auto via = analysis::app::proxy_target(f, details)) {
      endpoint(w, "dst_endpoint", via->ip ? &*via->ip : nullptr, via->port, via->host, e);
      endpoint(w, "proxy", &via->proxy_ip, via->proxy_port, {}, nullptr);
    } else {
      endpoint(w, "dst_endpoint", &f.key.addr[f.server()], f.key.port[f.server()], f.name.hostname, e);
    }
  }

  void connection_info(JsonWriter& w, const FlowRow& f) {
    w.key("connection_info");
    w.begin_object();
    w.field("protocol_num", static_cast<int>(f.key.protocol));
    w.field("protocol_name", transport_name(f.key.protocol));
    const bool v6 = f.key.addr[0].family() == core::IpAddress::Family::kV6;
    w.field("protocol_ver_id", v6 ? 6 : 4);
    // The client is the audited device: its connections are outbound. Only --client says which
    // side the device is for sure; otherwise the direction is the orientation's guess.
    const bool from_client = f.orientation == analysis::flow::Orientation::kClientCidr;
    w.field("direction_id", from_client ? 2 : 0);
    w.field("direction", from_client ? "Outbound" : "Unknown");
    w.end_object();
  }

  // ---- Network Activity (4001) ----

  void network_activity(const FlowRow& f, const analysis::DestinationRow* d) {
    using analysis::flow::FlowEnd;
    int activity = 6;  // Traffic: still open when the capture ended
    std::string_view activity_name = "Traffic";
    if (f.tcp == analysis::flow::TcpState::kReset) {
      activity = 3;
      activity_name = "Reset";
    } else if (f.end != FlowEnd::kActive) {
      activity = 2;
      activity_name = "Close";
    }
    JsonWriter& w = writer_;
    begin(w, kNetworkActivity, kNetworkCategory, activity, activity_name, "flow:" + std::to_string(f.id), f.last_seen);
    w.field("severity_id", kSeverityInformational);
    w.field("start_time", millis(f.first_seen()));
    w.field("end_time", millis(f.last_seen));
    w.field("status_detail", analysis::flow::to_string(f.end));
    flow_endpoints(w, f, d);
    connection_info(w, f);
    w.key("traffic");
    w.begin_object();
    w.field("bytes_out", f.out().bytes);
    w.field("bytes_in", f.in().bytes);
    w.field("packets_out", f.out().packets);
    w.field("packets_in", f.in().packets);
    w.field("bytes", f.out().bytes + f.in().bytes);
    w.field("packets", f.out().packets + f.in().packets);
    w.end_object();
    const analysis::app::FlowDetails* details = f.app_details();
    if (details != nullptr && details->tls != nullptr) tls(w, *details->tls);
    if (d != nullptr && d->enrichment && d->enrichment->service != nullptr) {
      w.field("app_name", d->enrichment->service->name);
    }
    service_enrichment(w, d, "dst_endpoint.hostname");
    begin_unmapped(w);
    w.field("flow_id", f.id);
    w.field("input", f.input);
    optional_string(w, "hostname", f.name.hostname);
    optional_string(w, "hostname_source", f.name.source);
    optional_string(w, "unnamed_reason", analysis::app::to_string(f.name.unnamed));
    optional_string(w, "app_protocol", details != nullptr ? analysis::app::to_string(details->app) : "");
    if (const int enc = analysis::app::encrypted(details); enc >= 0) w.field("encrypted", enc != 0);
    optional_string(w, "blind_spot", details != nullptr ? analysis::app::to_string(details->blind_spot) : "");
    optional_string(w, "blind_spot_reason", details != nullptr ? analysis::app::to_string(details->limit) : "");
    optional_string(w, "ja4", details != nullptr && details->tls ? details->tls->ja4 : std::string_view());
    optional_string(w, "quic_version",
                     details != nullptr && details->quic ? details->quic->version_name : std::string_view());
    if (details != nullptr && details->tls != nullptr &&
        (!details->tls->cert_subject.empty() || !details->tls->cert_issuer.empty())) {
      // OCSF's certificate needs a serial number and fingerprints, which flowaudit does not keep.
      w.field("certificate_subject", details->tls->cert_subject);
      w.field("certificate_issuer", details->tls->cert_issuer);
    }
    if (const auto it = r_.processes.find(f.id); it != r_.processes.end()) {
      w.field("process", it->second.name);
      w.field("pid", it->second.pid);
    }
    service_fields(w, d);
    end_unmapped(w);
    end(w, counts_.network);
  }

  static void tls(JsonWriter& w, const analysis::app::TlsDetails& t) {
    w.key("tls");
    w.begin_object();
    const std::uint16_t version = t.server_hello ? t.version : t.client_version;
    w.field("version", analysis::tls::version_name(version));
    if (t.has_sni) w.field("sni", t.sni);
    if (t.server_hello) w.field("cipher", analysis::tls::cipher_name(t.cipher));
    if (!t.ja3.empty()) {
      w.key("ja3_hash");
      w.begin_object();
      w.field("algorithm_id", 1);  // MD5
      w.field("algorithm", "MD5");
      w.field("value", t.ja3);
      w.end_object();
    }
    if (!t.ja3s.empty()) {
      w.key("ja3s_hash");
      w.begin_object();
      w.field("algorithm_id", 1);
      w.field("algorithm", "MD5");
      w.field("value", t.ja3s);
      w.end_object();
    }
    w.end_object();
  }

  // ---- HTTP Activity (4002) ----

  void http_activity(const FlowRow& f, const analysis::DestinationRow* d, const analysis::app::HttpExchanges& list,
                     std::size_t index) {
    const auto& e = list.list[index];
    // OCSF's HTTP activities are the methods; anything else is Other (99) with its name.
    static constexpr std::array<std::pair<std::string_view, int>, 8> kMethods{{{"CONNECT", 1},
                                                                                {"DELETE", 2},
                                                                                {"GET", 3},
                                                                                {"HEAD", 4},
                                                                                {"OPTIONS", 5},
                                                                                {"POST", 6},
                                                                                {"PUT", 7},
                                                                                {"TRACE", 8}}};
    int activity = 99;
    for (const auto& [name, id] : kMethods) {
      if (e.method == name) activity = id;
    }
    JsonWriter& w = writer_;
    begin(w, kHttpActivity, kNetworkCategory, activity, e.method.empty() ? "Other" : std::string_view(e.method),
          "flow:" + std::to_string(f.id) + ":request:" + std::to_string(index), f.first_seen());
    w.field("severity_id", kSeverityInformational);
    flow_endpoints(w, f, d);
    connection_info(w, f);
    const std::string path = core::redact_target(e.path, ctx_.redact);
    w.key("http_request");
    w.begin_object();
    if (activity != 99) w.field("http_method", e.method);  // OCSF 1.1 enumerates the eight methods only
    w.key("url");
    w.begin_object();
    if (hostname_ok(e.authority)) w.field("hostname", e.authority);
    w.field("path", path);
    w.field("scheme", list.scheme);
    w.field("url_string", std::string(list.scheme) + "://" + e.authority + path);
    w.end_object();
    if (e.request_body_bytes <= kMaxInteger) w.field("length", e.request_body_bytes);
    w.end_object();
    // Required by the class: code 0 when no response was seen.
    w.key("http_response");
    w.begin_object();
    w.field("code", static_cast<int>(e.status));
    if (!e.response_content_type.empty()) w.field("content_type", e.response_content_type);
    if (e.status != 0 && e.response_body_bytes <= kMaxInteger) w.field("length", e.response_body_bytes);
    w.end_object();
    service_enrichment(w, d, "http_request.url.hostname");
    begin_unmapped(w);
    w.field("flow_id", f.id);
    w.field("request", static_cast<std::uint64_t>(index));
    w.field("method", e.method);
    optional_string(w, "authority", e.authority);
    w.field("request_body_bytes", e.request_body_bytes);
    w.field("response_body_bytes", e.response_body_bytes);
    w.field("response_seen", e.status != 0);
    optional_string(w, "request_content_type", e.request_content_type);
    optional_string(w, "chat_service", e.chat_service);
    w.field("prompt_bytes", e.prompt_bytes);
    // What left in the request: values masked unless --no-redact, as in the report.
    write_inspect_findings(w, "data_found", e.findings);
    service_fields(w, d);
    end_unmapped(w);
    end(w, counts_.http);
  }

  // ---- DNS Activity (4003) ----

  void dns_activity(const analysis::app::DnsRecord& q, std::size_t index) {
    // Query (1) when no response was seen, Response (2) when one was.
    const bool answered = q.rcode.has_value();
    JsonWriter& w = writer_;
    begin(w, kDnsActivity, kNetworkCategory, answered ? 2 : 1, answered ? "Response" : "Query",
          "dns:" + std::to_string(index), q.ts_ns);
    w.field("severity_id", kSeverityInformational);
    w.key("src_endpoint");
    w.begin_object();
    w.field("ip", q.client.to_string());
    w.field("port", q.client_port);
    w.end_object();
    w.key("dst_endpoint");
    w.begin_object();
    w.field("ip", q.server.to_string());
    w.field("port", q.server_port);
    w.end_object();
    w.key("query");
    w.begin_object();
    w.field("hostname", hostname_for_ocsf(q.query.empty() ? std::string_view("_") : std::string_view(q.query)));
    if (!q.qtype.empty()) w.field("type", q.qtype);
    w.field("class", "IN");
    w.end_object();
    if (answered) {
      w.field("rcode", *q.rcode);
      w.key("answers");
      w.begin_array();
      for (const auto& a : q.answers) {
        w.begin_object();
        w.field("rdata", a);
        w.end_object();
      }
      w.end_array();
    }
    w.key("connection_info");
    w.begin_object();
    const bool tcp = q.transport == "tcp";
    w.field("protocol_num", tcp ? 6 : 17);
    w.field("protocol_name", q.transport);
    w.field("direction_id", 0);
    w.end_object();
    begin_unmapped(w);
    w.field("flow_id", q.flow_id);
    optional_string(w, "query", q.query);  // as read: query.hostname may have had to be made a hostname
    if (!q.local.empty()) w.field("local", q.local);
    if (!q.name_error.empty()) w.field("name_error", q.name_error);
    w.field("ech", q.ech);
    end_unmapped(w);
    end(w, counts_.dns);
  }

  // ---- Detection Finding (2004) ----

  void detection_finding(const rules::eval::Finding& f, std::size_t index) {
    const rules::Rule& rule = *f.rule;
    // OCSF severity_id: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical.
    const int severity = static_cast<int>(rule.severity) + 1;
    const core::TimestampNs when = f.evidence.last_seen != 0 ? f.evidence.last_seen : r_.last_ns;
    JsonWriter& w = writer_;
    const analysis::DestinationRow* d =
        f.destination && *f.destination < r_.destinations.size() ? &r_.destinations[*f.destination] : nullptr;
    const std::string record = "finding:" + rule.id + ":" + std::to_string(index) + ":" +
                               (d != nullptr ? d->ip.to_string() + ":" + std::string(d->hostname) : "") + ":" +
                               f.evidence.dns_query;
    begin(w, kDetectionFinding, kFindingsCategory, 1, "Create", record, when);
    w.field("severity_id", severity);
    w.field("severity", rules::severity_name(rule.severity));
    w.field("message", f.message);
    w.field("status_id", f.waiver != nullptr ? 3 : 1);  // New, or Suppressed by a waiver
    w.key("finding_info");
    w.begin_object();
    w.field("uid", event_uid(ctx_.sensor_id, audit_key_, kDetectionFinding, "info:" + record));
    w.field("title", rule.title);
    if (!rule.description.empty()) w.field("desc", rule.description);
    w.key("types");
    w.begin_array();
    w.value(rule.pack);
    w.end_array();
    if (f.evidence.first_seen != 0) w.field("first_seen_time", millis(f.evidence.first_seen));
    if (f.evidence.last_seen != 0) w.field("last_seen_time", millis(f.evidence.last_seen));
    if (!rule.references.empty()) w.field("src_url", rule.references.front().url);
    w.key("analytic");
    w.begin_object();
    w.field("name", rule.id);
    w.field("uid", rule.id);
    w.field("type_id", 1);  // Rule
    w.field("type", "Rule");
    w.end_object();
    w.end_object();
    if (d != nullptr) {
      w.key("evidences");
      w.begin_array();
      w.begin_object();
      endpoint(w, "dst_endpoint", d->address_known ? &d->ip : nullptr, d->port, d->hostname,
               d->enrichment ? &*d->enrichment : nullptr);
      if (!f.evidence.dns_query.empty()) {
        w.key("query");
        w.begin_object();
        w.field("hostname", f.evidence.dns_query);
        w.end_object();
      }
      w.end_object();
      w.end_array();
    }
    begin_unmapped(w);
    w.field("rule", rule.id);
    w.field("pack", rule.pack);
    w.field("scope", rules::lang::scope_name(rule.scope));
    w.field("flows", f.evidence.flows);
    w.key("flow_ids");
    w.begin_array();
    for (const auto id : f.evidence.flow_ids) w.value(id);
    w.end_array();
    w.field("bytes_out", f.evidence.bytes_out);
    w.field("bytes_in", f.evidence.bytes_in);
    w.key("references");
    w.begin_array();
    for (const auto& ref : rule.references) w.value(ref.url);
    w.end_array();
    if (f.waiver != nullptr) w.field("waiver", f.waiver->reason);
    service_fields(w, d);
    end_unmapped(w);
    end(w, counts_.findings);
  }

  const AuditResult& r_;
  const PolicyOutcome* outcome_;
  const EventContext& ctx_;
  const EventEmit& emit_;
  std::string audit_key_;
  std::int64_t logged_ms_ = 0;
  EventCounts counts_;
  bool stopped_ = false;
  // One writer and one line for every event: their buffers are allocated once, not per event.
  std::string line_;
  Output out_{line_};
  JsonWriter writer_{out_, false};
};

}  // namespace

std::string label_error(std::string_view label) {
  const auto eq = label.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq > 64) return "a label is KEY=VALUE (a key of 1 to 64 bytes)";
  for (const char c : label.substr(0, eq)) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
          c == '.')) {
      return "a label's key is letters, digits, '_', '-' and '.'";
    }
  }
  const std::string_view value = label.substr(eq + 1);
  if (value.empty() || value.size() > 256) return "a label's value is 1 to 256 bytes";
  for (const char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return "a label's value has no control characters";
  }
  return {};
}

std::string source_of(const AuditResult& r) {
  if (r.run) return "run:" + (r.run->command.empty() ? std::string() : r.run->command.front());
  if (r.live) return "interface:" + r.live->interface;
  std::string out = "file:";
  for (std::size_t i = 0; i < r.inputs.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += r.inputs[i].path;
  }
  return out;
}

EventCounts write_ocsf_events(const ReportInput& input, const EventContext& context, const EventEmit& emit) {
  return Emitter(input, context, emit).run();
}

}  // namespace flowaudit::report::events
