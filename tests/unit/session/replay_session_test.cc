// The replay the command line runs (session::replay): the same loop as Auditor::run, the usage
// errors it reports through its sink, and the progress sink's calls.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "capture/pcap_file_source.h"
#include "session/replay_session.h"

namespace flowaudit::session {
namespace {

std::string source_path(const std::string& relative) { return std::string(FLOWAUDIT_SOURCE_DIR) + "/" + relative; }

struct Recorder final : Messages {
  std::vector<std::string> errors;
  std::vector<std::string> lines;
  void error(std::string_view m) override { errors.emplace_back(m); }
  void line(std::string_view t) override { lines.emplace_back(t); }
};

struct ProgressRecorder final : ReplayProgress {
  std::vector<std::string> started;
  int done_calls = 0;
  void start(const std::string& path) override { started.push_back(path); }
  void update(std::uint64_t, std::uint64_t) override {}
  void done() override { ++done_calls; }
};

Settings fixture_settings() {
  ::setenv("FLOWAUDIT_DATA_DIR", source_path("data").c_str(), 0);
  Settings s;
  s.geoip_dbs = {source_path("tests/data/geo/fixture-country.mmdb")};
  return s;
}

}  // namespace

TEST_SUITE("session.replay") {

TEST_CASE("the replay reads like Auditor::run and completes the audit") {
  Recorder messages;
  ProgressRecorder progress;
  AuditSession s(fixture_settings(), messages);
  const std::vector<std::string> captures{source_path("tests/data/deepseek-session.pcapng"),
                                          source_path("tests/data/trackers-mix.pcap")};
  REQUIRE(replay(s, captures, &progress));
  CHECK(messages.errors.empty());
  CHECK(progress.started == captures);
  CHECK(progress.done_calls == 2);

  analysis::Auditor direct{analysis::AuditOptions{}};
  std::vector<capture::SourceInfo> infos;
  for (const auto& c : captures) {
    auto opened = capture::open_capture_file(c);
    REQUIRE(opened.source);
    infos.push_back(direct.run(*opened.source, static_cast<std::uint32_t>(infos.size())));
  }
  const auto expected = direct.finish(std::move(infos));
  const auto& got = s.result();
  CHECK(got.packets == expected.packets);
  CHECK(got.inputs.size() == 2);
  CHECK(got.flows.size() == expected.flows.size());
  CHECK(got.destinations.size() == expected.destinations.size());
  for (const auto& d : got.destinations) CHECK(d.enrichment.has_value());
  REQUIRE(s.outcome() != nullptr);  // the default policy ran
  CHECK(s.report_input().outcome == s.outcome());
}

TEST_CASE("usage errors go to the sink, nothing is printed") {
  Recorder messages;
  SUBCASE("standard input twice") {
    AuditSession s(fixture_settings(), messages);
    CHECK_FALSE(replay(s, {"-", "-"}));
    CHECK(messages.errors == std::vector<std::string>{"standard input ('-') can be given only once"});
  }
  SUBCASE("a bad --client") {
    auto settings = fixture_settings();
    settings.clients = {"1.2.3"};
    AuditSession s(settings, messages);
    CHECK_FALSE(replay(s, {source_path("tests/data/http-post.pcap")}));
    CHECK(messages.errors == std::vector<std::string>{"--client: '1.2.3' is not an address or CIDR prefix"});
  }
  SUBCASE("no capture readable") {
    AuditSession s(fixture_settings(), messages);
    CHECK_FALSE(replay(s, {"/nonexistent/a.pcap", "/nonexistent/b.pcap"}));
    REQUIRE(messages.errors.size() == 3);
    CHECK(messages.errors.back() == "no input could be read");
  }
  SUBCASE("an --app the policy has no allowlist for") {
    auto settings = fixture_settings();
    settings.app = "no-such-app";
    AuditSession s(settings, messages);
    CHECK_FALSE(replay(s, {source_path("tests/data/http-post.pcap")}));
    REQUIRE(messages.errors.size() == 1);
    CHECK(messages.errors.front().starts_with("--app: the policy has no allowlist for 'no-such-app'"));
  }
}

}  // TEST_SUITE

}  // namespace flowaudit::session
