// Where and whose, end to end: geolocation from MMDB databases and operators from the catalog, side
// by side in the report; `flowaudit geo`; `flowaudit geodb build`; bad databases and catalogs.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

using boost::json::object;

std::vector<std::string> fixture_dbs() {
  return {"--geoip-db", source_path("tests/data/geo/fixture-country.mmdb"), "--geoip-db",
          source_path("tests/data/geo/fixture-asn.mmdb")};
}

const object& destination(const object& report, const std::string& ip) {
  for (const auto& d : report.at("destinations").as_array()) {
    if (d.as_object().at("ip").as_string() == ip) return d.as_object();
  }
  FAIL("no destination " << ip);
  static object none;
  return none;
}

std::string mmdblookup(const std::string& db, const std::string& ip, const std::string& path) {
  const std::string cmd = "mmdblookup --file '" + db + "' --ip " + ip + " " + path + " 2>/dev/null";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[256];
    while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
    ::pclose(p);
  }
  return out;
}

}  // namespace

TEST_SUITE("e2e") {

TEST_CASE("the DeepSeek session: a US server operated under CN jurisdiction, and ByteDance telemetry in CN") {
  const auto report = audit_json({source_path("examples/deepseek-session.pcapng")}, fixture_dbs());
  const auto& chat = destination(report, "3.173.21.63");
  CHECK(chat.at("hostname").as_string() == "chat.deepseek.com");
  CHECK(chat.at("geo").as_object().at("country").as_string() == "US");
  CHECK(get_int(chat.at("geo").as_object().at("asn")) == 16509);
  const auto& chat_service = chat.at("service").as_object();
  CHECK(chat_service.at("id").as_string() == "deepseek");
  CHECK(chat_service.at("jurisdiction").as_string() == "CN");

  const auto& gator = destination(report, "43.109.38.198");
  const auto& telemetry = gator.at("service").as_object();
  CHECK(telemetry.at("jurisdiction").as_string() == "CN");
  CHECK(std::string(telemetry.at("operator").as_string()).find("Volcano Engine") != std::string::npos);
  CHECK(gator.at("encrypted").as_bool() == false);

  const auto& lan = destination(report, "192.168.1.1");
  CHECK(lan.at("geo").as_object().at("special").as_string() == "private");

  const auto& dbs = report.at("geoip_databases").as_array();
  REQUIRE(dbs.size() == 2);
  CHECK(!dbs[0].as_object().at("build_date").is_null());
}

TEST_CASE("the terminal summary shows server country and operator jurisdiction side by side") {
  std::vector<std::string> args{"audit", source_path("examples/deepseek-session.pcapng"), "--policy", "none"};
  for (const auto& a : fixture_dbs()) args.push_back(a);
  const auto r = run(args);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("geo jur service") != std::string::npos);
  const auto line_start = r.out.find("chat.deepseek.com");
  REQUIRE(line_start != std::string::npos);
  const std::string line = r.out.substr(line_start, r.out.find('\n', line_start) - line_start);
  CHECK(line.find(" US  CN  DeepSeek") != std::string::npos);
}

TEST_CASE("flowaudit geo agrees with mmdblookup") {
  std::vector<std::string> args{"geo", "3.173.21.63", "43.109.38.198", "2600:9000:2490:a00:1b:c3e3:bf40:93a1",
                                "::ffff:8.8.8.8", "10.1.2.3", "--json"};
  for (const auto& a : fixture_dbs()) args.push_back(a);
  const auto r = run(args);
  REQUIRE(r.exit_code == 0);
  const auto v = boost::json::parse(r.out).as_object();
  const auto& addresses = v.at("addresses").as_array();
  REQUIRE(addresses.size() == 5);
  const std::string country_db = source_path("tests/data/geo/fixture-country.mmdb");
  const std::string asn_db = source_path("tests/data/geo/fixture-asn.mmdb");
  const bool have_mmdblookup = std::system("command -v mmdblookup >/dev/null 2>&1") == 0;
  for (const auto& a : addresses) {
    const auto& o = a.as_object();
    const std::string ip(o.at("ip").as_string());
    CAPTURE(ip);
    const auto& geo = o.at("geo").as_object();
    if (ip == "10.1.2.3") {
      CHECK(geo.at("special").as_string() == "private");
      continue;
    }
    if (!have_mmdblookup) continue;
    const std::string lookup_ip = ip == "::ffff:8.8.8.8" ? "8.8.8.8" : ip;
    const std::string country = mmdblookup(country_db, lookup_ip, "country_code");
    CHECK(country.find('"' + std::string(geo.at("country").as_string()) + '"') != std::string::npos);
    const std::string asn = mmdblookup(asn_db, lookup_ip, "autonomous_system_number");
    CHECK(asn.find(std::to_string(get_int(geo.at("asn")))) != std::string::npos);
  }
}

