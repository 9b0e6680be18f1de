#include "report/events/ocsf.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "analysis/app/naming.h"
#include "analysis/app/tls/client_hello.h"
#include "core/redact.h"
#include "report/events/event_writer.h"
#include "report/json_report.h"
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
void optional_string(EventWriter& w, Key key, std::string_view value) {
  if (!value.empty()) w.field(key, value);
}

// integer_t is 32 bits; larger counts go to unmapped.
constexpr std::uint64_t kMaxInteger = 0x7FFFFFFF;

// A deterministic event id: SHA-256 of the sensor, the audit and the record, as a UUID (version 8,
// RFC 9562's custom layout). The same record of the same audit on the same sensor gets the same id:
// SHA-256("<sensor>\0<audit>\0<class_uid>\0<record>").
//
// The part before the record is the same for every event of a class: it is hashed once per class
// and the state copied for each event, so an event hashes only its record (usually one block
// instead of two or three). Each rendering thread has its own (OpenSSL's contexts are not shared).
class EventIds {
 public:
  EventIds(std::string_view sensor, std::string_view audit) : sensor_(sensor), audit_(audit) {}
  ~EventIds() {
    for (auto& c : prefix_) EVP_MD_CTX_free(c.ctx);
    EVP_MD_CTX_free(work_);
  }
  EventIds(const EventIds&) = delete;
  EventIds& operator=(const EventIds&) = delete;

  // The id, written as 36 characters into `out`.
  void uid(int class_uid, std::string_view record, std::array<char, 36>& out) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    EVP_MD_CTX* prefix = prefix_of(class_uid);
    if (prefix == nullptr || work_ == nullptr || EVP_MD_CTX_copy_ex(work_, prefix) != 1 ||
        EVP_DigestUpdate(work_, record.data(), record.size()) != 1 || EVP_DigestFinal_ex(work_, md.data(), &len) != 1) {
      // The provider failed (no memory): the one-shot digest of the whole text, as it always was.
      std::string text = prefix_text(class_uid);
      text.append(record);
      EVP_Digest(text.data(), text.size(), md.data(), &len, EVP_sha256(), nullptr);
    }
    md[6] = static_cast<unsigned char>((md[6] & 0x0F) | 0x80);
    md[8] = static_cast<unsigned char>((md[8] & 0x3F) | 0x80);
    static constexpr char kHex[] = "0123456789abcdef";
    std::size_t n = 0;
    for (int i = 0; i < 16; ++i) {
      if (i == 4 || i == 6 || i == 8 || i == 10) out[n++] = '-';
      out[n++] = kHex[md[static_cast<std::size_t>(i)] >> 4];
      out[n++] = kHex[md[static_cast<std::size_t>(i)] & 0x0F];
    }
  }

 private:
  std::string prefix_text(int class_uid) const {
    std::string text;
    text.reserve(sensor_.size() + audit_.size() + 8);
    text.append(sensor_).push_back('\0');
    text.append(audit_).push_back('\0');
    text.append(std::to_string(class_uid)).push_back('\0');
    return text;
  }
  EVP_MD_CTX* prefix_of(int class_uid) {
    for (auto& c : prefix_) {
      if (c.class_uid == class_uid) return c.ctx;
    }
    // Fetched once: with OpenSSL 3, EVP_sha256() makes a digest look the algorithm up in the
    // providers again (a lock and a search each time).
    static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (work_ == nullptr) work_ = EVP_MD_CTX_new();
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const std::string text = prefix_text(class_uid);
    if (ctx == nullptr || EVP_DigestInit_ex(ctx, sha256 != nullptr ? sha256 : EVP_sha256(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx, text.data(), text.size()) != 1) {
      EVP_MD_CTX_free(ctx);
      return nullptr;
    }
    prefix_.push_back({class_uid, ctx});
    return ctx;
  }

  struct Prefix {
    int class_uid;
    EVP_MD_CTX* ctx;
  };
  std::string_view sensor_;
  std::string_view audit_;
  std::vector<Prefix> prefix_;  // one per class seen: four at most
  EVP_MD_CTX* work_ = nullptr;
};

