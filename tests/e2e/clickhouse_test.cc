// The fleet's store end to end (issue 19): sensors publish OCSF events to NATS JetStream,
// `flowaudit sink` stores them in ClickHouse, and the example queries of docs/fleet.md answer. Both
// servers are Debian's, started here on 127.0.0.1 with their data in a test directory and stopped
// after. The faults: NATS killed in the middle of the sink's stream and restarted, ClickHouse down
// while events wait; nothing is lost, and every event is one row once the store collapses copies.
#include <sys/stat.h>
#include <unistd.h>

#include <future>
#include <map>
#include <set>

#include "e2e/e2e_util.h"
#include "e2e/servers.h"
#include "session/clickhouse_client.h"
#include "session/nats_sink.h"
#include "unit/temp_dir.h"

namespace flowaudit::e2e {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    const auto line = text.substr(pos, nl == std::string_view::npos ? text.size() - pos : nl - pos);
    if (!line.empty()) out.emplace_back(line);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
  }
  return out;
}

// The answer of a query as lines of tab-separated values.
std::vector<std::string> query(session::ClickHouseClient& ch, const std::string& sql) {
  std::string answer;
  const std::string err = ch.execute(sql + " FORMAT TSV", {}, &answer);
  INFO(sql);
  REQUIRE(err.empty());
  return lines_of(answer);
}

std::uint64_t number(session::ClickHouseClient& ch, const std::string& sql) {
  const auto rows = query(ch, sql);
  REQUIRE(rows.size() == 1);
  return std::stoull(rows[0]);
}

// Event ids by table, from events files.
std::map<std::string, std::set<std::string>> ids_by_table(const std::vector<fs::path>& files) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& f : files) {
    for (const auto& line : lines_of(read_file(f))) {
      const std::string id(session::event_id(line));
      if (line.find("\"class_uid\":4001") != std::string::npos) out["network_activity"].insert(id);
      if (line.find("\"class_uid\":4002") != std::string::npos) out["http_activity"].insert(id);
      if (line.find("\"class_uid\":4003") != std::string::npos) out["dns_activity"].insert(id);
      if (line.find("\"class_uid\":2004") != std::string::npos) out["findings"].insert(id);
    }
  }
  return out;
}

std::set<std::string> stored_ids(session::ClickHouseClient& ch, const std::string& table) {
  const auto rows = query(ch, "SELECT toString(event_id) FROM " + table);
  return {rows.begin(), rows.end()};
}

// The example queries of docs/fleet.md: every ```sql block whose first line is a "-- " comment
// naming it; the name is the comment.
std::vector<std::pair<std::string, std::string>> documented_queries() {
  const std::string doc = read_file(source_path("docs/fleet.md"));
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while ((pos = doc.find("```sql\n", pos)) != std::string::npos) {
    const auto start = pos + 7;
    const auto end = doc.find("```", start);
    REQUIRE(end != std::string::npos);
    const std::string block = doc.substr(start, end - start);
    pos = end + 3;
    if (!block.starts_with("-- ")) continue;
    const auto nl = block.find('\n');
    out.emplace_back(block.substr(3, nl - 3), block.substr(nl + 1));
  }
  return out;
}

struct Sensor {
  std::string id;
  std::string capture;
  std::vector<std::string> labels;
};

}  // namespace