TEST_CASE("geodb build writes a database that geo reads the same way") {
  const auto out = (temp_dir() / "built-country.mmdb").string();
  const auto b = run({"geodb", "build", "--csv", source_path("tests/data/geo/fixture-country.csv"), "--out", out});
  REQUIRE_MESSAGE(b.exit_code == 0, b.err);
  const auto r = run({"geo", "3.173.21.63", "138.113.144.16", "--json", "--geoip-db", out});
  REQUIRE(r.exit_code == 0);
  const auto v = boost::json::parse(r.out).as_object();
  CHECK(v.at("addresses").as_array()[0].as_object().at("geo").as_object().at("country").as_string() == "US");
  const auto bad = run({"geodb", "build", "--csv", source_path("tests/data/bad/not-a-capture.pcap"), "--out", out});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("not-a-capture.pcap:") != std::string::npos);
}

TEST_CASE("geodb build: overlapping rows name both lines; --out naming an input is refused") {
  const auto dir = temp_dir();
  const auto a = (dir / "geodb-a.csv").string();
  const auto b = (dir / "geodb-b.csv").string();
  std::ofstream(a) << "1.0.0.0/16,AU\n";
  std::ofstream(b) << "# override\n1.0.3.0,1.0.3.255,CN\n";
  const auto out = (dir / "ab.mmdb").string();
  auto r = run({"geodb", "build", "--csv", a, "--csv", b, "--out", out});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "flowaudit: " + b + ":2: 1.0.3.0-1.0.3.255 overlaps " + a +
                     ":1 (1.0.0.0-1.0.255.255); overlapping ranges are rejected (--overlap later-wins keeps the "
                     "later row)\n");
  r = run({"geodb", "build", "--csv", a, "--csv", b, "--out", out, "--overlap", "later-wins"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.err.find("1 rows overlap another row") != std::string::npos);
  const auto g = run({"geo", "1.0.3.1", "1.0.4.1", "--json", "--geoip-db", out});
  REQUIRE(g.exit_code == 0);
  const auto v = boost::json::parse(g.out).as_object();
  CHECK(v.at("addresses").as_array()[0].as_object().at("geo").as_object().at("country").as_string() == "CN");
  CHECK(v.at("addresses").as_array()[1].as_object().at("geo").as_object().at("country").as_string() == "AU");

  const auto same = (dir / "." / "geodb-a.csv").string();
  r = run({"geodb", "build", "--csv", a, "--out", same});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "flowaudit: " + same + ": is the input " + a + " (--out must name another file)\n");
  std::ifstream in(a);
  std::string kept((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(kept == "1.0.0.0/16,AU\n");
}

TEST_CASE("a missing or broken database named by the user is a usage error naming the file") {
  const auto missing = (temp_dir() / "nope.mmdb").string();
  auto r = run({"audit", source_path("tests/data/http-post.pcap"), "--geoip-db", missing});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(missing) != std::string::npos);
  r = run({"geo", "1.1.1.1", "--geoip-db", source_path("tests/data/http-post.pcap")});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("http-post.pcap") != std::string::npos);
  // libmaxminddb 1.7.1 (and mmdblookup) crash on this one: SIGSEGV before the fix.
  const auto overflow = source_path("tests/data/bad/mmdb-node-count-overflow.mmdb");
  for (const char* cmd : {"geo", "audit"}) {
    const std::vector<std::string> args =
        std::string(cmd) == "geo" ? std::vector<std::string>{"geo", "8.8.8.8", "--geoip-db", overflow}
                                  : std::vector<std::string>{"audit", source_path("tests/data/http-post.pcap"),
                                                             "--geoip-db", overflow};
    r = run(args);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(overflow + ": node_count 4294967295") != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
}

TEST_CASE("a user catalog adds services; its mistakes are named by file, line and column") {
  const auto good = (temp_dir() / "mine.yaml").string();
  std::ofstream(good) << "services:\n"
                         "  - id: my-telemetry\n"
                         "    name: My telemetry\n"
                         "    category: analytics\n"
                         "    operator: Example Corp\n"
                         "    jurisdiction: DE\n"
                         "    hosts: [fonts.gstatic.com]\n"
                         "    source: test\n";
  std::vector<std::string> extra = fixture_dbs();
  extra.push_back("--catalog");
  extra.push_back(good);
  const auto report = audit_json({source_path("examples/deepseek-session.pcapng")}, extra);
  CHECK(destination(report, "142.250.74.35").at("service").as_object().at("id").as_string() == "my-telemetry");

  const auto bad = (temp_dir() / "bad.yaml").string();
  std::ofstream(bad) << "services:\n  - id: broken\n    name: Broken\n    category: not-a-category\n";
  const auto r = run({"audit", source_path("tests/data/http-post.pcap"), "--catalog", bad});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(bad + ":4:") != std::string::npos);
}

}  // TEST_SUITE
}  // namespace flowaudit::e2e

namespace flowaudit::e2e {
TEST_SUITE("e2e") {

TEST_CASE("flowaudit rules fields lists the fields a policy can test, with types") {
  const auto r = run({"rules", "fields"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("geo.country") != std::string::npos);
  CHECK(r.out.find("service.jurisdiction") != std::string::npos);
  CHECK(r.out.find("tls.ja4") != std::string::npos);
  CHECK(run({"rules"}).exit_code == 2);
}

}  // TEST_SUITE
}  // namespace flowaudit::e2e
