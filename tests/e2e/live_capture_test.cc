// Live capture end to end (as root, in the project's own network namespaces; skipped elsewhere):
// a real TLS client and server, flowaudit capture stopped with SIGINT, the report and the written
// pcapng, and the replay of that pcapng giving the same report.
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <sstream>

#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

using boost::json::object;

// Runs tests/tools/live-capture-session; false when it cannot run here (exit 77).
bool live_session(const std::filesystem::path& dir, const std::vector<std::string>& options) {
  // The capture drops root (to nobody) before it writes: it must be able to reach the directory.
  std::filesystem::permissions(temp_dir(), std::filesystem::perms::others_exec | std::filesystem::perms::group_exec,
                               std::filesystem::perm_options::add);
  std::string cmd = "'" + source_path("tests/tools/live-capture-session") + "' '" + FLOWAUDIT_BINARY + "' '" +
                    dir.string() + "'";
  for (const auto& o : options) cmd += " '" + o + "'";
  cmd += " 2>'" + (dir.string() + ".session-stderr") + "'";
  const int status = std::system(cmd.c_str());
  const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (rc == 77) {
    MESSAGE("live capture test skipped: " << read_file(dir.string() + ".session-stderr"));
    return false;
  }
  INFO(read_file(dir.string() + ".session-stderr"));
  REQUIRE(rc == 0);
  return true;
}

}  // namespace

