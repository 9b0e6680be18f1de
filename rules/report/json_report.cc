#include "rules/report/json_report.h"

#include <boost/json/parse.hpp>

#include "analysis/packet/transport.h"
#include "capture/pcap_file_source.h"
#include "rules/report/json_writer.h"

namespace flowaudit::rules::report {
namespace {

const char* transport_name(std::uint8_t proto) {
  switch (proto) {
    case analysis::packet::kProtoTcp: return "tcp";
    case analysis::packet::kProtoUdp: return "udp";
    default: return "other";
  }
}

void timestamp_field(JsonWriter& w, const char* key, core::TimestampNs ns, bool present = true) {
  if (!present) {
    w.null_field(key);
    return;
  }
  core::Iso8601Buffer buf;
  w.field(key, std::string_view(buf.data(), core::format_iso8601(ns, buf)));
}

void write_summary(JsonWriter& w, const analysis::AuditResult& r) {
  w.key("summary");
  w.begin_object();
  w.field("verdict", "not-evaluated");  // no policy is evaluated yet
  w.field("packets", r.packets);
  w.field("bytes", r.bytes);
  w.field("flows", static_cast<std::uint64_t>(r.flows.size()));
  w.field("destinations", static_cast<std::uint64_t>(r.destinations.size()));
  timestamp_field(w, "first_seen", r.first_ns, r.packets > 0);
  timestamp_field(w, "last_seen", r.last_ns, r.packets > 0);
  w.field("duration_seconds", analysis::duration_seconds(r.first_ns, r.last_ns));
  w.key("decode");
  w.begin_object();
  w.field("ipv4", r.decode.ipv4);
  w.field("ipv6", r.decode.ipv6);
  w.field("tcp", r.decode.tcp);
  w.field("udp", r.decode.udp);
  w.field("icmp", r.decode.icmp);
  w.field("other_ip", r.decode.other_ip);
  w.field("not_ip", r.decode.not_ip);
  w.field("malformed", r.decode.malformed);
  w.field("unsupported_link", r.decode.unsupported_link);
  w.field("fragments", r.decode.fragments);
  w.field("reassembled", r.decode.reassembled);
  w.end_object();
  w.key("flow_table");
  w.begin_object();
  w.field("created", r.flow_stats.created);
  w.field("evicted", r.flow_stats.evicted);
  w.field("idle_expired", r.flow_stats.idle_expired);
  w.field("peak_live", r.flow_stats.peak_live);
  w.end_object();
  w.key("anomalies");
  w.begin_object();
  const auto& a = r.anomalies.all();
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != 0) w.field(analysis::packet::kAnomalyNames[i], a[i]);
  }
  w.end_object();
  w.end_object();
}

void write_inputs(JsonWriter& w, const analysis::AuditResult& r) {
  w.key("inputs");
  w.begin_array();
  for (const auto& in : r.inputs) {
    w.begin_object();
    w.field("path", in.path);
    if (in.format.empty()) {
      w.null_field("format");
    } else {
      w.field("format", in.format);
    }
    w.key("link_types");
    w.begin_array();
    for (const auto lt : in.link_types) w.value(capture::link_type_name(lt));
    w.end_array();
    w.field("packets", in.packets);
    w.field("bytes", in.bytes);
    w.field("complete", in.complete);
    if (in.error.empty()) {
      w.null_field("error");
    } else {
      w.field("error", in.error);
    }
    w.end_object();
  }
  w.end_array();
}

void write_endpoint(JsonWriter& w, const char* key, const core::IpAddress& ip, std::uint16_t port) {
  w.key(key);
  w.begin_object();
  w.field("ip", ip.to_string());
  w.field("port", port);
  w.end_object();
}

void write_flows(JsonWriter& w, const analysis::AuditResult& r) {
  w.key("flows");
  w.begin_array();
  for (const auto& f : r.flows) {
    w.begin_object();
    w.field("id", f.id);
    w.field("transport", transport_name(f.key.protocol));
    write_endpoint(w, "client", f.key.addr[f.client], f.key.port[f.client]);
    write_endpoint(w, "server", f.key.addr[f.server()], f.key.port[f.server()]);
    w.field("orientation", analysis::flow::to_string(f.orientation));
    if (f.key.protocol == analysis::packet::kProtoTcp) {
      w.field("tcp_state", analysis::flow::to_string(f.tcp));
    } else {
      w.null_field("tcp_state");
    }
    w.field("end", analysis::flow::to_string(f.end));
    w.field("input", f.input);
    timestamp_field(w, "first_seen", f.first_seen());
    timestamp_field(w, "last_seen", f.last_seen);
    w.field("packets_out", f.out().packets);
    w.field("packets_in", f.in().packets);
    w.field("bytes_out", f.out().bytes);
    w.field("bytes_in", f.in().bytes);
    w.field("payload_bytes_out", f.out().payload_bytes);
    w.field("payload_bytes_in", f.in().payload_bytes);
    // Filled in by the application-layer parsers (naming); present so consumers can rely on them.
    w.null_field("app_protocol");
    w.null_field("hostname");
    w.null_field("hostname_source");
    w.null_field("sni");
    w.null_field("tls");
    w.end_object();
  }
  w.end_array();
}

void write_destinations(JsonWriter& w, const analysis::AuditResult& r) {
  w.key("destinations");
  w.begin_array();
  for (const auto& d : r.destinations) {
    w.begin_object();
    w.field("ip", d.ip.to_string());
    w.field("port", d.port);
    w.field("transport", transport_name(d.protocol));
    w.null_field("hostname");
    w.null_field("hostname_source");
    w.null_field("app_protocol");
    w.null_field("encrypted");
    w.field("flows", d.flows);
    w.field("packets_out", d.packets_out);
    w.field("packets_in", d.packets_in);
    w.field("bytes_out", d.bytes_out);
    w.field("bytes_in", d.bytes_in);
    w.field("payload_bytes_out", d.payload_bytes_out);
    w.field("payload_bytes_in", d.payload_bytes_in);
    timestamp_field(w, "first_seen", d.first_ns);
    timestamp_field(w, "last_seen", d.last_ns);
    w.end_object();
  }
  w.end_array();
}

}  // namespace

void write_json(const analysis::AuditResult& r, std::FILE* out) {
  JsonWriter w(out);
  w.begin_object();
  w.field("schema", kReportSchema);
  w.key("tool");
  w.begin_object();
  w.field("name", "flowaudit");
  w.field("version", FLOWAUDIT_VERSION);
  w.end_object();
  write_summary(w, r);
  write_inputs(w, r);
  write_destinations(w, r);
  write_flows(w, r);
  w.key("dns");
  w.begin_array();
  w.end_array();
  w.key("findings");
  w.begin_array();
  w.end_array();
  w.key("warnings");
  w.begin_array();
  for (const auto& warning : r.warnings) w.value(warning);
  w.end_array();
  w.end_object();
}

std::string render_json(const analysis::AuditResult& result) {
  char* data = nullptr;
  std::size_t size = 0;
  std::FILE* mem = open_memstream(&data, &size);
  if (mem == nullptr) return {};
  write_json(result, mem);
  std::fclose(mem);
  std::string out(data, size);
  std::free(data);
  return out;
}

boost::json::value to_json(const analysis::AuditResult& result) { return boost::json::parse(render_json(result)); }

}  // namespace flowaudit::rules::report
