// Destinations folded from dropped flow records (--max-flow-records) must equal the ones a single
// pass over every flow gives, and the aggregator must refuse new destinations past its cap.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "analysis/flow/destinations.h"

using namespace flowaudit::analysis::flow;
using flowaudit::core::IpAddress;

namespace {

Flow make_flow(std::uint64_t id, const std::string& server, std::uint16_t port, std::uint64_t out, std::int64_t t) {
  Flow f;
  f.id = id;
  f.key.addr[0] = *IpAddress::parse("10.0.0.2");
  f.key.port[0] = static_cast<std::uint16_t>(40000 + id);
  f.key.addr[1] = *IpAddress::parse(server);
  f.key.port[1] = port;
  f.key.protocol = 6;
  f.client = 0;
  f.from[0] = DirectionStats{1, out, out / 2, t, t + 5};
  f.from[1] = DirectionStats{1, 2 * out, out, t + 1, t + 6};
  f.last_seen = t + 6;
  return f;
}

void check_same(const Destination& a, const Destination& b) {
  CHECK(a.ip == b.ip);
  CHECK(a.port == b.port);
  CHECK(a.flows == b.flows);
  CHECK(a.bytes_out == b.bytes_out);
  CHECK(a.bytes_in == b.bytes_in);
  CHECK(a.packets_out == b.packets_out);
  CHECK(a.payload_bytes_in == b.payload_bytes_in);
  CHECK(a.first_ns == b.first_ns);
  CHECK(a.last_ns == b.last_ns);
  CHECK(a.named_flows == b.named_flows);
  CHECK(a.hostname == b.hostname);
  CHECK(a.hostname_source == b.hostname_source);
  CHECK(a.app_protocol == b.app_protocol);
  CHECK(a.encrypted == b.encrypted);
  REQUIRE(a.names.size() == b.names.size());
  for (std::size_t i = 0; i < a.names.size(); ++i) {
    CHECK(a.names[i].name == b.names[i].name);
    CHECK(a.names[i].source == b.names[i].source);
    CHECK(a.names[i].flows == b.names[i].flows);
  }
}

}  // namespace

TEST_SUITE("analysis.flow.destinations") {
  TEST_CASE("folding some flows first gives the destinations of one pass over all of them") {
    // Two names tied on flows: the one seen first (lowest flow id) must win both ways.
    std::vector<Flow> flows;
    std::vector<FlowLabel> labels;
    const char* names[] = {"b.example", "a.example", "b.example", "a.example", "", "c.example"};
    const char* apps[] = {"tls", "tls", "http", "tls", "", "tls"};
    const int enc[] = {1, 1, 0, 1, -1, 1};
    for (std::uint64_t i = 0; i < 6; ++i) {
      flows.push_back(make_flow(i + 1, i < 4 ? "192.0.2.1" : "192.0.2.2", 443, 100 * (i + 1),
                                static_cast<std::int64_t>(1000 - i * 10)));
      FlowLabel& l = labels.emplace_back();
      l.hostname = names[i];
      l.hostname_source = *names[i] != '\0' ? "tls-sni" : "";
      l.app_protocol = apps[i];
      l.encrypted = enc[i];
    }
    const auto whole = aggregate_destinations(flows, &labels);

    // The records of flows 3, 6 and 1 were dropped (in that order), the others kept: the kept ones
    // see a.example first.
    DestinationAggregator folded(10);
    std::vector<Flow> kept;
    std::vector<FlowLabel> kept_labels;
    for (const std::size_t i : {2u, 5u, 0u}) CHECK(folded.add(flows[i], labels[i]));
    for (const std::size_t i : {1u, 3u, 4u}) {
      kept.push_back(flows[i]);
      kept_labels.push_back(labels[i]);
    }
    const auto merged = aggregate_destinations(kept, &kept_labels, folded.take());
    REQUIRE(whole.size() == 2);
    REQUIRE(merged.size() == whole.size());
    for (std::size_t i = 0; i < whole.size(); ++i) check_same(whole[i], merged[i]);
    const Destination& first = whole[0].ip == *IpAddress::parse("192.0.2.1") ? whole[0] : whole[1];
    CHECK(first.hostname == "b.example");
    CHECK(first.app_protocol == "mixed");
    CHECK(first.encrypted == 0);
  }

  TEST_CASE("the aggregator takes no new destination past its cap, but more flows to known ones") {
    DestinationAggregator a(1);
    const FlowLabel none;
    CHECK(a.add(make_flow(1, "192.0.2.1", 443, 10, 1), none));
    CHECK(!a.accepts(make_flow(2, "192.0.2.9", 443, 10, 2)));
    CHECK(!a.add(make_flow(2, "192.0.2.9", 443, 10, 2), none));
    CHECK(a.accepts(make_flow(3, "192.0.2.1", 443, 10, 3)));
    CHECK(a.add(make_flow(3, "192.0.2.1", 443, 10, 3), none));
    CHECK(a.size() == 1);
    const auto d = a.take();
    REQUIRE(d.size() == 1);
    CHECK(d[0].flows == 2);
  }

  TEST_CASE("proxied flows: one destination per requested host and proxy, and the proxy's own") {
    std::vector<Flow> flows;
    std::vector<FlowLabel> labels;
    const char* hosts[] = {"a.example", "b.example", "a.example"};
    for (std::uint64_t i = 0; i < 3; ++i) {
      flows.push_back(make_flow(i + 1, "198.51.100.8", 8888, 100, static_cast<std::int64_t>(1000 - i)));
      FlowLabel& l = labels.emplace_back();
      l.hostname = hosts[i];
      l.hostname_source = "proxy-connect";
      l.via_type = "http-connect";
      l.target_host = hosts[i];
      l.target_port = 443;
    }
    // One more by address: that address is the destination.
    flows.push_back(make_flow(4, "198.51.100.8", 8888, 100, 900));
    FlowLabel& by_addr = labels.emplace_back();
    by_addr.via_type = "socks5";
    by_addr.target_ip = *flowaudit::core::IpAddress::parse("203.0.113.5");
    by_addr.target_port = 443;
    const auto all = aggregate_destinations(flows, &labels);
    REQUIRE(all.size() == 4);
    int proxies = 0;
    for (const Destination& d : all) {
      if (d.proxied_flows > 0) {
        ++proxies;
        CHECK(d.flows == 4);
        CHECK(d.via_type.empty());
        CHECK(d.hostname.empty());  // not named after the sites behind it
      } else if (d.address_known) {
        CHECK(d.ip.to_string() == "203.0.113.5");
        CHECK(d.via_type == "socks5");
      } else {
        CHECK(d.via_ip.to_string() == "198.51.100.8");
        CHECK(d.flows == (d.requested_host == "a.example" ? 2u : 1u));
        CHECK(d.hostname == d.requested_host);
      }
    }
    CHECK(proxies == 1);
    // Folding the same flows one at a time gives the same destinations.
    DestinationAggregator a(10);
    for (std::size_t i = 0; i < flows.size(); ++i) CHECK(a.add(flows[i], labels[i]));
    CHECK(aggregate_destinations({}, nullptr, a.take()).size() == 4);
  }
}