TEST_SUITE("e2e") {

TEST_CASE("live capture in network namespaces: report on SIGINT, root dropped, the written pcapng replays to the "
          "same report") {
  const auto dir = temp_dir() / "live";
  const auto geo = source_path("tests/data/geo/fixture-country.mmdb");
  const auto asn = source_path("tests/data/geo/fixture-asn.mmdb");
  if (!live_session(dir, {"--report", "json:" + (dir / "live.json").string(), "--report",
                          "sarif:" + (dir / "live.sarif").string(), "--write", (dir / "live.pcapng").string(),
                          "--geoip-db", geo, "--geoip-db", asn})) {
    return;
  }
  const std::string stderr_text = read_file(dir / "capture.stderr");
  INFO(stderr_text);
  CHECK(read_file(dir / "exit") == "1\n");  // the default policy fails on DeepSeek
  CHECK(stderr_text.find("flowaudit: capturing on") != std::string::npos);
  CHECK(stderr_text.find("new destination chat.deepseek.com 10.201.0.63:443/tcp") != std::string::npos);
  CHECK(stderr_text.find("china-transfer.operator") != std::string::npos);

  const auto live = boost::json::parse(read_file(dir / "live.json")).as_object();
  const auto& summary = live.at("summary").as_object();
  const auto& info = summary.at("live").as_object();
  CHECK(info.at("stopped_by").as_string() == "signal");
  CHECK(info.at("user").as_string() != "root");  // root was dropped before any packet was parsed
  CHECK(get_int(info.at("dropped")) == 0);
  CHECK(get_int(info.at("written_packets")) == get_int(summary.at("packets")));
  bool named = false;
  for (const auto& d : live.at("destinations").as_array()) {
    const auto& o = d.as_object();
    if (o.at("ip").as_string() == "10.201.0.63") {
      named = o.at("hostname").as_string() == "chat.deepseek.com" && o.at("hostname_source").as_string() == "tls-sni";
      CHECK(get_int(o.at("flows")) == 2);
    }
  }
  CHECK(named);
  // Report files are the capture user's, readable by it only.
  CHECK((std::filesystem::status(dir / "live.json").permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));

  // The written pcapng replays to the same destinations, flows and findings.
  const auto replay = audit_json({(dir / "live.pcapng").string()},
                                 {"--policy", "default", "--geoip-db", geo, "--geoip-db", asn}, 1);
  for (const char* key : {"destinations", "flows", "dns", "findings"}) {
    CHECK_MESSAGE(replay.at(key) == live.at(key), key);
  }
  CHECK(replay.at("summary").as_object().at("packets") == summary.at("packets"));

  // The SARIF results point into the written pcapng: the same file and byte ranges as the replay's,
  // whose offsets come from reading the file.
  const auto replay_sarif = dir / "replay.sarif";
  const auto replayed = run({"audit", (dir / "live.pcapng").string(), "--geoip-db", geo, "--geoip-db", asn, "--report",
                             "sarif:" + replay_sarif.string()});
  CHECK(replayed.exit_code == 1);
  const auto results_of = [](const std::filesystem::path& p) {
    return boost::json::parse(read_file(p)).as_object().at("runs").as_array().at(0).as_object().at("results").as_array();
  };
  const auto live_results = results_of(dir / "live.sarif");
  const auto replay_results = results_of(replay_sarif);
  REQUIRE(live_results.size() == replay_results.size());
  REQUIRE(!live_results.empty());
  for (std::size_t i = 0; i < live_results.size(); ++i) {
    const auto& where = live_results[i].as_object().at("locations").as_array().at(0).as_object().at("physicalLocation");
    INFO(boost::json::serialize(where));
    CHECK(where.as_object().contains("region"));
    CHECK(where == replay_results[i].as_object().at("locations").as_array().at(0).as_object().at("physicalLocation"));
  }
  const std::string tools = source_path("tests/tools/");
  CHECK(std::system(("'" + tools + "validate-sarif' --github --multitool '" + (dir / "live.sarif").string() + "' >/dev/null")
                        .c_str()) == 0);
}

// A session with the app (two curls, children of one shell) and another client (openssl s_client)
// running, captured with `options` selecting the app: exactly the two curl flows are kept, each
// names its process, and the written pcapng remembers it.
void check_one_app(const std::filesystem::path& dir, std::vector<std::string> options) {
  options.insert(options.end(), {"--report", "json:" + (dir / "app.json").string(), "--write",
                                 (dir / "app.pcapng").string(), "--policy", "none"});
  ::setenv("FA_SECOND_CLIENT", "1", 1);
  const bool ran = live_session(dir, options);
  ::unsetenv("FA_SECOND_CLIENT");
  if (!ran) return;
  INFO(read_file(dir / "capture.stderr"));
  CHECK(read_file(dir / "exit") == "0\n");
  const auto live = boost::json::parse(read_file(dir / "app.json")).as_object();
  const auto& flows = live.at("flows").as_array();
  REQUIRE(flows.size() == 2);  // the two curl requests, not openssl s_client's connection
  for (const auto& f : flows) {
    const auto& o = f.as_object();
    CHECK(o.at("sni").as_string() == "chat.deepseek.com");
    REQUIRE(o.at("process").is_object());
    CHECK(o.at("process").as_object().at("name").as_string() == "curl");
    CHECK(get_int(o.at("process").as_object().at("pid")) > 1);
  }
  CHECK(boost::json::serialize(live.at("warnings")).find("per-app capture: 2 flows of the selected app kept, 1 flows") !=
        std::string::npos);
  // Nothing is told live about the other client's flow, which the report leaves out.
  CHECK(read_file(dir / "capture.stderr").find("api.deepseek.com") == std::string::npos);
  // A replay of the written pcapng knows the process of each flow (flow ids are numbered per run:
  // the live run also counted the flows it left out).
  const auto replay = audit_json({(dir / "app.pcapng").string()}, {"--policy", "none"}, 0);
  const auto without_ids = [](boost::json::array list) {
    for (auto& f : list) f.as_object().erase("id");
    return list;
  };
  CHECK(without_ids(replay.at("flows").as_array()) == without_ids(live.at("flows").as_array()));
  CHECK(replay.at("destinations") == live.at("destinations"));
}

TEST_CASE("live capture of one app: --process keeps its flows only, names the process, and the pcapng remembers it") {
  check_one_app(temp_dir() / "live-app", {"--process", "curl"});
}

TEST_CASE("live capture on -i any of one app by --pid: the flows of its children only") {
  ::setenv("FA_IFACE", "any", 1);
  const auto dir = temp_dir() / "live-pid";
  check_one_app(dir, {"--pid", "@APP_PID@"});  // the app's shell: the curls are its children
  ::unsetenv("FA_IFACE");
  if (!std::filesystem::exists(dir / "app.json")) return;
  const auto live = boost::json::parse(read_file(dir / "app.json")).as_object();
  const auto& input = live.at("inputs").as_array().at(0).as_object();
  CHECK(input.at("path").as_string() == "any");
  INFO(boost::json::serialize(input));
  // libpcap's "any" device gives Linux cooked headers (SLL, or SLL2 where asked for).
  const auto link = boost::json::serialize(input.at("link_types"));
  CHECK((link.find("linux-sll") != std::string::npos || link.find("113") != std::string::npos ||
         link.find("276") != std::string::npos));
}

TEST_CASE("live capture prints flow-rule findings while it runs (a TLS 1.1 client), as in the final report") {
  const auto dir = temp_dir() / "live-flow-findings";
  ::setenv("FA_SECOND_CLIENT", "tls11", 1);
  const bool ran = live_session(dir, {"--report", "json:" + (dir / "f.json").string()});
  ::unsetenv("FA_SECOND_CLIENT");
  if (!ran) return;
  const std::string stderr_text = read_file(dir / "capture.stderr");
  INFO(stderr_text);
  CHECK(stderr_text.find("flowaudit: finding on api.deepseek.com 10.201.0.63:443/tcp\nflowaudit:   medium "
                         "weak-tls.deprecated-version: TLS 1.0 or TLS 1.1 negotiated\n") != std::string::npos);
  // Once per rule and destination, and nothing for the curls (TLS 1.3).
  CHECK(stderr_text.find("weak-tls.deprecated-version") == stderr_text.rfind("weak-tls.deprecated-version"));
  CHECK(stderr_text.find("finding on chat.deepseek.com") == std::string::npos);
  const auto report = boost::json::parse(read_file(dir / "f.json")).as_object();
  bool in_report = false;
  for (const auto& f : report.at("findings").as_array()) {
    in_report = in_report || f.as_object().at("rule").as_string() == "weak-tls.deprecated-version";
  }
  CHECK(in_report);
}

TEST_CASE("live capture stopped right after a burst: the packets still in the kernel's last block are reported") {
  const auto dir = temp_dir() / "live-burst";
  std::filesystem::permissions(temp_dir(), std::filesystem::perms::others_exec | std::filesystem::perms::group_exec,
                               std::filesystem::perm_options::add);
  const std::string cmd = "'" + source_path("tests/tools/live-capture-burst") + "' '" + FLOWAUDIT_BINARY + "' '" +
                          dir.string() + "' 300 2>'" + dir.string() + ".session-stderr'";
  const int status = std::system(cmd.c_str());
  const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (rc == 77) {
    MESSAGE("live capture test skipped: " << read_file(dir.string() + ".session-stderr"));
    return;
  }
  INFO(read_file(dir.string() + ".session-stderr"));
  REQUIRE(rc == 0);
  INFO(read_file(dir / "capture.stderr"));
  CHECK(read_file(dir / "exit") == "0\n");
  const auto summary = boost::json::parse(read_file(dir / "burst.json")).as_object().at("summary").as_object();
  CHECK(get_int(summary.at("packets")) == 300);  // loopback: each datagram once
  CHECK(get_int(summary.at("live").as_object().at("dropped")) == 0);
}

TEST_CASE("live capture killed with SIGKILL leaves a pcapng that replays; an interface that goes away still gives "
          "the report") {
  const auto dir = temp_dir() / "live-kill";
  ::setenv("FA_STOP", "kill9", 1);
  bool ran = live_session(dir, {"--write", (dir / "k.pcapng").string(), "--policy", "none"});
  ::unsetenv("FA_STOP");
  if (!ran) return;
  CHECK(read_file(dir / "exit") == "137\n");
  const auto replay = audit_json({(dir / "k.pcapng").string()}, {"--policy", "none"}, 0);
  CHECK(replay.at("inputs").as_array().at(0).as_object().at("complete").as_bool());
  CHECK(get_int(replay.at("summary").as_object().at("packets")) >= 20);  // two TLS connections
  CHECK(replay.at("destinations").as_array().size() == 1);

  const auto gone = temp_dir() / "live-gone";
  ::setenv("FA_STOP", "linkdown", 1);
  ran = live_session(gone, {"--report", "json:" + (gone / "g.json").string(), "--policy", "none"});
  ::unsetenv("FA_STOP");
  if (!ran) return;
  INFO(read_file(gone / "capture.stderr"));
  CHECK(read_file(gone / "exit") == "0\n");
  CHECK(read_file(gone / "capture.stderr").find("capture stopped") != std::string::npos);
  const auto report = boost::json::parse(read_file(gone / "g.json")).as_object();
  CHECK(report.at("summary").as_object().at("live").as_object().at("stopped_by").as_string() == "error");
  CHECK(get_int(report.at("summary").as_object().at("flows")) == 2);
}

TEST_CASE("live capture with --events tells each flow when it ends, the open ones and the findings when it stops") {
  const auto dir = temp_dir() / "live-events";
  ::setenv("FA_SNAPSHOT", "live.ndjson", 1);
  ::setenv("FA_SNAPSHOT_WAIT", "11", 1);  // a closed TCP flow ends 10 s after its FIN (late segments)
  const bool ran = live_session(dir, {"--report", "json:" + (dir / "live.json").string(), "--events",
                                      "ocsf:" + (dir / "live.ndjson").string(), "--sensor-id", "tap-1", "--label",
                                      "site=lab"});
  ::unsetenv("FA_SNAPSHOT");
  ::unsetenv("FA_SNAPSHOT_WAIT");
  if (!ran) return;
  INFO(read_file(dir / "capture.stderr"));
  const auto lines = [](const std::string& text) {
    std::vector<boost::json::object> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) out.push_back(boost::json::parse(line).as_object());
    }
    return out;
  };
  const auto before = lines(read_file(dir / "live.ndjson.before-stop"));
  const auto all = lines(read_file(dir / "live.ndjson"));
  // The app's two HTTPS connections had ended before the stop: their events were already written.
  std::size_t https_before = 0;
  for (const auto& e : before) {
    if (e.at("class_uid") == 4001 && e.at("dst_endpoint").at("port") == 443) ++https_before;
    CHECK(e.at("class_uid") != 2004);  // findings come at the end, from the whole capture
  }
  CHECK(https_before == 2);
  // In all, one Network Activity event per flow of the report, each id once, and the findings.
  const auto report = boost::json::parse(read_file(dir / "live.json")).as_object();
  std::set<std::string> ids, flows;
  std::size_t findings = 0;
  for (const auto& e : all) {
    CHECK(ids.insert(std::string(e.at("metadata").at("uid").as_string())).second);
    CHECK(e.at("metadata").at("log_name").as_string().starts_with("interface:"));
    CHECK(e.at("metadata").at("labels").at(0) == "site=lab");
    if (e.at("class_uid") == 4001) flows.insert(std::to_string(get_int(e.at("unmapped").at("flowaudit").at("flow_id"))));
    if (e.at("class_uid") == 2004) ++findings;
  }
  CHECK(flows.size() == report.at("flows").as_array().size());
  CHECK(findings == report.at("findings").as_array().size());
  CHECK(findings > 0);
}

