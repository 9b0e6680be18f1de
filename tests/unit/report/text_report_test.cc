#include "report/text_report.h"

#include <doctest/doctest.h>

#include <string>

using flowaudit::analysis::AuditResult;
using flowaudit::report::render_text;

TEST_SUITE("report.text") {
  TEST_CASE("inputs, destinations and warnings") {
    AuditResult r;
    flowaudit::capture::SourceInfo in;
    in.path = "a.pcap";
    in.format = "pcap";
    in.link_types = {1};
    in.complete = false;
    r.inputs = {in};
    for (int i = 0; i < 3; ++i) {
      flowaudit::analysis::flow::Destination d;
      d.ip = *flowaudit::core::IpAddress::parse("192.0.2." + std::to_string(i + 1));
      d.port = 443;
      d.protocol = 6;
      d.bytes_out = static_cast<std::uint64_t>(3 - i) * 1000;
      r.destinations.push_back(d);
    }
    r.warnings = {"something odd"};
    const std::string text = render_text({r}, {}, 2);
    CHECK(text.find("a.pcap  pcap  ethernet") != std::string::npos);
    CHECK(text.find("INCOMPLETE") != std::string::npos);
    CHECK(text.find("Destinations by bytes sent (2 of 3)") != std::string::npos);
    CHECK(text.find("192.0.2.1 ") != std::string::npos);
    CHECK(text.find("192.0.2.3") == std::string::npos);
    CHECK(text.find("  - something odd") != std::string::npos);
    CHECK(text.find("sent 6.0 kB") != std::string::npos);  // totals cover every destination
  }
}
