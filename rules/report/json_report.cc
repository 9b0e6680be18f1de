#include "rules/report/json_report.h"

#include <boost/json.hpp>

#include "analysis/packet/transport.h"
#include "capture/pcap_file_source.h"

namespace flowaudit::rules::report {
namespace json = boost::json;
namespace {

const char* transport_name(std::uint8_t proto) {
  switch (proto) {
    case analysis::packet::kProtoTcp: return "tcp";
    case analysis::packet::kProtoUdp: return "udp";
    default: return "other";
  }
}

json::value timestamp(core::TimestampNs ns, bool present) {
  if (!present) return nullptr;
  return json::string(core::format_iso8601(ns));
}

json::object summary(const analysis::AuditResult& r) {
  json::object s;
  s["verdict"] = "not-evaluated";  // no policy is evaluated yet
  s["packets"] = r.packets;
  s["bytes"] = r.bytes;
  s["flows"] = r.flows.size();
  s["destinations"] = r.destinations.size();
  s["first_seen"] = timestamp(r.first_ns, r.packets > 0);
  s["last_seen"] = timestamp(r.last_ns, r.packets > 0);
  s["duration_seconds"] = r.packets > 0 ? static_cast<double>(r.last_ns - r.first_ns) / 1e9 : 0.0;
  json::object d;
  d["ipv4"] = r.decode.ipv4;
  d["ipv6"] = r.decode.ipv6;
  d["tcp"] = r.decode.tcp;
  d["udp"] = r.decode.udp;
  d["icmp"] = r.decode.icmp;
  d["other_ip"] = r.decode.other_ip;
  d["not_ip"] = r.decode.not_ip;
  d["malformed"] = r.decode.malformed;
  d["unsupported_link"] = r.decode.unsupported_link;
  d["fragments"] = r.decode.fragments;
  d["reassembled"] = r.decode.reassembled;
  s["decode"] = std::move(d);
  json::object ft;
  ft["created"] = r.flow_stats.created;
  ft["evicted"] = r.flow_stats.evicted;
  ft["idle_expired"] = r.flow_stats.idle_expired;
  ft["peak_live"] = r.flow_stats.peak_live;
  s["flow_table"] = std::move(ft);
  json::object an;
  const auto& a = r.anomalies.all();
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != 0) an[analysis::packet::kAnomalyNames[i]] = a[i];
  }
  s["anomalies"] = std::move(an);
  return s;
}

json::array inputs(const analysis::AuditResult& r) {
  json::array out;
  for (const auto& in : r.inputs) {
    json::object o;
    o["path"] = in.path;
    o["format"] = in.format.empty() ? json::value(nullptr) : json::value(in.format);
    json::array lts;
    for (const auto lt : in.link_types) lts.emplace_back(capture::link_type_name(lt));
    o["link_types"] = std::move(lts);
    o["packets"] = in.packets;
    o["bytes"] = in.bytes;
    o["complete"] = in.complete;
    o["error"] = in.error.empty() ? json::value(nullptr) : json::value(in.error);
    out.emplace_back(std::move(o));
  }
  return out;
}

json::object endpoint(const core::IpAddress& ip, std::uint16_t port) {
  return json::object{{"ip", ip.to_string()}, {"port", port}};
}

json::array flows(const analysis::AuditResult& r) {
  json::array out;
  out.reserve(r.flows.size());
  for (const auto& f : r.flows) {
    json::object o;
    o["id"] = f.id;
    o["transport"] = transport_name(f.key.protocol);
    o["client"] = endpoint(f.key.addr[f.client], f.key.port[f.client]);
    o["server"] = endpoint(f.key.addr[f.server()], f.key.port[f.server()]);
    o["orientation"] = analysis::flow::to_string(f.orientation);
    o["tcp_state"] = f.key.protocol == analysis::packet::kProtoTcp ? json::value(analysis::flow::to_string(f.tcp))
                                                                   : json::value(nullptr);
    o["end"] = analysis::flow::to_string(f.end);
    o["input"] = f.input;
    o["first_seen"] = core::format_iso8601(f.first_seen());
    o["last_seen"] = core::format_iso8601(f.last_seen);
    o["packets_out"] = f.out().packets;
    o["packets_in"] = f.in().packets;
    o["bytes_out"] = f.out().bytes;
    o["bytes_in"] = f.in().bytes;
    o["payload_bytes_out"] = f.out().payload_bytes;
    o["payload_bytes_in"] = f.in().payload_bytes;
    // Filled in by the application-layer parsers (naming issue); present so consumers can rely on them.
    o["app_protocol"] = nullptr;
    o["hostname"] = nullptr;
    o["hostname_source"] = nullptr;
    o["sni"] = nullptr;
    o["tls"] = nullptr;
    out.emplace_back(std::move(o));
  }
  return out;
}

json::array destinations(const analysis::AuditResult& r) {
  json::array out;
  for (const auto& d : r.destinations) {
    json::object o;
    o["ip"] = d.ip.to_string();
    o["port"] = d.port;
    o["transport"] = transport_name(d.protocol);
    o["hostname"] = nullptr;
    o["hostname_source"] = nullptr;
    o["app_protocol"] = nullptr;
    o["encrypted"] = nullptr;
    o["flows"] = d.flows;
    o["packets_out"] = d.packets_out;
    o["packets_in"] = d.packets_in;
    o["bytes_out"] = d.bytes_out;
    o["bytes_in"] = d.bytes_in;
    o["payload_bytes_out"] = d.payload_bytes_out;
    o["payload_bytes_in"] = d.payload_bytes_in;
    o["first_seen"] = core::format_iso8601(d.first_ns);
    o["last_seen"] = core::format_iso8601(d.last_ns);
    out.emplace_back(std::move(o));
  }
  return out;
}

}  // namespace

json::value to_json(const analysis::AuditResult& r) {
  json::object root;
  root["schema"] = kReportSchema;
  root["tool"] = json::object{{"name", "flowaudit"}, {"version", FLOWAUDIT_VERSION}};
  root["summary"] = summary(r);
  root["inputs"] = inputs(r);
  root["destinations"] = destinations(r);
  root["flows"] = flows(r);
  root["dns"] = json::array{};
  root["findings"] = json::array{};
  json::array warnings;
  for (const auto& w : r.warnings) warnings.emplace_back(w);
  root["warnings"] = std::move(warnings);
  return root;
}

namespace {
// boost::json::serialize writes one line; reports are read by people too, so indent by hand.
void pretty(std::string& out, const json::value& v, int indent) {
  const std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
  const std::string pad_in(static_cast<std::size_t>(indent + 1) * 2, ' ');
  if (v.is_object()) {
    const auto& o = v.get_object();
    if (o.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    bool first = true;
    for (const auto& kv : o) {
      if (!first) out += ",\n";
      first = false;
      out += pad_in;
      out += json::serialize(json::string(kv.key()));
      out += ": ";
      pretty(out, kv.value(), indent + 1);
    }
    out += "\n" + pad + "}";
  } else if (v.is_array()) {
    const auto& a = v.get_array();
    if (a.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    bool first = true;
    for (const auto& e : a) {
      if (!first) out += ",\n";
      first = false;
      out += pad_in;
      pretty(out, e, indent + 1);
    }
    out += "\n" + pad + "]";
  } else {
    out += json::serialize(v);
  }
}
}  // namespace

std::string render_json(const analysis::AuditResult& result) {
  std::string out;
  pretty(out, to_json(result), 0);
  out += '\n';
  return out;
}

}  // namespace flowaudit::rules::report
