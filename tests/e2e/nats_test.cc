// --events ocsf:nats://... (issue 19): events published to a NATS JetStream subject of a real
// nats-server (Debian's, started here on 127.0.0.1 with its store in a temporary directory, and
// stopped after), at least once: acknowledged or spooled on disk, never silently lost; a spool
// sent by the next run; the server killed in the middle of a stream and restarted: every event
// stored, duplicates only as at-least-once allows.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <nats/nats.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "e2e/e2e_util.h"
#include "e2e/servers.h"
#include "session/nats_sink.h"
#include "unit/temp_dir.h"

namespace flowaudit::e2e {
namespace {

namespace fs = std::filesystem;

// Every message of the stream, as stored (data), in order: a pull consumer fetching in batches.
std::vector<std::string> stream_messages(int port) {
  static int reader = 0;
  natsConnection* nc = nullptr;
  const std::string url = "nats://127.0.0.1:" + std::to_string(port);
  REQUIRE(natsConnection_ConnectTo(&nc, url.c_str()) == NATS_OK);
  jsCtx* js = nullptr;
  REQUIRE(natsConnection_JetStream(&js, nc, nullptr) == NATS_OK);
  std::vector<std::string> out;
  jsStreamInfo* si = nullptr;
  if (js_GetStreamInfo(&si, js, "FLOWAUDIT", nullptr, nullptr) == NATS_OK) {
    const std::uint64_t total = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = "FLOWAUDIT";
    so.Config.AckPolicy = js_AckNone;
    natsSubscription* sub = nullptr;
    const std::string durable = "test-reader-" + std::to_string(reader++);
    REQUIRE(js_PullSubscribe(&sub, js, ">", durable.c_str(), nullptr, &so, nullptr) == NATS_OK);
    while (out.size() < total) {
      natsMsgList list{};
      if (natsSubscription_Fetch(&list, sub, 1000, 2000, nullptr) != NATS_OK) break;
      for (int k = 0; k < list.Count; ++k) {
        out.emplace_back(natsMsg_GetData(list.Msgs[k]), static_cast<std::size_t>(natsMsg_GetDataLength(list.Msgs[k])));
      }
      natsMsgList_Destroy(&list);
    }
    natsSubscription_Destroy(sub);
  }
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return out;
}

std::uint64_t stream_count(int port) {
  natsConnection* nc = nullptr;
  const std::string url = "nats://127.0.0.1:" + std::to_string(port);
  if (natsConnection_ConnectTo(&nc, url.c_str()) != NATS_OK) return 0;
  jsCtx* js = nullptr;
  std::uint64_t n = 0;
  if (natsConnection_JetStream(&js, nc, nullptr) == NATS_OK) {
    jsStreamInfo* si = nullptr;
    if (js_GetStreamInfo(&si, js, "FLOWAUDIT", nullptr, nullptr) == NATS_OK) {
      n = si->State.Msgs;
      jsStreamInfo_Destroy(si);
    }
    jsCtx_Destroy(js);
  }
  natsConnection_Destroy(nc);
  return n;
}

std::vector<std::string> ids_of(const std::vector<std::string>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.emplace_back(session::event_id(e));
  return out;
}

std::vector<std::string> file_lines(const fs::path& p) {
  std::vector<std::string> out;
  std::istringstream in(read_file(p));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

bool have_nats_server() { return have_program("nats-server"); }

}  // namespace

TEST_SUITE("e2e") {

TEST_CASE("nats: three sensors publish to JetStream; each event once, ids as in the file") {
  REQUIRE_MESSAGE(have_nats_server(), "nats-server is a test dependency (scripts/install-deps)");
  const test::TempDir dir;
  NatsServer server(dir.path() / "js", free_port());
  const std::vector<std::pair<std::string, std::string>> sensors{
      {"site-a", source_path("examples/deepseek-session.pcapng")},
      {"site-b", source_path("examples/deepseek-leaks.pcapng")},
      {"site-c", source_path("tests/data/dns-records.pcap")}};
  std::set<std::string> expected;
  for (const auto& [sensor, capture] : sensors) {
    const auto file = dir.path() / (sensor + ".ndjson");
    REQUIRE(run_bounded({"audit", capture, "--sensor-id", sensor, "--fail-on", "never", "--report", "json:/dev/null",
                 "--events", "ocsf:" + file.string()})
                .exit_code == 0);
    for (const auto& id : ids_of(file_lines(file))) expected.insert(id);
    const RunResult r = run_bounded({"audit", capture, "--sensor-id", sensor, "--fail-on", "never", "--report",
                             "json:/dev/null", "--events", "ocsf:" + server.url("flowaudit.events"),
                             "--events-spool", (dir.path() / "spool").string()});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("acknowledged by nats://") != std::string::npos);
    CHECK(r.err.find("wait in") == std::string::npos);
  }
  const auto stored = ids_of(stream_messages(server.port()));
  CHECK(stored.size() == expected.size());
  CHECK(std::set<std::string>(stored.begin(), stored.end()) == expected);

  // The same audit published again: JetStream's duplicate window drops every copy.
  REQUIRE(run_bounded({"audit", sensors[0].second, "--sensor-id", "site-a", "--fail-on", "never", "--report",
               "json:/dev/null", "--events", "ocsf:" + server.url("flowaudit.events"), "--events-spool",
               (dir.path() / "spool").string()})
              .exit_code == 0);
  CHECK(stream_count(server.port()) == expected.size());
}

TEST_CASE("nats: a server that is down: events wait in the spool, the next run sends them first") {
  REQUIRE(have_nats_server());
  const test::TempDir dir;
  const int port = free_port();
  const auto spool = dir.path() / "spool";
  const auto capture = source_path("examples/deepseek-leaks.pcapng");
  const std::string url = "nats://127.0.0.1:" + std::to_string(port) + "/flowaudit.events";
  const RunResult down = run_bounded({"audit", capture, "--sensor-id", "s", "--fail-on", "never", "--report",
                              "json:/dev/null", "--events", "ocsf:" + url, "--events-spool", spool.string()});
  INFO(down.err);
  CHECK(down.exit_code == 0);  // nothing lost: the events are on disk, and the user is told where
  CHECK(down.err.find("0 acknowledged") != std::string::npos);
  CHECK(down.err.find("wait in " + spool.string()) != std::string::npos);
  std::size_t spooled = 0;
  for (const auto& e : fs::directory_iterator(spool)) {
    spooled += file_lines(e.path()).size();
    struct stat st {};
    REQUIRE(::stat(e.path().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  REQUIRE(spooled > 10);

  NatsServer server(dir.path() / "js", port);
  const RunResult up = run_bounded({"audit", source_path("tests/data/dns-records.pcap"), "--sensor-id", "s", "--fail-on",
                            "never", "--report", "json:/dev/null", "--events", "ocsf:" + url, "--events-spool",
                            spool.string()});
  INFO(up.err);
  CHECK(up.exit_code == 0);
  CHECK(up.err.find(std::to_string(spooled) + " of them sent again from the spool") != std::string::npos);
  const auto stored = stream_messages(server.port());
  std::set<std::string> unique;
  for (const auto& id : ids_of(stored)) unique.insert(id);
  CHECK(unique.size() == stored.size());
  CHECK(stored.size() > spooled);
  for (const auto& e : fs::directory_iterator(spool)) CHECK(fs::file_size(e.path()) == 0);

  // A full spool: the events past it are lost, the run says how many and fails.
  server.kill();
  const RunResult full = run_bounded({"audit", capture, "--sensor-id", "t", "--fail-on", "never", "--report",
                              "json:/dev/null", "--events", "ocsf:" + url, "--events-spool",
                              (dir.path() / "small").string(), "--events-spool-max", "4k"});
  CHECK(full.exit_code == 2);
  CHECK(full.err.find("LOST") != std::string::npos);
  CHECK(full.err.find("the spool is full") != std::string::npos);
}

TEST_CASE("nats: the server killed in the middle of a stream and restarted: every event stored") {
  REQUIRE(have_nats_server());
  const test::TempDir dir;
  const auto capture = dir.path() / "many.pcap";
  write_dns_capture(capture, 60000);
  // What the audit sends: the same events to a file.
  const auto file = dir.path() / "expected.ndjson";
  REQUIRE(run_bounded({"audit", capture.string(), "--sensor-id", "k", "--policy", "none", "--report", "json:/dev/null",
               "--events", "ocsf:" + file.string()})
              .exit_code == 0);
  const auto expected_ids = ids_of(file_lines(file));
  const std::set<std::string> expected(expected_ids.begin(), expected_ids.end());
  REQUIRE(expected.size() >= 100000);

  NatsServer server(dir.path() / "js", free_port());
  const auto spool = dir.path() / "spool";
  const std::vector<std::string> args{"audit", capture.string(), "--sensor-id", "k", "--policy", "none",
                                      "--report", "json:/dev/null", "--events",
                                      "ocsf:" + server.url("flowaudit.events"), "--events-spool", spool.string()};
  auto audit = std::async(std::launch::async, [&] { return run_bounded(args); });
  // Kill the server once part of the stream is stored, bring it back a moment later.
  std::uint64_t at_kill = 0;
  for (int i = 0; i < 6000; ++i) {
    at_kill = stream_count(server.port());
    if (at_kill > 2000) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  server.kill();
  // Back soon enough that the client reconnects while it is still publishing: the publishes it had
  // in flight are never acknowledged, and must not stall the rest.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server.start();
  const RunResult r = audit.get();
  INFO(r.err);
  CHECK(r.exit_code == 0);
  MESSAGE("killed the server at " << at_kill << " of " << expected.size() << " events; " << r.err);
  CHECK(at_kill > 0);
  CHECK(at_kill < expected.size());  // the kill was in the middle of the stream
  // What was not acknowledged before the end is in the spool: the next run sends it.
  const RunResult next = run_bounded({"audit", source_path("tests/data/dns-records.pcap"), "--sensor-id", "k", "--policy",
                              "none", "--report", "json:/dev/null", "--events", "ocsf:" + server.url("flowaudit.events"),
                              "--events-spool", spool.string()});
  CHECK(next.exit_code == 0);
  const auto stored = ids_of(stream_messages(server.port()));
  std::set<std::string> unique(stored.begin(), stored.end());
  std::size_t missing = 0;
  for (const auto& id : expected) missing += unique.count(id) == 0 ? 1 : 0;
  CHECK(missing == 0);  // nothing lost
  MESSAGE("stored " << stored.size() << " messages, " << unique.size() << " distinct ids");
}

}  // TEST_SUITE

}  // namespace flowaudit::e2e
