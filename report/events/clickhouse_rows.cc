#include "report/events/clickhouse_rows.h"

#include <boost/json.hpp>

#include <array>
#include <cstdint>
#include <limits>

#include "report/json_writer.h"

namespace flowaudit::report::events {
namespace {

namespace json = boost::json;

constexpr int kMaxDepth = 16;            // flowaudit's events nest 5 deep
constexpr std::size_t kMaxArray = 4096;  // flow ids of a finding, DNS answers, data found
// DateTime holds seconds up to 2106-02-07; OCSF times are milliseconds.
constexpr std::uint64_t kMaxTimeMs = std::uint64_t{std::numeric_limits<std::uint32_t>::max()} * 1000;

bool uuid_ok(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

// Reads one event's values by path; the first value of a wrong type is remembered as the error.
class Reader {
 public:
  explicit Reader(const json::object& root) : root_(root) {}

  [[nodiscard]] const json::value* find(std::initializer_list<std::string_view> path) const {
    const json::object* o = &root_;
    const json::value* v = nullptr;
    for (const auto key : path) {
      if (o == nullptr) return nullptr;
      const auto it = o->find(json::string_view(key.data(), key.size()));
      if (it == o->end()) return nullptr;
      v = &it->value();
      o = v->if_object();
    }
    return v;
  }

  std::string_view str(std::initializer_list<std::string_view> path) {
    const json::value* v = find(path);
    if (v == nullptr || v->is_null()) return {};
    if (const auto* s = v->if_string()) return {s->data(), s->size()};
    wrong(path, "a string");
    return {};
  }

  std::uint64_t num(std::initializer_list<std::string_view> path, std::uint64_t max) {
    const json::value* v = find(path);
    if (v == nullptr || v->is_null()) return 0;
    std::uint64_t n = 0;
    if (const auto* u = v->if_uint64()) {
      n = *u;
    } else if (const auto* i = v->if_int64(); i != nullptr && *i >= 0) {
      n = static_cast<std::uint64_t>(*i);
    } else {
      wrong(path, "a count");
      return 0;
    }
    if (n > max) {
      wrong(path, "at most " + std::to_string(max));
      return 0;
    }
    return n;
  }

  // A boolean as 0/1; -1 when absent.
  int flag(std::initializer_list<std::string_view> path) {
    const json::value* v = find(path);
    if (v == nullptr || v->is_null()) return -1;
    if (const auto* b = v->if_bool()) return *b ? 1 : 0;
    wrong(path, "true or false");
    return -1;
  }

  const json::array* array(std::initializer_list<std::string_view> path) {
    const json::value* v = find(path);
    if (v == nullptr || v->is_null()) return nullptr;
    const auto* a = v->if_array();
    if (a == nullptr) {
      wrong(path, "an array");
      return nullptr;
    }
    if (a->size() > kMaxArray) {
      wrong(path, "at most " + std::to_string(kMaxArray) + " items");
      return nullptr;
    }
    return a;
  }

  void wrong(std::initializer_list<std::string_view> path, const std::string& want) {
    if (!error_.empty()) return;
    std::string p;
    for (const auto k : path) {
      if (!p.empty()) p.push_back('.');
      p.append(k);
    }
    error_ = p + " is not " + want;
  }

  [[nodiscard]] const std::string& error() const noexcept { return error_; }

 private:
  const json::object& root_;
  std::string error_;
};

// The row of one event: columns in the order of docs/clickhouse/schema.sql.
class RowWriter {
 public:
  RowWriter(std::string& rows, Reader& in) : out_(rows), w_(out_, false), in_(in) { w_.begin_object(); }

  void finish() {
    w_.end_object();
    w_.flush();
    out_.write("\n");
  }

  void str(std::string_view column, std::initializer_list<std::string_view> path) { w_.field(column, in_.str(path)); }
  void text(std::string_view column, std::string_view value) { w_.field(column, value); }
  void num(std::string_view column, std::initializer_list<std::string_view> path, std::uint64_t max) {
    w_.field(column, in_.num(path, max));
  }
  void value(std::string_view column, std::uint64_t v) { w_.field(column, v); }
  // A DateTime column from OCSF milliseconds: seconds.
  void time(std::string_view column, std::initializer_list<std::string_view> path) {
    w_.field(column, in_.num(path, kMaxTimeMs) / 1000);
  }
  // Array(String) of the strings of an array (of objects: their `member`).
  void strings(std::string_view column, std::initializer_list<std::string_view> path, std::string_view member = {}) {
    w_.key(column);
    w_.begin_array();
    if (const json::array* a = in_.array(path)) {
      for (const auto& item : *a) {
        const json::value* v = &item;
        if (!member.empty()) {
          const auto* o = item.if_object();
          v = o != nullptr ? o->if_contains(json::string_view(member.data(), member.size())) : nullptr;
        }
        if (v == nullptr || v->is_null()) {
          w_.value(std::string_view());
        } else if (const auto* s = v->if_string()) {
          w_.value(std::string_view(s->data(), s->size()));
        } else {
          in_.wrong(path, "an array of strings");
        }
      }
    }
    w_.end_array();
  }
  void numbers(std::string_view column, std::initializer_list<std::string_view> path) {
    w_.key(column);
    w_.begin_array();
    if (const json::array* a = in_.array(path)) {
      for (const auto& item : *a) {
        if (const auto* u = item.if_uint64()) {
          w_.value(*u);
        } else if (const auto* i = item.if_int64(); i != nullptr && *i >= 0) {
          w_.value(static_cast<std::uint64_t>(*i));
        } else {
          in_.wrong(path, "an array of counts");
        }
      }
    }
    w_.end_array();
  }

 private:
  Output out_;
  JsonWriter w_;
  Reader& in_;
};

constexpr std::uint64_t kPortMax = 65535;
constexpr std::uint64_t kU32 = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t kU64 = std::numeric_limits<std::uint64_t>::max();

// metadata.labels "KEY=VALUE": the value of KEY, or "".
std::string_view label(const json::array* labels, std::string_view key) {
  if (labels == nullptr) return {};
  for (const auto& l : *labels) {
    const auto* s = l.if_string();
    if (s == nullptr) continue;
    const std::string_view v(s->data(), s->size());
    if (v.size() > key.size() && v.starts_with(key) && v[key.size()] == '=') return v.substr(key.size() + 1);
  }
  return {};
}

// Members read leniently, "" or 0 when missing or of another type: the first items of arrays
// (loggers, evidences), which Reader's paths do not index, and optional in flowaudit's events.
const json::value* member(const json::value* object, std::string_view key) {
  const auto* o = object != nullptr ? object->if_object() : nullptr;
  return o != nullptr ? o->if_contains(json::string_view(key.data(), key.size())) : nullptr;
}

std::string_view string_member(const json::value* object, std::string_view key) {
  const auto* v = member(object, key);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string().data(), v->get_string().size())
                                        : std::string_view();
}

std::uint64_t port_member(const json::value* object, std::string_view key) {
  const auto* v = member(object, key);
  if (v != nullptr && v->is_uint64() && v->get_uint64() <= kPortMax) return v->get_uint64();
  if (v != nullptr && v->is_int64() && v->get_int64() >= 0 && v->get_int64() <= static_cast<std::int64_t>(kPortMax)) {
    return static_cast<std::uint64_t>(v->get_int64());
  }
  return 0;
}

// An endpoint's name: its hostname, else the name that was not one.
std::string_view endpoint_name(const json::value* endpoint) {
  const std::string_view hostname = string_member(endpoint, "hostname");
  return hostname.empty() ? string_member(endpoint, "name") : hostname;
}

void common(RowWriter& row, Reader& in, std::string_view uid) {
  row.text("event_id", uid);
  row.time("time", {"time"});
  row.time("logged", {"metadata", "logged_time"});
  // The sensor: the first logger's name.
  const json::array* loggers = in.array({"metadata", "loggers"});
  const std::string_view sensor_name =
      string_member(loggers != nullptr && !loggers->empty() ? &loggers->front() : nullptr, "name");
  row.text("sensor", sensor_name);
  const json::array* labels = in.array({"metadata", "labels"});
  const std::string_view device = label(labels, "device");
  row.text("device", device.empty() ? sensor_name : device);
  row.text("app", label(labels, "app"));
  row.text("app_version", label(labels, "app_version"));
  row.strings("labels", {"metadata", "labels"});
  row.str("source", {"metadata", "log_name"});
  row.str("flowaudit_version", {"metadata", "product", "version"});
  row.str("activity", {"activity_name"});
  row.num("severity_id", {"severity_id"}, 99);
}

void endpoints(RowWriter& row) {
  row.str("src_ip", {"src_endpoint", "ip"});
  row.num("src_port", {"src_endpoint", "port"}, kPortMax);
  row.str("dst_ip", {"dst_endpoint", "ip"});
  row.num("dst_port", {"dst_endpoint", "port"}, kPortMax);
}

// What the catalog and the geo databases said about the destination.
void service_columns(RowWriter& row) {
  row.str("service_id", {"unmapped", "flowaudit", "service_id"});
  row.str("operator", {"unmapped", "flowaudit", "operator"});
  row.str("jurisdiction", {"unmapped", "flowaudit", "jurisdiction"});
  row.str("parent_jurisdiction", {"unmapped", "flowaudit", "parent_jurisdiction"});
  row.str("country", {"unmapped", "flowaudit", "country"});
  row.num("asn", {"unmapped", "flowaudit", "asn"}, kU32);
  row.str("as_org", {"unmapped", "flowaudit", "as_org"});
}

// The destination's name and what the catalog and the geo databases said about it.
void destination(RowWriter& row, Reader& in) {
  row.text("dst_name", endpoint_name(in.find({"dst_endpoint"})));
  service_columns(row);
}

void network(RowWriter& row, Reader& in) {
  endpoints(row);
  destination(row, in);
  row.time("start_time", {"start_time"});
  row.time("end_time", {"end_time"});
  row.str("end_reason", {"status_detail"});
  row.str("transport", {"connection_info", "protocol_name"});
  row.num("ip_version", {"connection_info", "protocol_ver_id"}, 255);
  row.str("direction", {"connection_info", "direction"});
  row.str("proxy_ip", {"proxy", "ip"});
  row.num("proxy_port", {"proxy", "port"}, kPortMax);
  row.num("bytes_out", {"traffic", "bytes_out"}, kU64);
  row.num("bytes_in", {"traffic", "bytes_in"}, kU64);
  row.num("packets_out", {"traffic", "packets_out"}, kU64);
  row.num("packets_in", {"traffic", "packets_in"}, kU64);
  row.str("hostname", {"unmapped", "flowaudit", "hostname"});
  row.str("hostname_source", {"unmapped", "flowaudit", "hostname_source"});
  row.str("unnamed_reason", {"unmapped", "flowaudit", "unnamed_reason"});
  row.str("app_protocol", {"unmapped", "flowaudit", "app_protocol"});
  const int encrypted = in.flag({"unmapped", "flowaudit", "encrypted"});
  row.text("encrypted", encrypted < 0 ? "unknown" : encrypted == 1 ? "yes" : "no");
  row.str("blind_spot", {"unmapped", "flowaudit", "blind_spot"});
  row.str("blind_spot_reason", {"unmapped", "flowaudit", "blind_spot_reason"});
  row.str("tls_version", {"tls", "version"});
  row.str("tls_sni", {"tls", "sni"});
  row.str("tls_cipher", {"tls", "cipher"});
  row.str("ja3", {"tls", "ja3_hash", "value"});
  row.str("ja4", {"unmapped", "flowaudit", "ja4"});
  row.str("quic_version", {"unmapped", "flowaudit", "quic_version"});
  row.str("cert_subject", {"unmapped", "flowaudit", "certificate_subject"});
  row.str("cert_issuer", {"unmapped", "flowaudit", "certificate_issuer"});
  row.str("process", {"unmapped", "flowaudit", "process"});
  row.num("pid", {"unmapped", "flowaudit", "pid"}, kU32);
  row.num("flow_id", {"unmapped", "flowaudit", "flow_id"}, kU64);
}

void http(RowWriter& row, Reader& in) {
  endpoints(row);
  destination(row, in);
  row.num("flow_id", {"unmapped", "flowaudit", "flow_id"}, kU64);
  row.num("request", {"unmapped", "flowaudit", "request"}, kU32);
  row.str("method", {"unmapped", "flowaudit", "method"});
  row.str("scheme", {"http_request", "url", "scheme"});
  row.str("authority", {"unmapped", "flowaudit", "authority"});
  row.str("path", {"http_request", "url", "path"});
  row.str("url", {"http_request", "url", "url_string"});
  row.num("status", {"http_response", "code"}, 999);
  row.value("response_seen", in.flag({"unmapped", "flowaudit", "response_seen"}) == 1 ? 1 : 0);
  row.str("request_content_type", {"unmapped", "flowaudit", "request_content_type"});
  row.str("response_content_type", {"http_response", "content_type"});
  row.num("request_body_bytes", {"unmapped", "flowaudit", "request_body_bytes"}, kU64);
  row.num("response_body_bytes", {"unmapped", "flowaudit", "response_body_bytes"}, kU64);
  row.str("chat_service", {"unmapped", "flowaudit", "chat_service"});
  row.num("prompt_bytes", {"unmapped", "flowaudit", "prompt_bytes"}, kU64);
  row.strings("data_types", {"unmapped", "flowaudit", "data_found"}, "type");
  row.strings("data_fields", {"unmapped", "flowaudit", "data_found"}, "field");
  row.strings("data_values", {"unmapped", "flowaudit", "data_found"}, "value");
  row.strings("data_detectors", {"unmapped", "flowaudit", "data_found"}, "detector");
}

void dns(RowWriter& row, Reader& in) {
  endpoints(row);
  row.num("flow_id", {"unmapped", "flowaudit", "flow_id"}, kU64);
  // The name as read; query.hostname when the event has no raw one.
  std::string_view query = in.str({"unmapped", "flowaudit", "query"});
  if (query.empty()) query = in.str({"query", "hostname"});
  row.text("query", query);
  row.str("qtype", {"query", "type"});
  row.str("rcode", {"rcode"});
  row.strings("answers", {"answers"}, "rdata");
  row.str("transport", {"connection_info", "protocol_name"});
  row.str("local", {"unmapped", "flowaudit", "local"});
  row.str("name_error", {"unmapped", "flowaudit", "name_error"});
  row.value("ech", in.flag({"unmapped", "flowaudit", "ech"}) == 1 ? 1 : 0);
}

void finding(RowWriter& row, Reader& in) {
  // The destination the finding is about: its first evidence.
  const json::array* evidences = in.array({"evidences"});
  const json::value* evidence = evidences != nullptr && !evidences->empty() ? &evidences->front() : nullptr;
  const json::value* endpoint = member(evidence, "dst_endpoint");
  row.text("dst_ip", string_member(endpoint, "ip"));
  row.value("dst_port", port_member(endpoint, "port"));
  row.text("dst_name", endpoint_name(endpoint));
  service_columns(row);
  row.text("dns_query", string_member(member(evidence, "query"), "hostname"));
  row.str("rule", {"unmapped", "flowaudit", "rule"});
  row.str("pack", {"unmapped", "flowaudit", "pack"});
  row.str("title", {"finding_info", "title"});
  row.str("message", {"message"});
  row.str("severity", {"severity"});
  row.text("status", in.num({"status_id"}, 99) == 3 ? "Suppressed" : "New");
  row.str("waiver", {"unmapped", "flowaudit", "waiver"});
  row.str("scope", {"unmapped", "flowaudit", "scope"});
  row.num("flows", {"unmapped", "flowaudit", "flows"}, kU64);
  row.numbers("flow_ids", {"unmapped", "flowaudit", "flow_ids"});
  row.num("bytes_out", {"unmapped", "flowaudit", "bytes_out"}, kU64);
  row.num("bytes_in", {"unmapped", "flowaudit", "bytes_in"}, kU64);
  row.strings("references", {"unmapped", "flowaudit", "references"});
  row.time("first_seen", {"finding_info", "first_seen_time"});
  row.time("last_seen", {"finding_info", "last_seen_time"});
}

}  // namespace

std::string_view table_name(EventTable t) noexcept {
  switch (t) {
    case EventTable::kNetwork: return "network_activity";
    case EventTable::kHttp: return "http_activity";
    case EventTable::kDns: return "dns_activity";
    case EventTable::kFinding: return "findings";
  }
  return "network_activity";
}

std::optional<EventTable> clickhouse_row(std::string_view event, std::string& rows, std::string& event_id,
                                         std::string& error) {
  event_id.clear();
  if (event.size() > kMaxEventBytes) {
    error = "event of " + std::to_string(event.size()) + " bytes (at most " + std::to_string(kMaxEventBytes) + ")";
    return std::nullopt;
  }
  json::parse_options opts;
  opts.max_depth = kMaxDepth;
  std::error_code ec;
  json::value v = json::parse(json::string_view(event.data(), event.size()), ec, {}, opts);
  if (ec) {
    error = "not JSON: " + ec.message();
    return std::nullopt;
  }
  const auto* root = v.if_object();
  if (root == nullptr) {
    error = "not a JSON object";
    return std::nullopt;
  }
  Reader in(*root);
  const std::string_view product = in.str({"metadata", "product", "name"});
  if (product != "flowaudit") {
    error = "not an event of flowaudit (metadata.product.name)";
    return std::nullopt;
  }
  const std::string_view uid = in.str({"metadata", "uid"});
  if (!uuid_ok(uid)) {
    error = "metadata.uid is not a UUID";
    return std::nullopt;
  }
  event_id.assign(uid);
  if (in.find({"time"}) == nullptr) {
    error = "no time";
    return std::nullopt;
  }
  EventTable table{};
  switch (in.num({"class_uid"}, 999999)) {
    case 4001: table = EventTable::kNetwork; break;
    case 4002: table = EventTable::kHttp; break;
    case 4003: table = EventTable::kDns; break;
    case 2004: table = EventTable::kFinding; break;
    default:
      error = in.error().empty() ? "class_uid is not one of 4001, 4002, 4003, 2004" : in.error();
      return std::nullopt;
  }
  const std::size_t start = rows.size();
  {
    RowWriter row(rows, in);
    common(row, in, uid);
    switch (table) {
      case EventTable::kNetwork: network(row, in); break;
      case EventTable::kHttp: http(row, in); break;
      case EventTable::kDns: dns(row, in); break;
      case EventTable::kFinding: finding(row, in); break;
    }
    row.finish();
  }
  if (!in.error().empty()) {
    rows.resize(start);
    error = in.error();
    return std::nullopt;
  }
  return table;
}

}  // namespace flowaudit::report::events
