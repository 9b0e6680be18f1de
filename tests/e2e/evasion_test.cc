// Evasion by size or order (tests/data/hostile/, made by scripts/gen/hostile-captures): a limit
// of the parsers is never silence. The flow is marked with the inspection-limit blind spot,
// counted in summary.blind_spots and raised at high by the blind-spots pack, so the default
// verdict fails; what was read before the limit is still reported. Early segments are kept, so
// a ClientHello whose segments arrive swapped still gives its SNI.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

using boost::json::object;

std::string hostile(const std::string& name) { return source_path("tests/data/hostile/" + name); }

object audit_default(const std::string& capture) {
  return audit_json({capture}, {"--policy", "default"}, 1);
}

std::int64_t inspection_limits(const object& report) {
  return at_int(report, {"summary", "blind_spots", "inspection-limit"});
}

std::vector<const object*> findings_of(const object& report, const std::string& rule) {
  std::vector<const object*> out;
  for (const auto& f : report.at("findings").as_array()) {
    if (f.as_object().at("rule").as_string() == rule) out.push_back(&f.as_object());
  }
  return out;
}

// The report's single TCP flow.
const object& tcp_flow(const object& report) {
  const object* found = nullptr;
  for (const auto& f : report.at("flows").as_array()) {
    if (f.as_object().at("transport").as_string() != "tcp") continue;
    REQUIRE(found == nullptr);
    found = &f.as_object();
  }
  REQUIRE(found != nullptr);
  return *found;
}

void check_fails_on_limit(const object& report, std::int64_t flows) {
  CHECK(inspection_limits(report) == flows);
  CHECK(report.at("summary").as_object().at("verdict").as_string() == "fail");
  const auto limit = findings_of(report, "blind-spots.inspection-limit");
  CHECK(!limit.empty());  // one per destination
  for (const object* f : limit) CHECK(f->at("severity").as_string() == "high");
}

}  // namespace

