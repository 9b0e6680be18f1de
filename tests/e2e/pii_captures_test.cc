// The labelled personal-data test set (issue 17 item 6; tests/data/pii, made by
// scripts/gen/pii-captures): every labelled request of every capture is reconstructed (so a miss in
// scripts/pii-eval is the detectors', not the reader's), and scripts/pii-eval reads flowaudit's JSON
// reports and scores a hand-written one as documented.
#include <fstream>
#include <set>

#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

using boost::json::object;

std::string data(const std::string& name) { return source_path("tests/data/pii/" + name); }

// "METHOD /first/second" of every request of every flow (paths are redacted past that in reports).
std::multiset<std::string> requests_of(const object& report, int* ws_messages_out) {
  std::multiset<std::string> out;
  for (const auto& fv : report.at("flows").as_array()) {
    const object& f = fv.as_object();
    const auto* reqs = f.if_contains("requests");
    if (reqs == nullptr || !reqs->is_array()) continue;
    for (const auto& rv : reqs->as_array()) {
      const object& r = rv.as_object();
      std::string path(r.at("path").as_string());
      path = path.substr(0, path.find('?'));
      const auto first_end = path.find('/', 1);  // the end of the first segment, or npos
      const auto second_end = first_end == std::string::npos ? first_end : path.find('/', first_end + 1);
      out.insert(std::string(r.at("method").as_string()) + " " + path.substr(0, second_end));
      if (const auto* ws = r.if_contains("websocket"); ws != nullptr && ws->is_object()) {
        *ws_messages_out += static_cast<int>(get_int(ws->as_object().at("messages_out")));
      }
    }
  }
  return out;
}

const std::multiset<std::string> kHttp{"GET /v1/users", "GET /v1/collect",  "GET /v1/ping",
                                       "POST /v1/events", "POST /v1/register", "POST /v1/upload",
                                       "POST /v1/batch", "GET /docs/privacy.html"};

// Audits the five captures into `dir` (with `extra` options) and returns their reports, quoted for a shell.
std::string audit_all(const std::filesystem::path& dir, const std::vector<std::string>& extra) {
  std::filesystem::create_directories(dir);
  std::string reports;
  for (const char* name : {"pii-h1.pcap", "pii-h2.pcapng", "pii-python.pcapng", "pii-ws.pcap", "pii-chromium.pcapng"}) {
    const auto out = dir / (std::string(name) + ".json");
    std::vector<std::string> args{"audit", data(name)};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--policy", "none", "--report", "json:" + out.string()});
    const auto r = run(args);
    REQUIRE(r.exit_code == 0);
    reports += " '" + out.string() + "'";
  }
  return reports;
}

}  // namespace

TEST_CASE("e2e: pii captures: every labelled request is reconstructed (curl h1/h2, http.client, Chromium, WebSocket)" *
          doctest::test_suite("e2e")) {
  for (const char* name : {"pii-h1.pcap", "pii-h2.pcapng", "pii-python.pcapng"}) {
    INFO(name);
    const auto report = audit_json({data(name)});
    CHECK(capture_warnings(report).empty());
    int ws = 0;
    CHECK(requests_of(report, &ws) == kHttp);
    CHECK(ws == 0);
    for (const auto& f : report.at("flows").as_array()) CHECK(f.as_object().at("blind_spot").is_null());
  }
  {
    const auto report = audit_json({data("pii-ws.pcap")});
    int ws = 0;
    CHECK(requests_of(report, &ws) == std::multiset<std::string>{"GET /ws/events"});
    CHECK(ws == 3);
  }
  {
    // Chromium's key log (SSLKEYLOGFILE) is in the pcapng: its page, script, the seven requests, the
    // documentation page, the WebSocket upgrade on 8443 with three client messages, and /done.
    const auto report = audit_json({data("pii-chromium.pcapng")});
    int ws = 0;
    auto want = kHttp;
    want.insert({"GET /index.html", "GET /app.js", "GET /done", "GET /ws/events"});
    CHECK(requests_of(report, &ws) == want);
    CHECK(ws == 3);
  }
}

