// The events of an audit rendered by several threads (report/events/ocsf.h, EventContext::threads):
// the same events in the same order as one thread renders, with the same counts, for any number of
// threads and any batch size; a sink that fails stops the stream at once, whichever thread rendered
// what follows.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "report/events/ocsf.h"
#include "session/replay_session.h"

namespace flowaudit::report::events {
namespace {

struct Messages final : session::Messages {
  std::vector<std::string> errors;
  void error(std::string_view m) override { errors.emplace_back(m); }
  void line(std::string_view t) override { errors.emplace_back(t); }
};

// Several committed captures audited together with the default policy: flows with and without
// names, requests, DNS messages and findings.
class Audit {
 public:
  Audit() : run_(settings(), messages_) {
    const std::string source = FLOWAUDIT_SOURCE_DIR;
    std::vector<std::string> captures;
    for (const char* name : {"deepseek-session.pcapng", "trackers-mix.pcap", "http-post.pcap", "dns-records.pcap",
                             "proxy-connect.pcap", "quic-v1.pcap", "weak-tls.pcap"}) {
      captures.push_back(source + "/tests/data/" + name);
    }
    const bool replayed = session::replay(run_, captures);
    for (const auto& e : messages_.errors) INFO(e);
    REQUIRE(replayed);
  }
  [[nodiscard]] ReportInput input() const { return run_.report_input(); }

 private:
  static session::Settings settings() {
    const std::string source = FLOWAUDIT_SOURCE_DIR;
    ::setenv("FLOWAUDIT_DATA_DIR", (source + "/data").c_str(), 0);
    session::Settings s;
    s.geoip_dbs = {source + "/tests/data/geo/fixture-country.mmdb", source + "/tests/data/geo/fixture-asn.mmdb"};
    s.policies = {"default"};
    return s;
  }
  Messages messages_;
  session::AuditSession run_;
};

const Audit& audit() {
  static const Audit a;
  return a;
}

EventContext context(std::size_t threads, std::size_t batch) {
  EventContext c;
  c.sensor_id = "test-sensor";
  c.source = "file:test";
  c.logged_ns = 1'700'000'000'000'000'000;
  c.threads = threads;
  c.batch_records = batch;
  return c;
}

struct Stream {
  std::vector<std::string> events;
  EventCounts counts;
};

Stream stream(std::size_t threads, std::size_t batch, std::size_t stop_at = SIZE_MAX) {
  Stream s;
  s.counts = write_ocsf_events(audit().input(), context(threads, batch), [&](std::string_view e) {
    if (s.events.size() + 1 == stop_at) return false;
    s.events.emplace_back(e);
    return true;
  });
  return s;
}

}  // namespace

TEST_CASE("events: any number of threads and any batch size give the same events in the same order") {
  const Stream one = stream(1, 256);
  REQUIRE(one.events.size() > 40);
  CHECK(one.counts.network > 0);
  CHECK(one.counts.dns > 0);
  CHECK(one.counts.http > 0);
  CHECK(one.counts.findings > 0);
  CHECK(one.counts.total() == one.events.size());
  for (const std::size_t batch : {1, 3, 16}) {
    for (const std::size_t threads : {1, 2, 3, 8}) {
      CAPTURE(batch);
      CAPTURE(threads);
      const Stream many = stream(threads, batch);
      CHECK(many.counts.network == one.counts.network);
      CHECK(many.counts.dns == one.counts.dns);
      CHECK(many.counts.http == one.counts.http);
      CHECK(many.counts.findings == one.counts.findings);
      REQUIRE(many.events.size() == one.events.size());
      for (std::size_t i = 0; i < one.events.size(); ++i) {
        CAPTURE(i);
        CHECK(many.events[i] == one.events[i]);
      }
    }
  }
}

TEST_CASE("events: a sink that fails stops the stream there, with the counts of what it took") {
  const Stream one = stream(1, 256);
  REQUIRE(one.events.size() > 40);
  for (const std::size_t threads : {1, 4}) {
    for (const std::size_t stop_at : {std::size_t{1}, std::size_t{2}, std::size_t{17}, one.events.size()}) {
      CAPTURE(threads);
      CAPTURE(stop_at);
      const Stream cut = stream(threads, 1, stop_at);
      REQUIRE(cut.events.size() == stop_at - 1);
      CHECK(cut.counts.total() == stop_at - 1);
      for (std::size_t i = 0; i < cut.events.size(); ++i) CHECK(cut.events[i] == one.events[i]);
    }
  }
}

TEST_CASE("events: every event is one compact JSON object and the ids are unique") {
  const Stream one = stream(1, 256);
  std::vector<std::string> ids;
  for (const auto& e : one.events) {
    REQUIRE(!e.empty());
    CHECK(e.front() == '{');
    CHECK(e.back() == '}');
    CHECK(e.find('\n') == std::string::npos);
    const auto at = e.find("\"uid\":\"");
    REQUIRE(at != std::string::npos);
    ids.push_back(e.substr(at + 7, 36));
  }
  std::sort(ids.begin(), ids.end());
  CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());
}

}  // namespace flowaudit::report::events
