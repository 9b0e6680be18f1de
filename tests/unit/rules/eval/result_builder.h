// Test-only: pieces of hand-built audit results for the evaluator tests.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "analysis/audit.h"
#include "core/ip_address.h"
#include "rules/load/loader.h"

namespace flowaudit::test {

// A flow from the device 192.168.1.23 to server:port, with `bytes_out` sent and 100 received.
inline analysis::flow::Flow device_flow(std::uint64_t id, const char* server, std::uint16_t port, std::uint8_t proto,
                                        std::uint64_t bytes_out) {
  analysis::flow::Flow f;
  f.id = id;
  f.key.addr[0] = *core::IpAddress::parse("192.168.1.23");
  f.key.addr[1] = *core::IpAddress::parse(server);
  f.key.port[0] = static_cast<std::uint16_t>(40000 + f.id);
  f.key.port[1] = port;
  f.key.protocol = proto;
  f.client = 0;
  f.from[0].packets = 3;
  f.from[0].bytes = bytes_out;
  f.from[0].first_ns = 1'700'000'000'000'000'000 + f.id;
  f.from[0].last_ns = f.from[0].first_ns + 10;
  f.from[1].bytes = 100;
  f.last_seen = f.from[0].last_ns;
  return f;
}

// Destinations and coverage of the flows, as the audit makes them.
inline analysis::AuditResult& finish_result(analysis::AuditResult& r) {
  r.destinations = analysis::destinations_of(r.flows);
  r.coverage.flows = r.flows.size();
  for (const auto& f : r.flows) r.coverage.bytes_out += f.out().bytes;
  return r;
}

// A built-in pack of the source tree's data/policies (findings point into it: keep it alive).
inline rules::Policy builtin_policy(const std::string& name) {
  rules::load::LoadOptions options;
  options.builtin_dir = std::string(FLOWAUDIT_SOURCE_DIR) + "/data/policies";
  auto loaded = rules::load::load_policy({name}, options);
  for (const auto& e : loaded.errors) INFO(e);
  REQUIRE(loaded.ok());
  return std::move(loaded.policy);
}

}  // namespace flowaudit::test
