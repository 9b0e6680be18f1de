#include "analysis/flow/destinations.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace flowaudit::analysis::flow;
using flowaudit::core::IpAddress;

namespace {

// A flow from `client` to `server:port`, with the client as endpoint `client_index`.
Flow flow(const std::string& server, std::uint16_t port, std::uint8_t proto, std::uint64_t out_bytes,
          std::uint64_t in_bytes, std::int64_t first, std::int64_t last, std::uint8_t client_index = 0) {
  Flow f;
  const std::uint8_t s = static_cast<std::uint8_t>(1 - client_index);
  f.key.addr[client_index] = *IpAddress::parse("10.0.0.2");
  f.key.port[client_index] = 50000;
  f.key.addr[s] = *IpAddress::parse(server);
  f.key.port[s] = port;
  f.key.protocol = proto;
  f.client = client_index;
  f.from[client_index].packets = 2;
  f.from[client_index].bytes = out_bytes;
  f.from[client_index].payload_bytes = out_bytes / 2;
  f.from[client_index].first_ns = first;
  f.from[client_index].last_ns = last;
  f.from[s].packets = 1;
  f.from[s].bytes = in_bytes;
  f.from[s].payload_bytes = in_bytes / 2;
  f.from[s].first_ns = first + 1;
  f.from[s].last_ns = last;
  f.last_seen = last;
  return f;
}

}  // namespace

TEST_SUITE("analysis.flow.destinations") {
  TEST_CASE("no flows, no destinations") { CHECK(aggregate_destinations({}).empty()); }

  TEST_CASE("flows to one server, port and transport are summed") {
    const std::vector<Flow> flows = {flow("1.1.1.1", 443, 6, 1000, 5000, 100, 200, 0),
                                     flow("1.1.1.1", 443, 6, 300, 700, 50, 150, 1)};
    const auto d = aggregate_destinations(flows);
    REQUIRE(d.size() == 1);
    CHECK(d[0].ip == *IpAddress::parse("1.1.1.1"));
    CHECK(d[0].port == 443);
    CHECK(d[0].protocol == 6);
    CHECK(d[0].flows == 2);
    CHECK(d[0].packets_out == 4);
    CHECK(d[0].packets_in == 2);
    CHECK(d[0].bytes_out == 1300);
    CHECK(d[0].bytes_in == 5700);
    CHECK(d[0].payload_bytes_out == 650);
    CHECK(d[0].payload_bytes_in == 2850);
    CHECK(d[0].first_ns == 50);
    CHECK(d[0].last_ns == 200);
  }

  TEST_CASE("port and transport separate destinations") {
    const std::vector<Flow> flows = {flow("1.1.1.1", 443, 6, 10, 0, 0, 0), flow("1.1.1.1", 443, 17, 10, 0, 0, 0),
                                     flow("1.1.1.1", 80, 6, 10, 0, 0, 0), flow("2001:db8::1", 443, 6, 10, 0, 0, 0)};
    CHECK(aggregate_destinations(flows).size() == 4);
  }

  TEST_CASE("sorted by bytes sent, largest first; ties by address then port") {
    const std::vector<Flow> flows = {flow("9.9.9.9", 53, 17, 10, 0, 0, 0), flow("8.8.8.8", 443, 6, 5000, 0, 0, 0),
                                     flow("1.1.1.1", 853, 6, 10, 0, 0, 0), flow("1.1.1.1", 443, 6, 10, 0, 0, 0),
                                     flow("4.4.4.4", 443, 6, 700, 99999, 0, 0)};
    const auto d = aggregate_destinations(flows);
    REQUIRE(d.size() == 5);
    CHECK(d[0].ip.to_string() == "8.8.8.8");
    CHECK(d[1].ip.to_string() == "4.4.4.4");  // received bytes do not count
    CHECK(d[2].ip.to_string() == "1.1.1.1");
    CHECK(d[2].port == 443);
    CHECK(d[3].ip.to_string() == "1.1.1.1");
    CHECK(d[3].port == 853);
    CHECK(d[4].ip.to_string() == "9.9.9.9");
  }

  TEST_CASE("a flow with packets one way only") {
    Flow f = flow("1.1.1.1", 443, 6, 100, 0, 500, 900);
    f.from[1].packets = 0;
    f.from[1].first_ns = 0;
    const auto d = aggregate_destinations({f});
    REQUIRE(d.size() == 1);
    CHECK(d[0].first_ns == 500);  // the silent direction's zero timestamp is ignored
    CHECK(d[0].packets_in == 0);
  }
}