// What every event of one audit shares, computed once and read by every rendering thread.
struct Shared {
  Shared(const ReportInput& input, const EventContext& context)
      : r(input.result), outcome(input.outcome), ctx(context), destination_of(analysis::flow_destinations(r)) {
    audit_key = !ctx.audit_key.empty()
                    ? ctx.audit_key
                    : ctx.source + '\0' + std::to_string(r.first_ns) + '\0' + std::to_string(r.packets) + '\0' +
                          std::to_string(r.bytes);
    const std::int64_t logged_ms = ctx.logged_ns != 0 ? millis(ctx.logged_ns)
                                                      : std::chrono::duration_cast<std::chrono::milliseconds>(
                                                            std::chrono::system_clock::now().time_since_epoch())
                                                            .count();
    // metadata after its uid: the same in every event, rendered once.
    core::TextBuffer tail;
    EventWriter w(tail);
    w.field("log_name", ctx.source);
    w.field("logged_time", logged_ms);
    if (!ctx.labels.empty()) {
      w.key("labels");
      w.begin_array();
      for (const auto& l : ctx.labels) w.value(l);
      w.end_array();
    }
    w.key("product");
    w.begin_object();
    w.field("name", "flowaudit");
    w.field("vendor_name", "flowaudit");
    w.field("version", FLOWAUDIT_VERSION);
    w.end_object();
    // The sensor that saw it: fleets ask "which sensor", and OCSF names the devices an event went
    // through in metadata.loggers.
    w.key("loggers");
    w.begin_array();
    w.begin_object();
    w.field("name", ctx.sensor_id);
    w.end_object();
    w.end_array();
    metadata_tail = tail.view();
    flows = r.flows.size();
    dns = ctx.dns_from < r.dns.size() ? r.dns.size() - ctx.dns_from : 0;
    findings = outcome != nullptr && outcome->evaluation != nullptr ? outcome->evaluation->findings.size() : 0;
    batch_records = std::max<std::size_t>(ctx.batch_records, 1);
  }

  // The records events are made of, in order: flows (each with its requests), DNS messages, findings.
  [[nodiscard]] std::size_t records() const noexcept { return flows + dns + findings; }

  const AuditResult& r;
  const PolicyOutcome* outcome;
  const EventContext& ctx;
  const std::vector<std::size_t> destination_of;
  std::string audit_key;
  std::string metadata_tail;  // "log_name":...,"loggers":[...]
  std::size_t flows = 0;
  std::size_t dns = 0;
  std::size_t findings = 0;
  std::size_t batch_records = 1;
};

// Events rendered, one after another in `text`; ends[i] is where event i ends, kinds[i] its class.
struct Batch {
  enum Kind : std::uint8_t { kNetwork, kDns, kHttp, kFinding };
  core::TextBuffer text;
  std::vector<std::size_t> ends;
  std::vector<Kind> kinds;
  void clear() {
    text.clear();
    ends.clear();
    kinds.clear();
  }
};

// Renders records into a batch; one per thread.
class Renderer {
 public:
  explicit Renderer(const Shared& shared)
      : s_(shared), r_(shared.r), ctx_(shared.ctx), ids_(shared.ctx.sensor_id, shared.audit_key) {}

  // Records [first, last) of Shared::records() order.
  void render(Batch& batch, std::size_t first, std::size_t last) {
    batch_ = &batch;
    for (std::size_t i = first; i < last; ++i) {
      if (i < s_.flows) {
        flow(i);
      } else if (i < s_.flows + s_.dns) {
        const std::size_t k = ctx_.dns_from + (i - s_.flows);
        dns_activity(r_.dns[k], ctx_.dns_index_base + k);
      } else {
        const std::size_t k = i - s_.flows - s_.dns;
        detection_finding(s_.outcome->evaluation->findings[k], k);
      }
    }
    batch_ = nullptr;
  }

 private:
  void flow(std::size_t i) {
    const FlowRow& f = r_.flows[i];
    if (ctx_.only_open_flows && f.end != analysis::flow::FlowEnd::kActive) return;
    const analysis::DestinationRow* d = i < s_.destination_of.size() && s_.destination_of[i] < r_.destinations.size()
                                            ? &r_.destinations[s_.destination_of[i]]
                                            : nullptr;
    network_activity(f, d);
    const analysis::app::FlowDetails* details = f.app_details();
    if (details != nullptr && details->requests) {
      for (std::size_t k = 0; k < details->requests->list.size(); ++k) http_activity(f, d, *details->requests, k);
    }
  }

  // ---- shared parts ----

  // The record's name in the event id: "<a><number>[<b><number>]".
  std::string_view record_name(std::string_view a, std::uint64_t n, std::string_view b = {}, std::uint64_t m = 0) {
    record_.assign(a);
    append_number(record_, n);
    if (!b.empty()) {
      record_.append(b);
      append_number(record_, m);
    }
    return record_;
  }
  static void append_number(std::string& out, std::uint64_t n) {
    char text[24];
    out.append(text, static_cast<std::size_t>(std::to_chars(text, text + sizeof text, n).ptr - text));
  }

  void begin(EventWriter& w, int class_uid, int category_uid, int activity_id, std::string_view activity_name,
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
    std::array<char, 36> uid{};
    ids_.uid(class_uid, record, uid);
    w.field("uid", std::string_view(uid.data(), uid.size()));
    w.raw_members(s_.metadata_tail);
    w.end_object();
  }