TEST_CASE("the systemd unit's command line runs: a sensor on lo, its events and report in its state directory") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: needs root (or CAP_NET_RAW) to capture");
    return;
  }
  std::string unit = read_file(source_path("scripts/systemd/flowaudit-capture@.service"));
  std::string exec;
  for (std::size_t pos = unit.find("\nExecStart="); pos != std::string::npos;) {
    const auto nl = unit.find('\n', pos + 1);
    std::string line = unit.substr(pos + 1, nl - pos - 1);
    const bool more = !line.empty() && line.back() == '\\';
    if (more) line.pop_back();
    exec += line;
    pos = more ? nl : std::string::npos;
  }
  REQUIRE(exec.starts_with("ExecStart=/usr/local/bin/flowaudit "));
  const auto state = temp_dir() / "unit-state";
  std::filesystem::create_directories(state / "flowaudit" / "lo");
  // Run as root here, the capture drops to nobody (the unit runs as its own user from the start).
  for (const auto& d : {temp_dir(), state, state / "flowaudit", state / "flowaudit" / "lo"}) {
    std::filesystem::permissions(d, std::filesystem::perms::all, std::filesystem::perm_options::add);
  }
  const auto events = state / "events.ndjson";
  const auto replace_all = [](std::string s, const std::string& from, const std::string& to) {
    for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
      s.replace(at, from.size(), to);
    }
    return s;
  };
  std::string cmd = exec.substr(std::string("ExecStart=/usr/local/bin/flowaudit ").size());
  cmd = replace_all(cmd, "%i", "lo");
  cmd = replace_all(cmd, "%H", "host");
  cmd = replace_all(cmd, "%S", state.string());
  cmd = replace_all(cmd, "${FLOWAUDIT_EVENTS}", "ocsf:" + events.string());
  cmd = replace_all(cmd, "$FLOWAUDIT_OPTIONS", "--duration 1 --label site=test");
  const RunResult r = run_shell("XDG_STATE_HOME='" + (state / "flowaudit" / "lo").string() + "' timeout 60 '" +
                                FLOWAUDIT_BINARY + "' " + cmd + " 2>&1");
  INFO(cmd << "\n" << r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(std::filesystem::exists(state / "flowaudit" / "lo" / "last-report.json"));
  CHECK(std::filesystem::exists(events));
}