TEST_CASE("e2e: scripts/pii-eval reads flowaudit's reports of the pii captures and scores a hand-written one" *
          doctest::test_suite("e2e")) {
  if (run_shell("command -v python3").exit_code != 0) {
    MESSAGE("python3 not installed: pii-eval not checked");
    return;
  }
  const auto dir = temp_dir() / "pii-eval";
  const std::string reports = audit_all(dir, {});
  const std::string eval = "python3 '" + source_path("scripts/pii-eval") + "' --labels '" + data("labels.tsv") + "'";
  {
    const auto r = run_shell(eval + reports);
    INFO(r.out, r.err);
    CHECK(r.exit_code == 0);
    // every capture tied to its report through inputs[].path; 520 values to find in all
    CHECK(r.out.find("captures scored: pii-chromium.pcapng, pii-h1.pcap, pii-h2.pcapng, pii-python.pcapng, "
                     "pii-ws.pcap\n") != std::string::npos);
    CHECK(r.out.find("\nall                 520 ") != std::string::npos);
  }
  {
    // One correct finding on a redacted path, one on a look-alike, one on an unlabelled field.
    const auto rep = dir / "hand.json";
    std::ofstream(rep) << R"({"inputs":[{"path":"x/pii-h1.pcap"}],"flows":[{"input":0,"requests":[)"
                       << R"({"method":"GET","path":"/v1/users/REDACTED/phone/+8613812345612/imei/490154203237518/mac/)"
                       << R"(02:00:5e:10:00:01/ip/192.168.1.23/card/4111111111111111/iban/DE89370400440532013000/note/)"
                       << R"(REDACTED/ctx/REDACTED/assets/icon@2x.png/v/1.2.3.4/order/4111111111111112",)"
                       << R"("findings":[{"type":"email","field":"path[2]"}]},)"
                       << R"({"method":"GET","path":"/v1/collect?email=REDACTED","findings":[)"
                       << R"({"type":"ip_address","field":"query.v"},{"type":"idfa","field":"query.idfa"}]},)"
                       << R"({"method":"GET","path":"/v1/ping","findings":[{"type":"email","field":"header.User-Agent"}]})"
                       << "]}]}";
    const auto r = run_shell(eval + " --fail-under 0.5 '" + rep.string() + "'");
    INFO(r.out, r.err);
    CHECK(r.exit_code == 1);  // recall far below 0.5
    CHECK(r.out.find("captures scored: pii-h1.pcap\n") != std::string::npos);
    CHECK(r.out.find("\nemail                11      1   0.091         2        1     0.500\n") != std::string::npos);
    CHECK(r.out.find("\nadvertising-id       12      1   0.083         1        1     1.000\n") != std::string::npos);
    CHECK(r.out.find("query.v  ip-address    (look-alike)") != std::string::npos);
    CHECK(r.out.find("header.user-agent  email    (unlabelled field)") != std::string::npos);
    CHECK(r.out.find("misses (119):") != std::string::npos);
  }
}

TEST_CASE("e2e: the detectors and canaries on the labelled set: recall and precision of every type at least 99%" *
          doctest::test_suite("e2e")) {
  if (run_shell("command -v python3").exit_code != 0) {
    MESSAGE("python3 not installed: pii-eval not run");
    return;
  }
  const auto dir = temp_dir() / "pii-detect";
  // Reports as users get them: values masked and paths redacted (pii-eval compares types and fields).
  const std::string reports = audit_all(dir, {"--canary-file", data("canaries.txt")});
  const auto r = run_shell("python3 '" + source_path("scripts/pii-eval") + "' --labels '" + data("labels.tsv") +
                           "' --fail-under 0.99" + reports);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("\nall                 520 ") != std::string::npos);
  // Masked: no planted value appears in full in a report made without --no-redact.
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    const std::string text = read_file(f.path());
    CHECK(text.find("alice.tester@example.com") == std::string::npos);
    CHECK(text.find("490154203237518") == std::string::npos);
    CHECK(text.find("4111111111111111") == std::string::npos);
  }
}

TEST_CASE("e2e: Chromium's GREASE ECH is not an ECH blind spot once the flow decrypts with the outer hello's keys" *
          doctest::test_suite("e2e")) {
  const auto report = audit_json({data("pii-chromium.pcapng")});
  int grease = 0;
  for (const auto& v : report.at("flows").as_array()) {
    const object& f = v.as_object();
    const auto* tls = f.if_contains("tls");
    if (tls == nullptr || !tls->is_object() || tls->as_object().at("ech") != true) continue;
    const auto* x = f.if_contains("decryption");
    if (x == nullptr || !x->is_object() || get_int(x->as_object().at("records_decrypted")) == 0) continue;
    ++grease;  // the extension was sent, and the session's keys were the outer ClientHello's
    CHECK(f.at("blind_spot") != "ech");
    CHECK(!f.at("hostname").is_null());
  }
  CHECK(grease >= 1);
}

}  // namespace flowaudit::e2e
