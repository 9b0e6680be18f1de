// `flowaudit run -- CMD` end to end (as root, in the test's own network namespaces; skipped
// elsewhere): real curl and dig against servers in a namespace of the test, the report of exactly
// their flows, the pcapng with the TLS keys in a Decryption Secrets Block replaying to the same
// findings, and the exit statuses of a command that is missing, fails, is interrupted or leaves
// processes behind, and the clean-up after a run that was killed.
#include <sys/wait.h>

#include <cstdint>
#include <cstring>

#include "e2e/e2e_util.h"
#include "e2e/ocsf_validator.h"

namespace flowaudit::e2e {
namespace {

using boost::json::object;

// Runs tests/tools/run-session MODE; false when it cannot run here (exit 77).
bool run_session(const std::filesystem::path& dir, const std::string& mode, const std::vector<std::string>& options) {
  // flowaudit drops root (to nobody) before it writes: it must be able to reach the directory.
  std::filesystem::permissions(temp_dir(), std::filesystem::perms::others_exec | std::filesystem::perms::group_exec,
                               std::filesystem::perm_options::add);
  std::string cmd = "'" + source_path("tests/tools/run-session") + "' '" + FLOWAUDIT_BINARY + "' '" + dir.string() +
                    "' " + mode;
  for (const auto& o : options) cmd += " '" + o + "'";
  cmd += " 2>'" + (dir.string() + ".session-stderr") + "'";
  const int status = std::system(cmd.c_str());
  const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (rc == 77) {
    MESSAGE("run test skipped: " << read_file(dir.string() + ".session-stderr"));
    return false;
  }
  INFO(read_file(dir.string() + ".session-stderr"));
  REQUIRE(rc == 0);
  return true;
}

// The Decryption Secrets Blocks of a pcapng written by flowaudit (host byte order, as it writes):
// the key log lines they hold, in file order, and the index of the first packet block after each.
struct Secrets {
  std::string lines;
  std::size_t blocks = 0;
  std::size_t packets_before_first = 0;
};
Secrets secrets_of(const std::filesystem::path& path) {
  const std::string data = read_file(path);
  Secrets out;
  std::size_t packets = 0;
  for (std::size_t at = 0; at + 12 <= data.size();) {
    std::uint32_t type = 0, length = 0;
    std::memcpy(&type, data.data() + at, 4);
    std::memcpy(&length, data.data() + at + 4, 4);
    if (length < 12 || at + length > data.size()) break;
    if (type == 6) ++packets;
    if (type == 10) {
      std::uint32_t secrets_type = 0, secrets_length = 0;
      std::memcpy(&secrets_type, data.data() + at + 8, 4);
      std::memcpy(&secrets_length, data.data() + at + 12, 4);
      CHECK(secrets_type == 0x544c534bU);
      if (out.blocks++ == 0) out.packets_before_first = packets;
      out.lines.append(data, at + 16, secrets_length);
    }
    at += length;
  }
  return out;
}

}  // namespace

TEST_SUITE("e2e") {

TEST_CASE("run: exactly the command's flows, named, its TLS keys in the pcapng, the replay gives the same findings") {
  const auto dir = temp_dir() / "run-clients";
  if (!run_session(dir, "clients",
                   {"--report", "json:" + (dir / "run.json").string(), "--write", (dir / "run.pcapng").string(),
                    "--events", "ocsf:" + (dir / "run.ndjson").string(), "--sensor-id", "run-sensor"})) {
    return;
  }
  const std::string stderr_text = read_file(dir / "stderr");
  INFO(stderr_text);
  CHECK(read_file(dir / "exit") == "0\n");  // plain HTTP and DNS are medium and info: below --fail-on high
  const auto report = boost::json::parse(read_file(dir / "run.json")).as_object();
  const auto& summary = report.at("summary").as_object();
  const auto& run = summary.at("run").as_object();
  CHECK(run.at("started").as_bool());
  CHECK(get_int(run.at("exit_status")) == 0);
  CHECK(!run.at("failed").as_bool());
  CHECK(run.at("network").as_string() == "netns");
  CHECK(run.at("keylog").as_bool());
  CHECK(get_int(run.at("keys")) >= 5);  // TLS 1.3: two handshake, two traffic secrets and the exporter
  CHECK(summary.at("live").as_object().at("stopped_by").as_string() == "command");
  CHECK(summary.at("live").as_object().at("user").as_string() != "root");

  // Exactly the command's flows: HTTPS and HTTP to example.test, and its DNS to the namespace's
  // resolver address; nothing else.
  std::size_t https = 0, http = 0, dns = 0, other = 0;
  for (const auto& f : report.at("flows").as_array()) {
    const auto& o = f.as_object();
    const auto port = get_int(o.at("server").as_object().at("port"));
    const std::string host = o.at("hostname").is_string() ? std::string(o.at("hostname").as_string()) : "";
    if (port == 443 && host == "example.test") {
      ++https;
    } else if (port == 80 && host == "example.test") {
      ++http;
    } else if (port == 53) {
      ++dns;
    } else {
      ++other;
    }
  }
  CHECK(https == 1);
  CHECK(http == 1);
  CHECK(dns >= 1);
  CHECK(other == 0);

  // The keys are in the pcapng, before the first packet, and in no report.
  const auto secrets = secrets_of(dir / "run.pcapng");
  CHECK(secrets.blocks >= 1);
  CHECK(secrets.lines.find("CLIENT_TRAFFIC_SECRET_0 ") != std::string::npos);
  const std::string report_text = read_file(dir / "run.json");
  const auto secret_line = secrets.lines.substr(0, secrets.lines.find('\n'));
  REQUIRE(secret_line.size() > 64);
  CHECK(report_text.find(secret_line.substr(secret_line.rfind(' ') + 1)) == std::string::npos);

  // The run's events (issue 19): one per flow, request, DNS message and finding, conforming to OCSF
  // 1.1, naming the sensor and the program, without a key.
  const OcsfValidator validator(source_path("tests/data/ocsf/ocsf-1.1.0.json"));
  const std::string events_text = read_file(dir / "run.ndjson");
  std::istringstream events_in(events_text);
  std::string line;
  std::size_t network = 0, http_events = 0;
  while (std::getline(events_in, line)) {
    const auto e = boost::json::parse(line).as_object();
    CHECK(validator.check(e).empty());
    CHECK(e.at("metadata").at("loggers").at(0).at("name") == "run-sensor");
    CHECK(e.at("metadata").at("log_name").as_string().starts_with("run:"));
    network += e.at("class_uid") == 4001 ? 1 : 0;
    http_events += e.at("class_uid") == 4002 ? 1 : 0;
  }
  CHECK(network == report.at("flows").as_array().size());
  CHECK(http_events >= 2);  // the HTTPS request (decrypted with the command's keys) and the HTTP one
  CHECK(events_text.find(secret_line.substr(secret_line.rfind(' ') + 1)) == std::string::npos);

  // The written pcapng replays to the same destinations, flows and findings.
  const auto replay = audit_json({(dir / "run.pcapng").string()}, {"--policy", "default"}, 0);
  for (const char* key : {"destinations", "flows", "dns", "findings"}) {
    CHECK_MESSAGE(replay.at(key) == report.at(key), key);
  }
}

TEST_CASE("run: DNS through a resolver on a loopback address (as systemd-resolved's), and --no-keylog") {
  const auto dir = temp_dir() / "run-loopback-dns";
  ::setenv("FA_DNS", "loopback", 1);
  const bool ran = run_session(dir, "clients", {"--no-keylog", "--report", "json:" + (dir / "run.json").string()});
  ::unsetenv("FA_DNS");
  if (!ran) return;
  INFO(read_file(dir / "stderr"));
  CHECK(read_file(dir / "exit") == "0\n");  // the client script checks that dig got its answer
  const auto report = boost::json::parse(read_file(dir / "run.json")).as_object();
  const auto& run = report.at("summary").as_object().at("run").as_object();
  CHECK(std::string_view(run.at("dns").as_string()).ends_with("-> 127.0.0.153"));
  CHECK(!run.at("keylog").as_bool());
  CHECK(get_int(run.at("keys")) == 0);
  std::size_t named = 0;
  for (const auto& f : report.at("flows").as_array()) {
    const auto& o = f.as_object();
    if (o.at("hostname").is_string() && o.at("hostname").as_string() == "example.test") ++named;
  }
  CHECK(named == 2);
}

TEST_CASE("run: exit statuses for a command that is missing, fails, is interrupted or leaves processes") {
  struct Case {
    const char* mode;
    const char* exit;
    const char* stderr_has;
  };
  for (const Case& c : {Case{"missing", "2\n", "cannot start /nonexistent/flowaudit-test-command"},
                        Case{"fail", "3\n", "exited with status 7"}, Case{"int", "3\n", "was ended by SIGINT"},
                        Case{"leftover", "0\n", "exited with status 0"}}) {
    INFO("mode " << c.mode);
    const auto dir = temp_dir() / (std::string("run-") + c.mode);
    if (!run_session(dir, c.mode, {"--policy", "none", "--report", "json:" + (dir / "r.json").string()})) return;
    const std::string stderr_text = read_file(dir / "stderr");
    INFO(stderr_text);
    CHECK(read_file(dir / "exit") == c.exit);
    CHECK(stderr_text.find(c.stderr_has) != std::string::npos);
    if (std::string_view(c.mode) == "missing") continue;  // no report: the command never ran
    const auto run = boost::json::parse(read_file(dir / "r.json")).as_object().at("summary").as_object().at("run");
    if (std::string_view(c.mode) == "leftover") {
      CHECK(get_int(run.as_object().at("leftovers_terminated")) == 1);
    }
  }
}

TEST_CASE("run: the table and key log directory of a run killed with SIGKILL are removed by the next run") {
  const auto dir = temp_dir() / "run-stale";
  if (!run_session(dir, "stale", {"--policy", "none", "--report", "json:" + (dir / "r.json").string()})) return;
  CHECK(read_file(dir / "exit") == "0\n");
  const auto warnings = boost::json::serialize(boost::json::parse(read_file(dir / "r.json")).as_object().at("warnings"));
  CHECK(warnings.find("removed a stale table flowaudit_") != std::string::npos);
  CHECK(warnings.find("removed a stale directory /tmp/flowaudit-run.") != std::string::npos);
}

}  // TEST_SUITE

}  // namespace flowaudit::e2e

