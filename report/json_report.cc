#include "report/json_report.h"

#include "analysis/app/naming.h"

#include <boost/json/parse.hpp>

#include <array>

#include "analysis/app/tls/client_hello.h"
#include "analysis/packet/transport.h"
#include "capture/pcap_file_source.h"
#include "core/redact.h"
#include "core/string_pool.h"
#include "report/findings_report.h"
#include "report/geo_report.h"
#include "report/json_writer.h"
#include "report/what_left.h"
#include "rules/eval/records.h"

namespace flowaudit::report {
namespace {

using rules::eval::transport_name;

void tristate(JsonWriter& w, const char* key, int value) {
  if (value < 0) {
    w.null_field(key);
  } else {
    w.field(key, value == 1);
  }
}

void joined_array(JsonWriter& w, const char* key, std::string_view joined) {
  w.key(key);
  w.begin_array();
  core::for_each_item(joined, [&](std::string_view item) { w.value(item); });
  w.end_array();
}

void write_coverage(JsonWriter& w, const analysis::AuditResult& r) {
  w.key("coverage");
  w.begin_object();
  w.field("flows", r.coverage.flows);
  w.field("named_flows", r.coverage.named_flows);
  w.field("flows_share", r.coverage.flow_share());
  w.field("bytes_out", r.coverage.bytes_out);
  w.field("named_bytes_out", r.coverage.named_bytes_out);
  w.field("bytes_out_share", r.coverage.bytes_out_share());
  // What decryption opened of the encrypted flows (all 0 without a key log).
  w.field("encrypted_flows", r.coverage.encrypted_flows);
  w.field("decrypted_flows", r.coverage.decrypted_flows);
  w.field("encrypted_bytes_out", r.coverage.encrypted_bytes_out);
  w.field("decrypted_bytes_out", r.coverage.decrypted_bytes_out);
  w.field("decrypted_share", r.coverage.decrypted_share());
  // Unnamed flows per reason (every reason listed, 0 included, so a reader sees what was checked).
  w.key("unnamed");
  w.begin_object();
  for (std::size_t i = 1; i < r.coverage.unnamed.size(); ++i) {
    w.field(analysis::app::to_string(static_cast<analysis::app::UnnamedReason>(i)), r.coverage.unnamed[i]);
  }
  w.end_object();
  w.end_object();
  // How many flows fall into each blind spot.
  const auto& counts = r.coverage.blind_spots;
  w.key("blind_spots");
  w.begin_object();
  for (std::size_t i = 1; i < counts.size(); ++i) {
    w.field(analysis::app::to_string(static_cast<analysis::app::BlindSpot>(i)), counts[i]);
  }
  w.end_object();
}

// What the memory caps did (flows[] lists the records kept; summary.flows counts every flow).
void write_caps(JsonWriter& w, const analysis::AuditResult& r) {
  const analysis::CapStats& c = r.caps;
  w.key("caps");
  w.begin_object();
  w.field("capped", c.capped());
  w.field("max_flow_records", static_cast<std::uint64_t>(c.max_flow_records));
  w.field("max_destinations", static_cast<std::uint64_t>(c.max_destinations));
  w.field("flow_records", static_cast<std::uint64_t>(r.flows.size()));
  w.field("flow_records_dropped", c.flow_records_dropped);
  w.field("flow_groups", c.flow_groups);
  w.field("flows_over_destination_cap", c.flows_over_destination_cap);
  w.field("flows_over_group_cap", c.flows_over_group_cap);
  w.field("dns_records", static_cast<std::uint64_t>(r.dns.size()));
  w.field("dns_records_dropped", c.dns_records_dropped);
  w.field("strings_dropped", c.strings_dropped);
  w.end_object();
}

// Capture clocks that went back or paused (analysis/flow/audit_clock.h); the jumps back are also
// warnings.
void write_clock(JsonWriter& w, const analysis::AuditResult& r) {
  const auto& c = r.clock;
  w.key("clock");
  w.begin_object();
  w.field("jumps_back", c.jumps_back);
  w.field("largest_back_ns", static_cast<std::uint64_t>(c.largest_back_ns));
  w.field("reordered_packets", c.reordered);
  w.field("forward_gaps", c.forward_gaps);
  w.field("largest_forward_ns", static_cast<std::uint64_t>(c.largest_forward_ns));
  w.field("clocks", static_cast<std::uint64_t>(c.clocks));
  w.field("elapsed_seconds", static_cast<double>(c.elapsed_ns) / 1e9);
  w.key("jumps");
  w.begin_array();
  for (const auto& j : c.listed) {
    w.begin_object();
    w.field("input", static_cast<std::uint64_t>(j.input));
    w.field("packet", j.packet);
    w.field("interface", static_cast<std::uint64_t>(j.interface_id));
    timestamp_field(w, "from", j.from_ns);
    timestamp_field(w, "to", j.to_ns);
    w.field("back_ns", j.back_ns());
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

// `flowaudit run`: the command and how it ended. Its arguments may hold secrets (tokens, URLs with
// keys): only the program is shown unless --no-redact.
void write_run(JsonWriter& w, const analysis::AuditResult& r, bool redact) {
  if (!r.run) {
    w.null_field("run");
    return;
  }
  const auto& run = *r.run;
  w.key("run");
  w.begin_object();
  w.key("command");
  w.begin_array();
  for (std::size_t i = 0; i < run.command.size() && (!redact || i == 0); ++i) w.value(run.command[i]);
  w.end_array();
  w.field("arguments_redacted", static_cast<std::uint64_t>(redact && !run.command.empty() ? run.command.size() - 1 : 0));
  w.field("user", run.user);
  w.field("started", run.started);
  if (run.pid > 0) {
    w.field("pid", run.pid);
  } else {
    w.null_field("pid");
  }
  if (run.exit_code) {
    w.field("exit_status", *run.exit_code);
  } else {
    w.null_field("exit_status");
  }
  w.string_or_null("signal", run.signal);
  w.field("failed", run.failed());
  w.field("duration_s", run.duration_s);
  w.field("network", run.network);
  w.field("interface", run.interface);
  w.field("ipv6", run.ipv6);
  w.field("dns", run.dns);
  w.field("keylog", run.keylog);
  w.field("keys", run.keys);
  w.field("keys_malformed", run.keys_malformed);
  w.field("leftovers_terminated", run.leftovers_terminated);
  w.field("leftovers_killed", run.leftovers_killed);
  w.end_object();
}

void write_summary(JsonWriter& w, const analysis::AuditResult& r, const PolicyOutcome* outcome, bool redact) {
  w.key("summary");
  w.begin_object();
  write_verdict_json(w, outcome);
  w.field("packets", r.packets);
  w.field("bytes", r.bytes);
  w.field("flows", r.total_flows());
  w.field("destinations", static_cast<std::uint64_t>(r.destinations.size()));
  write_caps(w, r);
  timestamp_field(w, "first_seen", r.first_ns, r.packets > 0);
  timestamp_field(w, "last_seen", r.last_ns, r.packets > 0);
  w.field("duration_seconds", analysis::duration_seconds(r.first_ns, r.last_ns));
  write_coverage(w, r);
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
  w.field("tunnelled", r.decode.tunnelled);
  w.field("tunnel_too_deep", r.decode.tunnel_too_deep);
  w.field("wlan_protected", r.decode.wlan_protected);
  w.field("wlan_non_data", r.decode.wlan_non_data);
  w.field("nflog_no_payload", r.decode.nflog_no_payload);
  w.end_object();
  w.key("flow_table");
  w.begin_object();
  w.field("created", r.flow_stats.created);
  w.field("evicted", r.flow_stats.evicted);
  w.field("idle_expired", r.flow_stats.idle_expired);
  w.field("peak_live", r.flow_stats.peak_live);
  w.end_object();
  write_clock(w, r);
  w.key("anomalies");
  w.begin_object();
  const auto& a = r.anomalies.all();
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != 0) w.field(analysis::packet::kAnomalyNames[i], a[i]);
  }
  w.end_object();
  write_finding_counts_json(w, outcome);
  if (r.live) {
    const auto& l = *r.live;
    w.key("live");
    w.begin_object();
    w.field("interface", l.interface);
    w.string_or_null("selection", l.selection);
    if (l.stats_available) {
      w.field("received", l.received);
      w.field("dropped", l.dropped);
      w.field("interface_dropped", l.interface_dropped);
    } else {
      w.null_field("received");
      w.null_field("dropped");
      w.null_field("interface_dropped");
    }
    w.field("stopped_by", l.stopped_by);
    w.string_or_null("user", l.user);
    w.string_or_null("written", l.written);
    w.field("written_packets", l.written_packets);
    w.end_object();
  } else {
    w.null_field("live");
  }
  write_run(w, r, redact);
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

void write_flows(JsonWriter& w, const analysis::AuditResult& r, const ReportOptions& options) {
  w.key("flows");
  w.begin_array();
  for (std::size_t i = 0; i < r.flows.size(); ++i) {
    const auto& f = r.flows[i];
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
    if (const auto it = r.processes.find(f.id); it != r.processes.end()) {
      w.key("process");
      w.begin_object();
      w.field("pid", it->second.pid);
      w.field("name", it->second.name);
      w.end_object();
    } else {
      w.null_field("process");
    }
    if (f.tunnel) {
      const analysis::packet::Tunnel& t = *f.tunnel;
      w.key("tunnel");
      w.begin_object();
      w.field("type", analysis::packet::to_string(t.type));
      w.field("outer_src", t.outer_src.to_string());
      w.field("outer_dst", t.outer_dst.to_string());
      w.field("depth", t.depth);
      w.field("depth_exceeded", t.depth_exceeded);
      w.end_object();
    } else {
      w.null_field("tunnel");
    }
    w.field("input", f.input);
    timestamp_field(w, "first_seen", f.first_seen());
    timestamp_field(w, "last_seen", f.last_seen);
    w.field("packets_out", f.out().packets);
    w.field("packets_in", f.in().packets);
    w.field("bytes_out", f.out().bytes);
    w.field("bytes_in", f.in().bytes);
    w.field("payload_bytes_out", f.out().payload_bytes);
    w.field("payload_bytes_in", f.in().payload_bytes);
    const analysis::app::FlowDetails* d = f.app_details();
    const analysis::app::FlowName& name = f.name;
    w.string_or_null("app_protocol", d != nullptr ? analysis::app::to_string(d->app) : "");
    w.string_or_null("hostname", name.hostname);
    w.string_or_null("hostname_source", name.source);
    if (!name.dns_cnames.empty()) joined_array(w, "dns_cnames", name.dns_cnames);
    const bool has_tls = d != nullptr && d->tls != nullptr;
    if (has_tls && d->tls->has_sni) {
      w.field("sni", d->tls->sni);
    } else {
      w.null_field("sni");
    }
    tristate(w, "encrypted", analysis::app::encrypted(d));
    w.string_or_null("blind_spot", d != nullptr ? analysis::app::to_string(d->blind_spot) : "");
    w.string_or_null("blind_spot_reason", d != nullptr ? analysis::app::to_string(d->limit) : "");
    w.string_or_null("unnamed_reason", analysis::app::to_string(name.unnamed));
    if (has_tls) {
      const auto& t = *d->tls;
      w.key("tls");
      w.begin_object();
      w.string_or_null("sni", t.has_sni ? t.sni : std::string_view());
      if (t.server_hello) {
        w.field("version", analysis::tls::version_name(t.version));
        w.field("cipher", analysis::tls::cipher_name(t.cipher));
      } else {
        w.null_field("version");
        w.null_field("cipher");
      }
      if (t.client_hello) {
        w.field("client_version", analysis::tls::version_name(t.client_version));
        w.field("cipher_suites_offered", t.cipher_count);
        w.field("client_hello_format", t.sslv2_hello ? std::string_view("sslv2") : std::string_view("tls"));
      } else {
        w.null_field("client_version");
      }
      joined_array(w, "alpn_offered", t.alpn_offered);
      w.string_or_null("alpn", t.alpn);
      w.field("ech", t.ech);
      w.string_or_null("ja3", t.ja3);
      w.string_or_null("ja3_string", t.ja3_string);
      w.string_or_null("ja3s", t.ja3s);
      w.string_or_null("ja4", t.ja4);
      if (!t.cert_subject.empty() || !t.cert_issuer.empty()) {
        w.key("certificate");
        w.begin_object();
        w.field("subject", t.cert_subject);
        w.field("issuer", t.cert_issuer);
        joined_array(w, "san", t.cert_san);
        w.end_object();
      }
      w.end_object();
    } else {
      w.null_field("tls");
    }
    if (d != nullptr && d->decryption) {
      // What decrypting the flow found; never a secret.
      const auto& x = *d->decryption;
      w.key("decryption");
      w.begin_object();
      w.field("keys", x.keys_found);
      if (x.hello_seen) {
        w.field("version", analysis::tls::version_name(x.version));
        w.field("cipher", analysis::tls::cipher_name(x.suite));
      } else {
        w.null_field("version");
        w.null_field("cipher");
      }
      w.string_or_null("client_stopped", x.stop[0] == analysis::decrypt::DecryptStop::kNone
                                             ? std::string_view() : analysis::decrypt::to_string(x.stop[0]));
      w.string_or_null("server_stopped", x.stop[1] == analysis::decrypt::DecryptStop::kNone
                                             ? std::string_view() : analysis::decrypt::to_string(x.stop[1]));
      w.field("records_decrypted", x.records_opened[0] + x.records_opened[1]);
      w.field("encrypted_bytes", x.protected_bytes[0] + x.protected_bytes[1]);
      w.field("decrypted_bytes", x.opened_bytes[0] + x.opened_bytes[1]);
      w.field("application_bytes_out", x.app_bytes[0]);
      w.field("application_bytes_in", x.app_bytes[1]);
      w.field("key_updates", static_cast<std::uint64_t>(x.key_updates));
      w.field("early_data", x.early_data);
      w.end_object();
    }
    if (d != nullptr && d->requests) {
      // Every reconstructed request; bodies are never written, only their sizes.
      w.key("requests");
      w.begin_array();
      for (const auto& e : d->requests->list) {
        w.begin_object();
        w.field("method", e.method);
        w.field("scheme", d->requests->scheme);
        w.string_or_null("authority", e.authority);
        w.field("path", core::redact_target(e.path, options.redact));
        if (e.status != 0) {
          w.field("status", static_cast<std::uint64_t>(e.status));
        } else {
          w.null_field("status");
        }
        w.string_or_null("request_content_type", e.request_content_type);
        w.string_or_null("request_content_encoding", e.request_content_encoding);
        w.field("request_body_bytes", e.request_body_bytes);
        // What of it was kept in memory for inspection (never written): less than the decoded size
        // when a keep budget was reached.
        w.field("request_body_kept", static_cast<std::uint64_t>(e.request_body.size()));
        w.string_or_null("response_content_type", e.response_content_type);
        w.string_or_null("response_content_encoding", e.response_content_encoding);
        w.field("response_body_bytes", e.response_body_bytes);
        // After content decoding, and why decoding stopped when it did (null: no coding).
        w.field("request_body_decoded_bytes", e.request_body_decoded_bytes);
        w.field("response_body_decoded_bytes", e.response_body_decoded_bytes);
        w.string_or_null("request_decoding", analysis::http::to_string(e.request_decoding));
        w.string_or_null("response_decoding", analysis::http::to_string(e.response_decoding));
        if (e.event_stream) {
          w.key("event_stream");
          w.begin_object();
          w.field("events", static_cast<std::uint64_t>(e.sse.events));
          w.field("data_bytes", e.sse.data_bytes);
          w.end_object();
        } else {
          w.null_field("event_stream");
        }
        w.field("upgrade", e.upgrade);
        if (e.ws.opened) {  // also when no frame was read, so that a frame that broke it shows
          // The WebSocket that followed the upgrade: data messages and their bytes per direction.
          w.key("websocket");
          w.begin_object();
          w.field("messages_out", e.ws.messages[0]);
          w.field("bytes_out", e.ws.payload_bytes[0]);
          w.field("messages_in", e.ws.messages[1]);
          w.field("bytes_in", e.ws.payload_bytes[1]);
          w.field("control_frames", e.ws.control_frames);
          w.field("permessage_deflate", e.ws.deflate);
          w.string_or_null("stopped", e.ws.stopped);
          w.end_object();
        } else {
          w.null_field("websocket");
        }
        // What left in the request (issue 17): values masked unless --no-redact; never a body.
        w.string_or_null("chat_service", e.chat_service);
        w.field("prompt_bytes", e.prompt_bytes);
        w.key("findings");
        write_inspect_findings(w, e.findings);
        w.field("findings_dropped", static_cast<std::uint64_t>(e.findings_dropped));
        w.end_object();
      }
      w.end_array();
    }
    if (d != nullptr && d->http) {
      const auto& h = *d->http;
      w.key("http");
      w.begin_object();
      w.field("method", h.method);
      w.string_or_null("host", h.host);
      w.field("path", core::redact_target(h.path, options.redact));
      w.string_or_null("user_agent", h.user_agent);
      w.string_or_null("content_type", h.content_type);
      if (h.content_length >= 0) {
        w.field("content_length", h.content_length);
      } else {
        w.null_field("content_length");
      }
      w.end_object();
    }
    if (const auto via = analysis::app::proxy_target(f, d)) {
      // Through a proxy: the server is the requested host and port; only the proxy's address
      // (the flow's server on the wire) was seen.
      w.key("via");
      w.begin_object();
      w.field("type", via->type);
      w.field("proxy_ip", via->proxy_ip.to_string());
      w.field("proxy_port", via->proxy_port);
      w.field("host", via->host);
      w.field("port", via->port);
      w.field("granted", d->proxy ? d->proxy->granted : true);
      w.end_object();
    }
    if (d != nullptr && d->quic) {
      w.key("quic");
      w.begin_object();
      w.string_or_null("version", d->quic->version_name);
      w.field("decrypted", d->quic->decrypted);
      // Additive (issue 13): the versions of the server's Version Negotiation, and its Retry.
      w.key("version_negotiation");
      if (d->quic->version_negotiation) {
        w.begin_array();
        std::string_view rest = d->quic->offered_versions;
        while (!rest.empty()) {
          const auto comma = rest.find(',');
          w.value(rest.substr(0, comma));
          rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        }
        w.end_array();
      } else {
        w.null();
      }
      w.field("retry", d->quic->retry);
      w.end_object();
    }
    w.end_object();
  }
  w.end_array();
}

void write_destinations(JsonWriter& w, const analysis::AuditResult& r) {
  w.key("destinations");
  w.begin_array();
  for (std::size_t i = 0; i < r.destinations.size(); ++i) {
    const auto& d = r.destinations[i];
    w.begin_object();
    if (d.address_known) {
      w.field("ip", d.ip.to_string());
    } else {
      w.null_field("ip");  // reached through a proxy by name: its address was never on the wire
    }
    w.field("port", d.port);
    w.field("transport", transport_name(d.protocol));
    if (!d.via_type.empty()) {
      w.key("via");
      w.begin_object();
      w.field("type", d.via_type);
      w.field("proxy_ip", d.via_ip.to_string());
      w.field("proxy_port", d.via_port);
      w.end_object();
      w.string_or_null("requested_host", d.requested_host);
    }
    if (d.proxied_flows > 0) {
      w.field("proxied_flows", d.proxied_flows);
      w.field("proxied_bytes_out", d.proxied_bytes_out);
      w.field("proxied_bytes_in", d.proxied_bytes_in);
    }
    w.string_or_null("hostname", d.hostname);
    w.string_or_null("hostname_source", d.hostname_source);
    w.key("names");
    w.begin_array();
    for (const auto& n : d.names) {
      w.begin_object();
      w.field("name", n.name);
      w.field("source", n.source);
      w.field("flows", n.flows);
      w.end_object();
    }
    w.end_array();
    w.string_or_null("app_protocol", d.app_protocol);
    tristate(w, "encrypted", d.encrypted);
    if (d.enrichment) {
      write_geo_fields(w, *d.enrichment);
    } else {
      w.null_field("geo");
      w.null_field("service");
    }
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

void write_json(const ReportInput& input, const ReportOptions& options, Output& out) {
  const analysis::AuditResult& r = input.result;
  const PolicyOutcome* outcome = input.outcome;
  JsonWriter w(out);
  w.begin_object();
  w.field("schema", kReportSchema);
  w.key("tool");
  w.begin_object();
  w.field("name", "flowaudit");
  w.field("version", FLOWAUDIT_VERSION);
  w.end_object();
  write_summary(w, r, outcome, options.redact);
  write_policy_json(w, r, outcome);
  write_inputs(w, r);
  write_database_list(w, r.geo_databases);
  write_destinations(w, r);
  write_flows(w, r, options);
  w.key("dns");
  w.begin_array();
  for (const auto& q : r.dns) {
    w.begin_object();
    timestamp_field(w, "ts", q.ts_ns);
    w.field("transport", q.transport);
    w.field("server", q.server.to_string());
    // A message without a question (an inverse query, an mDNS announcement) asks no name: "" (the
    // root, a name that can be asked, is "."). Kept a string: a null would change v1's type.
    w.field("query", q.query);
    // Additive (issue 13): the name as the client wrote it, when its case differs; mDNS / LLMNR.
    w.string_or_null("query_as_sent", q.query_as_sent);
    w.string_or_null("local", q.local);
    // Additive (issue 13): a name not read whole (query holds the labels read before the problem).
    w.string_or_null("name_error", q.name_error);
    w.field("qtype", q.qtype);
    if (q.rcode) {
      w.field("rcode", *q.rcode);
    } else {
      w.null_field("rcode");
    }
    string_array(w, "answers", q.answers);
    if (!q.svcb.empty()) {
      w.key("svcb");
      w.begin_array();
      for (const auto& svc : q.svcb) {
        w.begin_object();
        w.field("priority", svc.priority);
        w.field("target", svc.target);
        w.field("ech", svc.ech);
        string_array(w, "hints", svc.hints);
        w.end_object();
      }
      w.end_array();
    }
    w.field("ech", q.ech);
    w.field("flow", q.flow_id);
    w.end_object();
  }
  w.end_array();
  // Additive (issue 17): what left in names, label by label: DNS query names and TLS/QUIC server
  // names with a canary or an identifier in them (values masked unless --no-redact).
  w.key("name_findings");
  w.begin_array();
  for (const auto& n : r.name_findings) {
    w.begin_object();
    w.field("place", n.place);
    w.field("name", n.name);
    w.key("findings");
    write_inspect_findings(w, n.findings);
    w.end_object();
  }
  w.end_array();
  w.field("name_findings_dropped", r.name_findings_dropped);
  write_what_left_json(w, what_left(r), "what_left");
  write_findings_json(w, r, outcome);
  w.key("warnings");
  w.begin_array();
  for (const auto& warning : r.warnings) w.value(warning);
  w.end_array();
  w.end_object();
}

boost::json::value to_json(const ReportInput& input, const ReportOptions& options) {
  std::string text;
  Output out(text);
  write_json(input, options, out);
  return boost::json::parse(text);
}

}  // namespace flowaudit::report