TEST_CASE("live capture errors: no such interface names the ones that exist; a bad filter") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: needs root");
    return;
  }
  // Without privileges (setpriv from util-linux drops them for one run).
  if (std::system("command -v setpriv >/dev/null 2>&1") == 0) {
    const std::string cmd = std::string("setpriv --reuid=65534 --regid=65534 --clear-groups '") + FLOWAUDIT_BINARY +
                            "' capture -i lo --duration 1 2>'" + (temp_dir() / "noperm.err").string() + "'";
    const int status = std::system(cmd.c_str());
    CHECK(WEXITSTATUS(status) == 2);
    CHECK(read_file(temp_dir() / "noperm.err").find("cannot capture on lo: no permission") != std::string::npos);
  }
  auto r = run({"capture", "-i", "no-such-if0", "--duration", "1"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("cannot capture on no-such-if0: no such interface") != std::string::npos);
  r = run({"capture", "-i", "lo", "--filter", "port nonsense", "--duration", "1"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--filter:") != std::string::npos);
  r = run({"capture", "-i", "lo", "--duration", "0.3", "--policy", "none", "--report", "json"});
  CHECK(r.exit_code == 0);
  const auto report = boost::json::parse(r.out).as_object();
  CHECK(report.at("summary").as_object().at("live").as_object().at("stopped_by").as_string() == "duration");
}

TEST_CASE("live capture: a new destination's hostile SNI is printed escaped") {
  const auto dir = temp_dir() / "live-hostile";
  ::setenv("FA_HOSTILE_SNI", "1", 1);
  const bool ran = live_session(dir, {"--policy", "none"});
  ::unsetenv("FA_HOSTILE_SNI");
  if (!ran) return;
  const std::string stderr_text = read_file(dir / "capture.stderr");
  INFO(stderr_text);
  CHECK(stderr_text.find("new destination evil\\x1b]0;pwned\\x07.example\\x0d\\x0aFAKE: line\\u202egnp.example "
                         "10.201.0.63:443/tcp") != std::string::npos);
  CHECK(stderr_text.find('\x1b') == std::string::npos);
  CHECK(stderr_text.find('\x07') == std::string::npos);
  CHECK(stderr_text.find("\xE2\x80\xAE") == std::string::npos);
}

}  // TEST_SUITE
}  // namespace flowaudit::e2e