namespace flowaudit::e2e {

TEST_SUITE("e2e") {

// capture --uid / --cgroup: the kernel selects the packets (nftables marks, NFLOG); the selected
// curl's HTTPS flow is in the report, the other curl's plain HTTP flow beside it is not.
TEST_CASE("capture --uid and --cgroup keep exactly the selected user's or cgroup's flows") {
  for (const char* mode : {"uid", "cgroup"}) {
    INFO("mode " << mode);
    const auto dir = temp_dir() / (std::string("select-") + mode);
    if (!run_session(dir, mode, {"--policy", "none", "--report", "json:" + (dir / "r.json").string()})) continue;
    const std::string stderr_text = read_file(dir / "stderr");
    INFO(stderr_text);
    CHECK(read_file(dir / "exit") == "0\n");
    const auto report = boost::json::parse(read_file(dir / "r.json")).as_object();
    const auto& flows = report.at("flows").as_array();
    REQUIRE(flows.size() == 1);
    const auto& f = flows[0].as_object();
    CHECK(get_int(f.at("server").as_object().at("port")) == 443);
    CHECK(f.at("hostname").as_string() == "example.test");
    CHECK(get_int(f.at("packets_in")) > 0);  // both directions: the replies through the conntrack mark
    const auto& live = report.at("summary").as_object().at("live").as_object();
    CHECK(live.at("interface").as_string().starts_with("nflog:"));
    CHECK(live.at("selection").is_string());
    CHECK(boost::json::serialize(report.at("warnings")).find("through NFLOG") != std::string::npos);
  }
  // The selection's table is gone.
  CHECK(std::system("nft list tables 2>/dev/null | grep -q 'flowaudit_'") != 0);
}

}  // TEST_SUITE

}  // namespace flowaudit::e2e

