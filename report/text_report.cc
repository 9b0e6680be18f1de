#include "report/text_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>

#include "analysis/packet/transport.h"
#include "capture/pcap_file_source.h"
#include "core/escape.h"
#include "core/format.h"
#include "report/findings_report.h"
#include "report/what_left.h"

namespace flowaudit::report {

namespace {
template <typename... T>
void line(std::string& out, fmt::format_string<T...> format, T&&... args) {
  fmt::format_to(std::back_inserter(out), format, std::forward<T>(args)...);
  out += '\n';
}

// A table cell from a capture or a data file: escaped for the terminal (an SNI may carry ESC, CR,
// U+202E), then cut to `width` bytes on a character boundary.
std::string cell(std::string_view s, std::size_t width = std::string::npos) {
  std::string out = core::escape_terminal(s);
  if (out.size() <= width) return out;
  std::size_t end = width;
  while (end > 0 && (static_cast<unsigned char>(out[end]) & 0xC0) == 0x80) --end;
  out.resize(end);
  return out;
}

// What left (report/what_left.h): one line per destination, its operator's jurisdiction and the
// data types sent to it with their counts.
void what_left_block(std::string& out, const analysis::AuditResult& r) {
  const WhatLeft wl = what_left(r);
  if (!wl.inspected()) {
    line(out, "What left: {}", what_left_nothing_inspected());
    return;
  }
  std::string missing;
  if (wl.undecrypted_flows != 0) missing += fmt::format(", {} encrypted flows not decrypted", wl.undecrypted_flows);
  if (wl.uninspected_flows != 0) missing += fmt::format(", {} flows past the inspection budget", wl.uninspected_flows);
  if (wl.flow_records_dropped != 0) missing += fmt::format(", {} flow records dropped", wl.flow_records_dropped);
  line(out, "What left ({} HTTP requests in {} flows inspected{})", wl.requests, wl.flows,
       missing.empty() ? std::string() : "; not seen: " + missing.substr(2));
  if (wl.rows.empty()) {
    line(out, "  nothing found");
    return;
  }
  for (const auto& row : wl.rows) {
    std::string types;
    for (const auto& t : row.types) {
      types += fmt::format("{}{} {}", types.empty() ? "" : ", ", cell(t.type), t.findings);
      if (t.bytes != 0) types += fmt::format(" ({})", core::human_bytes(t.bytes));
    }
    const std::string law = what_left_law(row);
    line(out, "  {:<30} {:<10} {}{}", cell(row.destination, 30), law.empty() ? "-" : cell(law),
         types.empty() ? "-" : types, row.plaintext ? "  PLAINTEXT" : "");
  }
  if (wl.rows_not_listed != 0) {
    line(out, "  and {} more destinations ({} findings): see the JSON report", wl.rows_not_listed,
         wl.findings_not_listed);
  }
}
}  // namespace

std::string render_text(const ReportInput& input, const ReportOptions& options, std::size_t max_destinations) {
  const analysis::AuditResult& r = input.result;
  std::string out;
  const double seconds = analysis::duration_seconds(r.first_ns, r.last_ns);
  line(out, "flowaudit {}: {} packets, {} captured, {} flows to {} destinations", FLOWAUDIT_VERSION, r.packets,
       core::human_bytes(r.bytes), r.total_flows(), r.destinations.size());
  if (r.packets > 0) {
    line(out, "  from {} to {} ({:.1f} s)", core::format_iso8601(r.first_ns), core::format_iso8601(r.last_ns), seconds);
  }
  out += '\n';
  line(out, "Inputs");
  for (const auto& in : r.inputs) {
    std::string lts;
    for (const auto lt : in.link_types) {
      if (!lts.empty()) lts.push_back(',');
      lts.append(capture::link_type_name(lt));
    }
    line(out, "  {}  {}  {}  {} packets  {}", cell(in.path), in.format.empty() ? "-" : in.format, lts.empty() ? "-" : lts,
         in.packets, in.complete ? "complete" : "INCOMPLETE");
  }
  if (r.run) {
    // The program only: its arguments may hold tokens (JSON has them with --no-redact).
    const auto& run = *r.run;
    const std::string how = !run.started          ? std::string("did not start")
                            : !run.signal.empty() ? "was ended by " + run.signal
                                                  : fmt::format("exited with status {}", run.exit_code.value_or(-1));
    line(out, "  run: {} as {} {} after {:.1f} s{}; network {} on {}, IPv6 {}, DNS {}, {} TLS keys", cell(run.command.front()),
         cell(run.user), how, run.duration_s, run.failed() ? " (FAILED)" : "", run.network, run.interface,
         run.ipv6 ? "on" : "off inside", run.dns, run.keylog ? std::to_string(run.keys) : std::string("no"));
  }
  out += '\n';
  const std::size_t shown = std::min(max_destinations, r.destinations.size());
  line(out, "Destinations by bytes sent ({} of {})", shown, r.destinations.size());
  if (shown > 0) {
    line(out, "  {:<30} {:<9} {:<24} {:>5} {:<5} {:<3} {:<3} {:<18} {:>9} {:>9}", "name", "from", "server", "port",
         "app", "geo", "jur", "service", "sent", "received");
  }
  for (std::size_t i = 0; i < shown; ++i) {
    const auto& d = r.destinations[i];
    const std::string app = d.app_protocol.empty() ? (d.protocol == analysis::packet::kProtoTcp ? "tcp" : "udp")
                                                   : d.app_protocol;
    // Where the server is (geo) and under which jurisdiction its operator is (jur), side by side.
    std::string country = "-";
    std::string jurisdiction = "-";
    std::string service = "-";
    if (d.enrichment) {
      const auto& e = *d.enrichment;
      const auto special = analysis::enrich::special_range_name(e.geo.special);
      country = !e.geo.country.empty() ? e.geo.country : !special.empty() ? "lan" : "-";
      if (e.service != nullptr) {
        jurisdiction = e.service->jurisdiction;
        service = cell(e.service->name, 18);
      }
    }
    line(out, "  {:<30} {:<9} {:<24} {:>5} {:<5} {:<3} {:<3} {:<18} {:>9} {:>9}",
         d.hostname.empty() ? "(unnamed)" : cell(d.hostname, 30), d.hostname_source.empty() ? "-" : cell(d.hostname_source),
         d.address_known ? d.ip.to_string() : fmt::format("via {}:{}", d.via_ip.to_string(), d.via_port), d.port, cell(d.encrypted == 0 ? app + "!" : app), cell(country), cell(jurisdiction), service,
         core::human_bytes(d.bytes_out), core::human_bytes(d.bytes_in));
  }
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  for (const auto& d : r.destinations) {
    if (!d.via_type.empty()) continue;  // a proxied flow's bytes are counted once, at the proxy
    sent += d.bytes_out;
    received += d.bytes_in;
  }
  out += '\n';
  line(out, "Totals: sent {}, received {}; packets: {} TCP, {} UDP, {} ICMP, {} other IP, {} not IP, {} malformed",
       core::human_bytes(sent), core::human_bytes(received), r.decode.tcp, r.decode.udp, r.decode.icmp,
       r.decode.other_ip, r.decode.not_ip, r.decode.malformed);
  std::map<std::string, std::size_t> by_type;  // which tunnels, counted by flow: the outer addresses are in the JSON report
  for (const analysis::FlowRow& f : r.flows) {
    if (f.tunnel) ++by_type[analysis::packet::to_string(f.tunnel->type)];
  }
  if (r.decode.tunnelled > 0 || !by_type.empty()) {
    std::string kinds;
    for (const auto& [type, n] : by_type) kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", n, type);
    line(out, "Tunnels: {} packets opened; flows inside: {}", r.decode.tunnelled, kinds.empty() ? "none" : kinds);
  }
  line(out, "Named: {:.0f}% of flows, {:.0f}% of bytes sent ({} of {} flows); '!' marks plaintext",
       100.0 * r.coverage.flow_share(), 100.0 * r.coverage.bytes_out_share(), r.coverage.named_flows,
       r.coverage.flows);
  if (r.coverage.decrypted_flows > 0 ||
      r.coverage.blind_spots[static_cast<std::size_t>(analysis::app::BlindSpot::kEncryptedNoKeys)] > 0) {
    std::uint64_t requests = 0;
    for (const analysis::FlowRow& f : r.flows) {
      if (f.details && f.details->requests && f.details->requests->scheme == "https") requests += f.details->requests->list.size();
    }
    line(out, "Decrypted: {:.0f}% of encrypted bytes sent ({} of {} encrypted flows); {} HTTPS requests reconstructed",
         100.0 * r.coverage.decrypted_share(), r.coverage.decrypted_flows, r.coverage.encrypted_flows, requests);
  }
  {
    const auto& counts = r.coverage.blind_spots;
    std::string spots;
    for (std::size_t i = 1; i < counts.size(); ++i) {
      if (counts[i] == 0) continue;
      if (!spots.empty()) spots += ", ";
      spots += fmt::format("{} {}", counts[i], analysis::app::to_string(static_cast<analysis::app::BlindSpot>(i)));
    }
    if (!spots.empty()) line(out, "Blind spots (flows): {}", spots);
  }
  if (const std::string why = analysis::unnamed_summary(r.coverage); !why.empty()) {
    line(out, "Unnamed (flows, why): {}", why);
  }
  if (r.decode.fragments > 0) {
    line(out, "        {} IP fragments, {} datagrams reassembled", r.decode.fragments, r.decode.reassembled);
  }
  std::vector<std::string_view> credited;  // each licence's credit once, however many files carry it
  for (const auto& db : r.geo_databases) {
    if (db.attribution.empty() || std::find(credited.begin(), credited.end(), db.attribution) != credited.end()) continue;
    credited.push_back(db.attribution);
    line(out, "Geolocation: {}", cell(db.attribution));
  }
  out += '\n';
  what_left_block(out, r);
  if (input.outcome != nullptr) {
    out += '\n';
    out += render_findings_text(r, input.outcome, options.color);
  }
  if (!r.warnings.empty()) {
    out += '\n';
    line(out, "Warnings");
    for (const auto& w : r.warnings) line(out, "  - {}", cell(w));
  }
  return out;
}

void write_text(const ReportInput& input, const ReportOptions& options, Output& out) {
  out.write(render_text(input, options));
}

}  // namespace flowaudit::report
