// LiveSession's failures reach its sink, not the terminal. (Capturing itself is covered end to
// end by tests/e2e/live_capture_test.cc, through the CLI's sink.)
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "session/live_session.h"

namespace flowaudit::session {
namespace {

struct Recorder final : LiveSink {
  std::vector<std::string> errors;
  int events = 0;
  void error(std::string_view m) override { errors.emplace_back(m); }
  void line(std::string_view) override { ++events; }
  void started(const std::string&, const std::string&, const capture::DropResult&, const std::string&) override {
    ++events;
  }
  void new_destination(const analysis::NewDestination&, const analysis::enrich::DestinationEnrichment&) override {
    ++events;
  }
  void destination_finding(const rules::Rule&) override { ++events; }
  void flow_finding(std::string_view, const analysis::flow::Destination&, const rules::Rule&) override { ++events; }
  void stats(std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t) override { ++events; }
};

}  // namespace

TEST_SUITE("session.live") {

TEST_CASE("a bad --client or a missing interface is told to the sink before anything is captured") {
  Recorder sink;
  SUBCASE("bad --client") {
    Settings settings;
    settings.clients = {"not-an-address"};
    AuditSession audit(settings, sink);
    LiveSettings live;
    live.interface = "lo";
    LiveSession s(audit, live, sink);
    CHECK_FALSE(s.open());
    CHECK(sink.errors == std::vector<std::string>{"--client: 'not-an-address' is not an address or CIDR prefix"});
  }
  SUBCASE("no such interface") {
    AuditSession audit(Settings{}, sink);
    LiveSettings live;
    live.interface = "flowaudit-none0";
    LiveSession s(audit, live, sink);
    CHECK_FALSE(s.open());
    REQUIRE(sink.errors.size() == 1);
    CHECK(sink.errors.front().find("flowaudit-none0") != std::string::npos);
  }
  CHECK(sink.events == 0);
}

}  // TEST_SUITE

}  // namespace flowaudit::session