namespace flowaudit::e2e {

TEST_SUITE("e2e") {

// Without root, run uses pasta (rootless). Where pasta cannot work (not installed, or /dev/net/tun
// root-only as on many CI machines) it stops with exit 2 and says why; where it can, a curl's flow
// is in the report, audited from pasta's pcap. Run as nobody.
TEST_CASE("run without root: pasta, or a clear refusal that names the reason") {
  if (::geteuid() != 0 || std::system("command -v setpriv >/dev/null") != 0) {
    MESSAGE("rootless run test skipped: needs root to become nobody, and setpriv");
    return;
  }
  const auto dir = temp_dir() / "run-rootless";
  std::filesystem::create_directories(dir);
  std::filesystem::permissions(temp_dir(), std::filesystem::perms::others_exec, std::filesystem::perm_options::add);
  std::filesystem::permissions(dir, std::filesystem::perms::all, std::filesystem::perm_options::add);
  const std::string as_nobody = "cd '" + dir.string() + "' && setpriv --reuid=nobody --regid=nogroup --clear-groups ";
  const bool usable = std::system((as_nobody + "sh -c 'command -v pasta >/dev/null && test -r /dev/net/tun -a -w "
                                                 "/dev/net/tun'").c_str()) == 0;
  const std::string cmd = as_nobody + "'" + FLOWAUDIT_BINARY + "' run --policy none --report json:" +
                          (dir / "r.json").string() + " -- sh -c 'exit 0' 2>'" + (dir / "stderr").string() + "'";
  const int status = std::system(cmd.c_str());
  const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  const std::string stderr_text = read_file(dir / "stderr");
  INFO(stderr_text);
  if (!usable) {
    MESSAGE("rootless run: pasta cannot work for nobody here; checking the refusal only");
    CHECK(rc == 2);
    CHECK(stderr_text.find("the rootless mode cannot work here: ") != std::string::npos);
    return;
  }
  CHECK(rc == 0);
  const auto run = boost::json::parse(read_file(dir / "r.json")).as_object().at("summary").as_object().at("run");
  CHECK(run.as_object().at("network").as_string() == "pasta");
}

}  // TEST_SUITE

}  // namespace flowaudit::e2e