TEST_SUITE("e2e") {

TEST_CASE("clickhouse: sensors -> NATS -> flowaudit sink -> ClickHouse; the documented queries answer") {
  REQUIRE_MESSAGE(have_program("clickhouse-server"), "clickhouse-server is a test dependency (scripts/install-deps)");
  const test::TempDir dir;
  NatsServer nats(dir.path() / "nats", free_port());
  ClickHouseServer clickhouse(dir.path() / "clickhouse");
  const std::string subject = "flowaudit.events";
  const auto spool = dir.path() / "spool";

  // The tables, local and Distributed (over a one-shard cluster of this server).
  const RunResult created = run_bounded({"sink", "--create-tables", "--distributed", "--to", clickhouse.url("fleet")});
  INFO(created.err);
  REQUIRE(created.exit_code == 0);

  const std::vector<Sensor> sensors{
      {"lab-phone-1", source_path("examples/deepseek-leaks.pcapng"),
       {"app=deepseek", "app_version=1.1.0", "device=phone-1"}},
      {"lab-phone-2", source_path("examples/deepseek-session.pcapng"),
       {"app=deepseek", "app_version=1.0.0", "device=phone-2"}},
      {"site-a", source_path("tests/data/dns-records.pcap"), {}},
  };
  std::vector<fs::path> files;
  for (const auto& s : sensors) {
    std::vector<std::string> common{"audit", s.capture, "--sensor-id", s.id, "--fail-on", "never",
                                    "--report", "json:/dev/null"};
    for (const auto& l : s.labels) {
      common.push_back("--label");
      common.push_back(l);
    }
    // The events a sensor sends are the events it would write to a file: the same ids.
    files.push_back(dir.path() / (s.id + ".ndjson"));
    auto to_file = common;
    to_file.insert(to_file.end(), {"--events", "ocsf:" + files.back().string()});
    REQUIRE(run_bounded(to_file).exit_code == 0);
    auto to_nats = common;
    to_nats.insert(to_nats.end(), {"--events", "ocsf:" + nats.url(subject), "--events-spool", spool.string()});
    const RunResult r = run_bounded(to_nats);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  // The fourth sensor: `flowaudit run` of real clients in the test's namespaces, where it can run.
  bool with_run = false;
  if (::geteuid() == 0 && have_program("nft")) {
    const auto run_dir = dir.path() / "run";
    fs::create_directories(run_dir);
    fs::permissions(dir.path(), fs::perms::others_exec, fs::perm_options::add);
    fs::permissions(run_dir, fs::perms::all, fs::perm_options::add);  // flowaudit writes as nobody
    const auto run_spool = run_dir / "spool";
    fs::create_directories(run_spool);
    fs::permissions(run_spool, fs::perms::all, fs::perm_options::add);
    const std::string cmd = "'" + source_path("tests/tools/run-session") + "' '" + FLOWAUDIT_BINARY + "' '" +
                            (run_dir / "session").string() + "' clients --sensor-id lab-run --label app=curl " +
                            "--events ocsf:" + nats.url(subject) + " --events-spool '" + run_spool.string() +
                            "' 2>'" + (run_dir / "stderr").string() + "'";
    const int status = std::system(cmd.c_str());
    const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (rc == 77) {
      MESSAGE("the run sensor is skipped here: " << read_file(run_dir / "stderr"));
    } else {
      INFO(read_file(run_dir / "stderr"));
      REQUIRE(rc == 0);
      with_run = true;
    }
  } else {
    MESSAGE("the run sensor is skipped: `flowaudit run` needs root and nft");
  }

  // The sink stores everything and stops once the subject is quiet.
  const RunResult sink = run_bounded({"sink", "--from", nats.url(subject), "--to", clickhouse.url("fleet"),
                                      "--idle-exit", "2", "--batch", "64"});
  INFO(sink.err);
  REQUIRE(sink.exit_code == 0);
  CHECK(sink.err.find("0 refused") != std::string::npos);

  session::ClickHouseClient ch(*[&] {
    std::string e;
    return session::parse_clickhouse_target(clickhouse.url("fleet"), e);
  }(), {});
  const auto expected = ids_by_table(files);
  REQUIRE(expected.size() == 4);
  std::uint64_t run_events = 0;
  for (const auto& entry : expected) {
    const std::string& table = entry.first;  // not a structured binding: clang 14 cannot capture one
    const std::set<std::string>& ids = entry.second;
    CAPTURE(table);
    const auto stored = stored_ids(ch, table + " WHERE sensor != 'lab-run'");
    CHECK(stored == ids);
    // Each event is one row of the collapsed table, and Distributed reads the same rows.
    CHECK(number(ch, "SELECT count() FROM " + table + " FINAL WHERE sensor != 'lab-run'") == ids.size());
    CHECK(number(ch, "SELECT count() FROM " + table + "_all FINAL WHERE sensor != 'lab-run'") == ids.size());
    run_events += number(ch, "SELECT count() FROM " + table + " WHERE sensor = 'lab-run'");
  }
  if (with_run) {
    CHECK(number(ch, "SELECT count() FROM network_activity WHERE sensor = 'lab-run' AND app = 'curl'") > 0);
    CHECK(number(ch, "SELECT count() FROM http_activity WHERE sensor = 'lab-run' AND source LIKE 'run:%'") > 0);
    MESSAGE("the run sensor stored " << run_events << " events");
  }
  // Labels become columns; without a device label the device is the sensor.
  CHECK(query(ch, "SELECT DISTINCT device FROM network_activity WHERE sensor != 'lab-run' ORDER BY device") ==
        std::vector<std::string>{"phone-1", "phone-2", "site-a"});
  CHECK(query(ch, "SELECT DISTINCT app_version FROM http_activity WHERE device = 'phone-1'") ==
        std::vector<std::string>{"1.1.0"});
  // Personal data is stored as the reports show it: masked.
  const auto values = query(ch, "SELECT arrayStringConcat(data_values, ',') FROM http_activity WHERE device = "
                                "'phone-1' AND dst_name = 'gator.volces.com'");
  REQUIRE(!values.empty());
  for (const auto& v : values) CHECK(v.find("7321456789012345678") == std::string::npos);

  // The example queries of docs/fleet.md, as written there.
  const auto queries = documented_queries();
  REQUIRE(queries.size() >= 4);
  std::map<std::string, std::vector<std::string>> answers;
  for (const auto& query_entry : queries) {
    const std::string& name = query_entry.first;
    const std::string& sql = query_entry.second;
    CAPTURE(name);
    answers[name] = query(ch, sql);
    CHECK(!answers[name].empty());
  }
  const auto has_row = [&](const std::string& name, const std::vector<std::string>& cells) {
    const auto it = answers.find(name);
    REQUIRE_MESSAGE(it != answers.end(), "docs/fleet.md has no query named '" << name << "'");
    for (const auto& row : it->second) {
      bool all = true;
      for (const auto& c : cells) all = all && ("\t" + row + "\t").find("\t" + c + "\t") != std::string::npos;
      if (all) return true;
    }
    return false;
  };
  CHECK(has_row("Destinations by operator jurisdiction, per device and day",
                {"2024-06-01", "phone-1", "CN", "gator.volces.com"}));
  CHECK(has_row("Devices that sent personal data to services operated under Chinese law",
                {"phone-1", "gator.volces.com", "device-id"}));
  CHECK(!has_row("Devices that sent personal data to services operated under Chinese law", {"site-a"}));
  // Version 1.0.0 (the session capture) contacted DeepSeek and Volcengine; 1.1.0 (the leaks
  // capture) added Tencent's ad network.
  CHECK(has_row("New destinations per app version", {"deepseek", "1.0.0", "chat.deepseek.com"}));
  CHECK(has_row("New destinations per app version", {"deepseek", "1.0.0", "gator.volces.com"}));
  CHECK(has_row("New destinations per app version", {"deepseek", "1.1.0", "mi.gdt.qq.com"}));
  CHECK(!has_row("New destinations per app version", {"deepseek", "1.1.0", "chat.deepseek.com"}));
  CHECK(!has_row("New destinations per app version", {"deepseek", "1.1.0", "gator.volces.com"}));
  CHECK(has_row("Findings over time", {"2024-06-01", "critical", "data-leaks.personal-data-plaintext"}));

  // Published and stored again (a sensor re-auditing, a redelivery): raw rows twice, and the
  // collapsed table one each. Another stream, so that JetStream's duplicate window lets it through.
  const RunResult pub = run_bounded({"audit", sensors[0].capture, "--sensor-id", sensors[0].id, "--fail-on", "never",
                                     "--report", "json:/dev/null", "--label", "app=deepseek", "--label",
                                     "app_version=1.1.0", "--label", "device=phone-1", "--events",
                                     "ocsf:" + nats.url("flowaudit.again"), "--nats-stream", "AGAIN",
                                     "--events-spool", spool.string()});
  REQUIRE(pub.exit_code == 0);
  const RunResult again = run_bounded({"sink", "--from", nats.url("flowaudit.again"), "--nats-stream", "AGAIN",
                                       "--to", clickhouse.url("fleet"), "--idle-exit", "1", "--durable", "again"});
  INFO(again.err);
  CHECK(again.exit_code == 0);
  for (const auto& entry : expected) {
    const std::string& table = entry.first;  // not a structured binding: clang 14 cannot capture one
    const std::set<std::string>& ids = entry.second;
    CAPTURE(table);
    CHECK(number(ch, "SELECT count() FROM " + table + " FINAL WHERE sensor != 'lab-run'") == ids.size());
    CHECK(number(ch, "SELECT uniqExact(event_id) FROM " + table + " WHERE sensor != 'lab-run'") == ids.size());
    CHECK(number(ch, "SELECT count() FROM " + table + " WHERE device = 'phone-1'") ==
          2 * number(ch, "SELECT count() FROM " + table + " FINAL WHERE device = 'phone-1'"));
  }
}

TEST_CASE("clickhouse: refused events are counted, kept in --refused, and never stop the others") {
  REQUIRE(have_program("clickhouse-server"));
  const test::TempDir dir;
  NatsServer nats(dir.path() / "nats", free_port());
  ClickHouseServer clickhouse(dir.path() / "clickhouse");
  REQUIRE(run_bounded({"sink", "--create-tables", "--to", clickhouse.url("fleet")}).exit_code == 0);
  // A good audit, then messages that are not flowaudit's events, on the same subject.
  const auto events = dir.path() / "good.ndjson";
  REQUIRE(run_bounded({"audit", source_path("tests/data/dns-records.pcap"), "--sensor-id", "s", "--fail-on", "never",
                       "--report", "json:/dev/null", "--events", "ocsf:" + events.string()})
              .exit_code == 0);
  const auto good = lines_of(read_file(events));
  std::string bad_uid = good.front();
  bad_uid.replace(bad_uid.find("\"uid\":\"") + 7, 8, "zzzzzzzz");
  std::string other_class = good.front();
  other_class.replace(other_class.find("\"class_uid\":"), 16, "\"class_uid\":1001");
  other_class.replace(other_class.find("\"uid\":\"") + 7, 8, "00000000");  // not a copy JetStream drops
  std::string deep(200, '[');
  {
    std::string payload;
    for (const auto& l : good) payload += l + "\n";
    payload += "not json\n" + bad_uid + "\n" + other_class + "\n" + deep + "\n{\"metadata\":{}}\n";
    // Published as a sensor's spool would be: the NATS sink replays a spool file line by line.
    const auto spool = dir.path() / "spool";
    fs::create_directories(spool);
    const std::string name = "127.0.0.1_" + std::to_string(nats.port()) + "_flowaudit.events.ndjson";
    std::ofstream(spool / name) << payload;
    REQUIRE(run_bounded({"audit", source_path("tests/data/dns-records.pcap"), "--sensor-id", "s", "--fail-on",
                         "never", "--report", "json:/dev/null", "--events", "ocsf:" + nats.url("flowaudit.events"),
                         "--events-spool", spool.string()})
                .exit_code == 0);
  }
  const auto refused = dir.path() / "refused.ndjson";
  const RunResult r = run_bounded({"sink", "--from", nats.url("flowaudit.events"), "--to", clickhouse.url("fleet"),
                                   "--idle-exit", "1", "--refused", refused.string()});
  INFO(r.err);
  CHECK(r.exit_code == 1);  // stored what it could; refused some: the operator must look
  CHECK(r.err.find("5 refused") != std::string::npos);
  CHECK(r.err.find("not JSON") != std::string::npos);
  CHECK(r.err.find("metadata.uid is not a UUID") != std::string::npos);
  const auto kept = lines_of(read_file(refused));
  CHECK(kept.size() == 5);
  struct stat st {};
  REQUIRE(::stat(refused.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  session::ClickHouseClient ch(*[&] {
    std::string e;
    return session::parse_clickhouse_target(clickhouse.url("fleet"), e);
  }(), {});
  // The good events are all there, once.
  std::uint64_t rows = 0;
  for (const auto* t : {"network_activity", "http_activity", "dns_activity", "findings"}) {
    rows += number(ch, std::string("SELECT count() FROM ") + t + " FINAL");
  }
  CHECK(rows == good.size());
}

TEST_CASE("clickhouse: NATS killed mid-stream and ClickHouse down: every event stored, each once after collapsing") {
  REQUIRE(have_program("clickhouse-server"));
  const test::TempDir dir;
  NatsServer nats(dir.path() / "nats", free_port());
  ClickHouseServer clickhouse(dir.path() / "clickhouse");
  REQUIRE(run_bounded({"sink", "--create-tables", "--to", clickhouse.url("fleet")}).exit_code == 0);
  session::ClickHouseClient ch(*[&] {
    std::string e;
    return session::parse_clickhouse_target(clickhouse.url("fleet"), e);
  }(), {});

  // 20,000 DNS exchanges: 40,000 events (a flow and a DNS message each).
  const auto capture = dir.path() / "many.pcap";
  write_dns_capture(capture, 20000);
  const auto file = dir.path() / "expected.ndjson";
  REQUIRE(run_bounded({"audit", capture.string(), "--sensor-id", "k", "--policy", "none", "--report",
                       "json:/dev/null", "--events", "ocsf:" + file.string()})
              .exit_code == 0);
  const auto expected = ids_by_table({file});
  const std::size_t total = expected.at("network_activity").size() + expected.at("dns_activity").size();
  REQUIRE(total >= 40000);
  REQUIRE(run_bounded({"audit", capture.string(), "--sensor-id", "k", "--policy", "none", "--report",
                       "json:/dev/null", "--events", "ocsf:" + nats.url("flowaudit.events"), "--events-spool",
                       (dir.path() / "spool").string()})
              .exit_code == 0);

  // The sink in small batches; NATS is killed once part is stored and restarted 0.3 s later.
  const std::vector<std::string> sink_args{"sink", "--from", nats.url("flowaudit.events"), "--to",
                                           clickhouse.url("fleet"), "--idle-exit", "3", "--batch", "500"};
  auto sink = std::async(std::launch::async, [&] { return run_bounded(sink_args); });
  std::uint64_t at_kill = 0;
  for (int i = 0; i < 3000 && at_kill < 3000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    at_kill = number(ch, "SELECT count() FROM dns_activity") + number(ch, "SELECT count() FROM network_activity");
  }
  nats.kill();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  nats.start();
  const RunResult first = sink.get();
  INFO(first.err);
  CHECK(first.exit_code == 0);
  MESSAGE("killed NATS with " << at_kill << " of " << total << " events stored; " << first.err);
  CHECK(at_kill < total);
  for (const auto* t : {"network_activity", "dns_activity"}) {
    CAPTURE(t);
    CHECK(stored_ids(ch, t) == expected.at(t));
    CHECK(number(ch, std::string("SELECT count() FROM ") + t + " FINAL") == expected.at(t).size());
  }

  // ClickHouse down: the sink hands every batch back and keeps trying; nothing is acknowledged, so
  // nothing is lost; once the server is back, everything is stored and the sink stops.
  clickhouse.kill();
  const auto more = dir.path() / "more.ndjson";
  REQUIRE(run_bounded({"audit", source_path("examples/deepseek-leaks.pcapng"), "--sensor-id", "late", "--fail-on",
                       "never", "--report", "json:/dev/null", "--events", "ocsf:" + more.string()})
              .exit_code == 0);
  REQUIRE(run_bounded({"audit", source_path("examples/deepseek-leaks.pcapng"), "--sensor-id", "late", "--fail-on",
                       "never", "--report", "json:/dev/null", "--events", "ocsf:" + nats.url("flowaudit.events"),
                       "--events-spool", (dir.path() / "spool").string()})
              .exit_code == 0);
  auto waiting = std::async(std::launch::async, [&] {
    return run_bounded({"sink", "--from", nats.url("flowaudit.events"), "--to", clickhouse.url("fleet"),
                        "--idle-exit", "1"});
  });
  CHECK(waiting.wait_for(std::chrono::seconds(4)) == std::future_status::timeout);  // still trying
  clickhouse.start();
  const RunResult second = waiting.get();
  INFO(second.err);
  CHECK(second.exit_code == 0);
  CHECK(second.err.find("tried again") != std::string::npos);
  CHECK(second.err.find("storing again") != std::string::npos);
  const auto late = ids_by_table({more});
  for (const auto& entry : late) {
    const std::string& table = entry.first;
    const std::set<std::string>& ids = entry.second;
    CAPTURE(table);
    CHECK(stored_ids(ch, table + " WHERE sensor = 'late'") == ids);
  }
}

}  // TEST_SUITE

}  // namespace flowaudit::e2e
