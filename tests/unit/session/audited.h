// Captures audited as `flowaudit audit` does it, for tests that read whole results: session::replay
// (the one replay loop, then AuditSession::complete: names, geolocation, service, policy) with the
// fixture geolocation databases and the built-in catalog, and no policy unless one is named. The
// result shares what it points to (string pool, catalog), so it may outlive the session.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "session/replay_session.h"

namespace flowaudit::test {

inline analysis::AuditResult audited(const std::vector<std::string>& captures,
                                     std::vector<std::string> policies = {"none"}) {
  struct Messages final : session::Messages {
    std::vector<std::string> errors;
    void error(std::string_view m) override { errors.emplace_back(m); }
    void line(std::string_view t) override { errors.emplace_back(t); }
  };
  const std::string source = FLOWAUDIT_SOURCE_DIR;
  ::setenv("FLOWAUDIT_DATA_DIR", (source + "/data").c_str(), 0);  // the built-in catalog and policies
  session::Settings settings;
  settings.geoip_dbs = {source + "/tests/data/geo/fixture-country.mmdb", source + "/tests/data/geo/fixture-asn.mmdb"};
  settings.policies = std::move(policies);
  Messages messages;
  session::AuditSession run(std::move(settings), messages);
  const bool replayed = session::replay(run, captures);
  for (const auto& e : messages.errors) INFO(e);
  REQUIRE(replayed);
  REQUIRE(messages.errors.empty());
  return std::move(run.result());
}

}  // namespace flowaudit::test