TEST_SUITE("e2e") {

TEST_CASE("a ClientHello whose second segment arrives first still gives its SNI and JA4") {
  const auto report = audit_json({hostile("tls-swapped-hello.pcap")});
  const object& f = tcp_flow(report);
  CHECK(f.at("app_protocol").as_string() == "tls");
  CHECK(f.at("sni").as_string() == "chat.deepseek.com");
  CHECK(f.at("hostname_source").as_string() == "tls-sni");
  CHECK(f.at("blind_spot").is_null());
  CHECK(f.at("blind_spot_reason").is_null());
  const auto& tls = f.at("tls").as_object();
  CHECK(tls.at("ja4").as_string().starts_with("t13d"));
  CHECK(inspection_limits(report) == 0);
}

TEST_CASE("a ClientHello on the SYN (TCP Fast Open) is read from its first byte") {
  const auto report = audit_json({hostile("tls-fast-open.pcap")});
  const object& f = tcp_flow(report);
  CHECK(f.at("app_protocol").as_string() == "tls");
  CHECK(f.at("sni").as_string() == "chat.deepseek.com");
  CHECK(f.at("blind_spot").is_null());
}

TEST_CASE("more early segments than the reassembly keeps: inspection-limit, high, failing verdict") {
  const auto report = audit_default(hostile("tls-reorder-limit.pcap"));
  const object& f = tcp_flow(report);
  CHECK(f.at("blind_spot").as_string() == "inspection-limit");
  CHECK(f.at("blind_spot_reason").as_string() == "tcp-reorder");
  check_fails_on_limit(report, 1);
}

TEST_CASE("a 60 KB ClientHello: still TLS, inspection-limit instead of silence (and instead of no-sni)") {
  const auto report = audit_default(hostile("tls-huge-hello.pcap"));
  const object& f = tcp_flow(report);
  CHECK(f.at("app_protocol").as_string() == "tls");
  CHECK(f.at("blind_spot").as_string() == "inspection-limit");
  CHECK(f.at("blind_spot_reason").as_string() == "tls-handshake-size");
  check_fails_on_limit(report, 1);
  const auto limit = findings_of(report, "blind-spots.inspection-limit");
  REQUIRE(!limit.empty());
  CHECK(limit[0]->at("message").as_string().find("(tls-handshake-size)") != std::string::npos);
  // The missing name is a fact about the audit, not about the hello: the limit finding says it.
  CHECK(findings_of(report, "weak-tls.no-sni").empty());
}

TEST_CASE("HTTP request heads over the byte and the line limit: still reported, plaintext rules fire") {
  const auto report = audit_default(hostile("http-huge-head.pcap"));
  int http = 0;
  std::vector<std::string> reasons;
  for (const auto& v : report.at("flows").as_array()) {
    const object& f = v.as_object();
    if (f.at("transport").as_string() != "tcp") continue;
    ++http;
    CHECK(f.at("app_protocol").as_string() == "http");
    CHECK(f.at("blind_spot").as_string() == "inspection-limit");
    CHECK(f.at("hostname").as_string() == "gator.volces.com");
    CHECK(f.at("hostname_source").as_string() == "http-host");
    reasons.emplace_back(f.at("blind_spot_reason").as_string());
  }
  CHECK(http == 2);
  std::sort(reasons.begin(), reasons.end());
  CHECK(reasons == std::vector<std::string>{"http-head-bytes", "http-head-lines"});
  check_fails_on_limit(report, 2);
  CHECK(!findings_of(report, "plaintext.tracker-http").empty());
}

TEST_CASE("a ClientHello whose record header is cut 1 + 4 bytes still gives its SNI") {
  const auto report = audit_json({hostile("tls-split-header.pcap")});
  const object& f = tcp_flow(report);
  CHECK(f.at("app_protocol").as_string() == "tls");
  CHECK(f.at("sni").as_string() == "chat.deepseek.com");
  CHECK(f.at("hostname_source").as_string() == "tls-sni");
  CHECK(f.at("blind_spot").is_null());
  CHECK(inspection_limits(report) == 0);
}

TEST_CASE("an HTTP request whose first byte travels alone still gives its Host, and the plaintext rules fire") {
  const auto report = audit_default(hostile("http-split-first-byte.pcap"));
  const object& f = tcp_flow(report);
  CHECK(f.at("app_protocol").as_string() == "http");
  CHECK(f.at("hostname").as_string() == "gator.volces.com");
  CHECK(f.at("hostname_source").as_string() == "http-host");
  CHECK(f.at("blind_spot").is_null());
  CHECK(inspection_limits(report) == 0);
  CHECK(!findings_of(report, "plaintext.tracker-http").empty());
}

TEST_CASE("first bytes that never say their protocol: inspection-limit protocol-detection, failing verdict") {
  const auto report = audit_default(hostile("undecided-first-bytes.pcap"));
  int tcp = 0;
  for (const auto& v : report.at("flows").as_array()) {
    const object& f = v.as_object();
    if (f.at("transport").as_string() != "tcp") continue;
    ++tcp;
    CHECK(f.at("app_protocol").is_null());
    CHECK(f.at("blind_spot").as_string() == "inspection-limit");
    CHECK(f.at("blind_spot_reason").as_string() == "protocol-detection");
  }
  CHECK(tcp == 2);
  check_fails_on_limit(report, 2);
}

TEST_CASE("DNS over TCP past the byte budget: inspection-limit instead of a silent stop") {
  const auto report = audit_default(hostile("dns-tcp-flood.pcap"));
  const object& f = tcp_flow(report);
  CHECK(f.at("app_protocol").as_string() == "dns");
  CHECK(f.at("blind_spot").as_string() == "inspection-limit");
  CHECK(f.at("blind_spot_reason").as_string() == "tcp-byte-budget");
  check_fails_on_limit(report, 1);
  // Every query within the budget is recorded (the old per-flow limit stopped at 64, silently).
  CHECK(report.at("dns").as_array().size() > 64);
}

TEST_CASE("no committed capture of real software crosses an inspection limit") {
  std::vector<std::string> captures;
  for (const auto& e : std::filesystem::directory_iterator(source_path("tests/data"))) {
    const auto ext = e.path().extension();
    if (e.is_regular_file() && (ext == ".pcap" || ext == ".pcapng")) captures.push_back(e.path().string());
  }
  REQUIRE(captures.size() >= 10);
  const auto report = audit_json(captures);
  CHECK(inspection_limits(report) == 0);
}

}  // TEST_SUITE
}  // namespace flowaudit::e2e