  void end(EventWriter& w, Batch::Kind kind) {
    w.end_object();
    batch_->ends.push_back(batch_->text.size());
    batch_->kinds.push_back(kind);
  }

  // unmapped.flowaudit: what OCSF 1.1 has no attribute for.
  static void begin_unmapped(EventWriter& w) {
    w.key("unmapped");
    w.begin_object();
    w.key("flowaudit");
    w.begin_object();
  }
  static void end_unmapped(EventWriter& w) {
    w.end_object();
    w.end_object();
  }

  static void endpoint(EventWriter& w, Key key, const core::IpAddress* ip, std::uint16_t port,
                       std::string_view hostname, const analysis::enrich::DestinationEnrichment* e) {
    w.key(key);
    w.begin_object();
    if (ip != nullptr) w.field("ip", *ip);
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
  static void service_enrichment(EventWriter& w, const analysis::DestinationRow* d, std::string_view field) {
    if (d == nullptr || !d->enrichment || d->enrichment->service == nullptr) return;
    const auto& s = *d->enrichment->service;
    w.key("enrichments");
    w.begin_array();
    w.begin_object();
    w.field("name", field);
    if (d->hostname.empty()) {
      w.field("value", d->ip);
    } else {
      w.field("value", std::string_view(d->hostname));
    }
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

  static void service_fields(EventWriter& w, const analysis::DestinationRow* d) {
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
  static void flow_endpoints(EventWriter& w, const FlowRow& f, const analysis::DestinationRow* d) {
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

  static void connection_info(EventWriter& w, const FlowRow& f) {
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
    EventWriter w(batch_->text);
    begin(w, kNetworkActivity, kNetworkCategory, activity, activity_name, record_name("flow:", f.id), f.last_seen);
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
    end(w, Batch::kNetwork);
  }

  static void tls(EventWriter& w, const analysis::app::TlsDetails& t) {
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
    EventWriter w(batch_->text);
    begin(w, kHttpActivity, kNetworkCategory, activity, e.method.empty() ? "Other" : std::string_view(e.method),
          record_name("flow:", f.id, ":request:", index), f.first_seen());
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
    w.key("url_string");
    w.concat(list.scheme, "://", e.authority, path);
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
    w.key("data_found");
    write_inspect_findings(w, e.findings);
    service_fields(w, d);
    end_unmapped(w);
    end(w, Batch::kHttp);
  }

  // ---- DNS Activity (4003) ----

  void dns_activity(const analysis::app::DnsRecord& q, std::size_t index) {
    // Query (1) when no response was seen, Response (2) when one was.
    const bool answered = q.rcode.has_value();
    EventWriter w(batch_->text);
    begin(w, kDnsActivity, kNetworkCategory, answered ? 2 : 1, answered ? "Response" : "Query",
          record_name("dns:", index), q.ts_ns);
    w.field("severity_id", kSeverityInformational);
    w.key("src_endpoint");
    w.begin_object();
    w.field("ip", q.client);
    w.field("port", q.client_port);
    w.end_object();
    w.key("dst_endpoint");
    w.begin_object();
    w.field("ip", q.server);
    w.field("port", q.server_port);
    w.end_object();
    w.key("query");
    w.begin_object();
    if (hostname_ok(q.query)) {
      w.field("hostname", std::string_view(q.query));  // the usual case, without a copy
    } else {
      w.field("hostname", hostname_for_ocsf(q.query.empty() ? std::string_view("_") : std::string_view(q.query)));
    }
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
    end(w, Batch::kDns);
  }

  // ---- Detection Finding (2004) ----

  void detection_finding(const rules::eval::Finding& f, std::size_t index) {
    const rules::Rule& rule = *f.rule;
    // OCSF severity_id: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical.
    const int severity = static_cast<int>(rule.severity) + 1;
    const core::TimestampNs when = f.evidence.last_seen != 0 ? f.evidence.last_seen : r_.last_ns;
    const analysis::DestinationRow* d =
        f.destination && *f.destination < r_.destinations.size() ? &r_.destinations[*f.destination] : nullptr;
    const std::string record = "finding:" + rule.id + ":" + std::to_string(index) + ":" +
                               (d != nullptr ? d->ip.to_string() + ":" + std::string(d->hostname) : "") + ":" +
                               f.evidence.dns_query;
    EventWriter w(batch_->text);
    begin(w, kDetectionFinding, kFindingsCategory, 1, "Create", record, when);
    w.field("severity_id", severity);
    w.field("severity", rules::severity_name(rule.severity));
    w.field("message", f.message);
    w.field("status_id", f.waiver != nullptr ? 3 : 1);  // New, or Suppressed by a waiver
    w.key("finding_info");
    w.begin_object();
    std::array<char, 36> info_uid{};
    ids_.uid(kDetectionFinding, "info:" + record, info_uid);
    w.field("uid", std::string_view(info_uid.data(), info_uid.size()));
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
    end(w, Batch::kFinding);
  }


  const Shared& s_;
  const AuditResult& r_;
  const EventContext& ctx_;
  EventIds ids_;
  Batch* batch_ = nullptr;
  std::string record_;  // the record's name, reused
};

// Hands a batch's events to `emit` in order and counts them; false when `emit` said stop.
bool deliver(const Batch& batch, const EventEmit& emit, EventCounts& counts) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < batch.ends.size(); ++i) {
    if (!emit(batch.text.view().substr(start, batch.ends[i] - start))) return false;
    start = batch.ends[i];
    switch (batch.kinds[i]) {
      case Batch::kNetwork: ++counts.network; break;
      case Batch::kDns: ++counts.dns; break;
      case Batch::kHttp: ++counts.http; break;
      case Batch::kFinding: ++counts.findings; break;
    }
  }
  return true;
}

EventCounts render_serial(const Shared& shared, const EventEmit& emit) {
  EventCounts counts;
  Renderer renderer(shared);
  Batch batch;
  const std::size_t records = shared.records();
  const std::size_t per = shared.batch_records;
  for (std::size_t first = 0; first < records; first += per) {
    batch.clear();
    renderer.render(batch, first, std::min(records, first + per));
    if (!deliver(batch, emit, counts)) break;
  }
  return counts;
}

// Batches rendered by `threads` threads (the caller one of them), handed to `emit` in order by the
// caller: the same events in the same order as one thread makes. At most 2 x threads batches are
// rendered and not yet handed on, so memory stays a few MiB however many events there are.
EventCounts render_parallel(const Shared& shared, const EventEmit& emit, std::size_t threads) {
  const std::size_t records = shared.records();
  const std::size_t per = shared.batch_records;
  const std::size_t batches = (records + per - 1) / per;
  const std::size_t window = 2 * threads;
  constexpr std::size_t kEmpty = SIZE_MAX;
  std::vector<Batch> slots(window);
  std::vector<std::size_t> holds(window, kEmpty);  // which batch a slot holds, once rendered
  std::mutex lock;
  std::condition_variable changed;
  std::size_t next = 0;       // the next batch to render
  std::size_t delivered = 0;  // batches handed on
  bool stop = false;

  // Claims the next batch if its slot is free; the lock is held on entry and on return.
  const auto render_one = [&](Renderer& renderer, std::unique_lock<std::mutex>& held) {
    const std::size_t b = next++;
    Batch& slot = slots[b % window];
    held.unlock();
    slot.clear();
    renderer.render(slot, b * per, std::min(records, (b + 1) * per));
    held.lock();
    holds[b % window] = b;
    changed.notify_all();
  };
  const auto can_claim = [&] { return !stop && next < batches && next < delivered + window; };

  std::vector<std::thread> helpers;
  helpers.reserve(threads - 1);
  for (std::size_t t = 1; t < threads; ++t) {
    helpers.emplace_back([&] {
      Renderer renderer(shared);
      std::unique_lock<std::mutex> held(lock);
      for (;;) {
        changed.wait(held, [&] { return stop || next >= batches || can_claim(); });
        if (stop || next >= batches) return;
        render_one(renderer, held);
      }
    });
  }

  EventCounts counts;
  Renderer renderer(shared);
  for (std::size_t b = 0; b < batches; ++b) {
    std::unique_lock<std::mutex> held(lock);
    while (holds[b % window] != b) {
      if (can_claim()) {
        render_one(renderer, held);  // rather than wait, the caller renders too
      } else {
        changed.wait(held);
      }
    }
    held.unlock();
    const bool more = deliver(slots[b % window], emit, counts);
    held.lock();
    holds[b % window] = kEmpty;
    delivered = b + 1;
    if (!more) stop = true;
    changed.notify_all();
    if (!more) break;
  }
  {
    const std::lock_guard<std::mutex> held(lock);
    stop = true;
    changed.notify_all();  // under the lock, as everywhere here (helgrind flags it otherwise)
  }
  for (auto& t : helpers) t.join();
  return counts;
}

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
  const Shared shared(input, context);
  const std::size_t batches = (shared.records() + shared.batch_records - 1) / shared.batch_records;
  // Threads only pay when each has a few batches.
  const std::size_t threads = std::min(context.threads, batches / 4);
  return threads > 1 ? render_parallel(shared, emit, threads) : render_serial(shared, emit);
}

}  // namespace flowaudit::report::events
