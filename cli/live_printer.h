// The terminal side of a live capture (capture and run): its events on stderr as they come.
#pragma once

#include <fmt/format.h>

#include "cli/options.h"
#include "core/escape.h"
#include "core/format.h"
#include "rules/eval/records.h"
#include "session/live_session.h"

namespace flowaudit::cli {

// Live events on stderr as they come. Names are from the wire (a TLS SNI may carry ESC, CR,
// U+202E): escaped, like the rest.
class LivePrinter final : public session::LiveSink {
 public:
  // `run`: the capture ends with the command, not at Ctrl-C.
  explicit LivePrinter(bool run = false) : run_(run) {}
  void error(std::string_view message) override { messages().error(message); }
  void line(std::string_view text) override { messages().line(text); }
  void started(const std::string& interface, const std::string& link_type, const capture::DropResult& dropped,
               const std::string& write) override {
    fmt::print(stderr, "flowaudit: capturing on {} ({}){}{}; {}\n", interface, link_type,
               dropped.dropped ? " as " + dropped.user : std::string(),
               write.empty() ? std::string() : ", keeping packets in " + write,
               run_ ? "the report is written when the command ends" : "Ctrl-C stops and writes the report");
  }
  void new_destination(const analysis::NewDestination& d, const analysis::enrich::DestinationEnrichment& e) override {
    std::string where = e.geo.country.empty() ? "-" : e.geo.country;
    std::string whose = e.service != nullptr ? e.service->name + " (" + e.service->jurisdiction + ")" : "-";
    // Through a proxy only the proxy's address is on the wire: the server's country is unknown
    // unless the client asked by address.
    const std::string address = d.address_known() ? d.ip.to_string() : std::string("?");
    const std::string via = d.via_type.empty() ? std::string()
                                               : fmt::format(" via {} {}:{}", d.via_type, d.via_ip.to_string(), d.via_port);
    fmt::print(stderr, "flowaudit: new destination {} {}:{}/{}{}  server {}  service {}\n",
               d.hostname.empty() ? "(unnamed)" : core::escape_terminal(d.hostname), address, d.port,
               rules::eval::transport_name(d.protocol), via, core::escape_terminal(where), core::escape_terminal(whose));
  }
  void destination_finding(const rules::Rule& rule) override {
    fmt::print(stderr, "flowaudit:   {} {}: {}\n", rules::severity_name(rule.severity), rule.id, rule.title);
  }
  void flow_finding(std::string_view name, const analysis::flow::Destination& d, const rules::Rule& rule) override {
    const std::string where = fmt::format("{} {}:{}/{}", name.empty() ? "(unnamed)" : core::escape_terminal(name),
                                          d.ip.to_string(), d.port, rules::eval::transport_name(d.protocol));
    fmt::print(stderr, "flowaudit: finding on {}\nflowaudit:   {} {}: {}\n", where,
               rules::severity_name(rule.severity), rule.id, rule.title);
  }
  void stats(std::uint64_t packets, std::uint64_t bytes, std::uint64_t kernel_dropped,
             std::uint64_t interface_dropped) override {
    fmt::print(stderr, "flowaudit: {} packets, {} captured; kernel dropped {}, interface dropped {}\n", packets,
               core::human_bytes(bytes), kernel_dropped, interface_dropped);
  }

 private:
  bool run_ = false;
};

}  // namespace flowaudit::cli
