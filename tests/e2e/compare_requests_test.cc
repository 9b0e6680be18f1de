// scripts/compare-requests (issue 16, "checked against tshark"): flowaudit's reconstructed HTTP
// requests agree with tshark 4.0's, field by field (method, authority, path, status, request and
// response body bytes on the wire before content decoding), on every committed decrypted capture
// (tests/data/decrypt: TLS 1.0 to 1.3, CBC/GCM/ChaCha, 0-RTT, KeyUpdate, HTTP/2 after a
// HelloRetryRequest; its .pcap with the sibling .keys key log) and the plaintext HTTP/1.1 ones
// (tests/data/http: gzip, br, zstd, chunked event stream, a decompression bomb, WebSocket
// upgrades). Run with --strict: any disagreement fails. Skipped when tshark or python3 is absent.
#include <fstream>

#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

bool have(const std::string& tool) { return run_shell("command -v " + tool).exit_code == 0; }

RunResult compare(const std::vector<std::string>& captures, bool strict = true) {
  std::string cmd = "python3 '" + source_path("scripts/compare-requests") + "' --flowaudit '" + FLOWAUDIT_BINARY + "'";
  if (strict) cmd += " --strict";
  for (const auto& c : captures) cmd += " '" + (c.front() == '/' ? c : source_path(c)) + "'";
  return run_shell(cmd);
}

// The table row `title` has `agree` agreeing of `compared`.
bool has_row(const std::string& out, const std::string& title, int agree, int compared) {
  const auto at = out.find("\n" + title + " ");
  if (at == std::string::npos) return false;
  std::istringstream line(out.substr(at + 1 + title.size(), out.find('\n', at + 1) - at - 1 - title.size()));
  int a = -1;
  int n = -1;
  line >> a >> n;
  return a == agree && n == compared;
}

bool tools_present() {
  if (have("tshark") && have("python3")) return true;
  MESSAGE("tshark or python3 not installed: compare-requests not checked");
  return false;
}

}  // namespace

TEST_CASE("e2e: compare-requests: every request of the decrypted and plaintext HTTP captures agrees with tshark" *
          doctest::test_suite("e2e")) {
  if (!tools_present()) return;
  const auto r = compare({"tests/data/decrypt", "tests/data/http"});
  INFO(r.out, r.err);
  CHECK(r.exit_code == 0);  // --strict: 1 on any disagreement, skipped capture or flowaudit error
  CHECK(r.out.find("15 captures, 15 compared, 0 skipped") != std::string::npos);
  CHECK(r.out.find(" 0 flowaudit errors") != std::string::npos);
  // 17 HTTP/1.x requests (one per TLS capture but KeyUpdate's, which carries no request, four on
  // one keep-alive connection, the bomb, two WebSocket upgrades) and two HTTP/2 streams: all on
  // both sides, so an empty comparison cannot pass.
  CHECK(r.out.find("requests by protocol: HTTP/1.x 17, HTTP/2 2\n") != std::string::npos);
  CHECK(has_row(r.out, "requests (both sides)", 19, 19));
  for (const char* field : {"method", "authority", "path", "status", "request body bytes", "response body bytes"}) {
    INFO(field);
    CHECK(has_row(r.out, field, 19, 19));
  }
  CHECK(r.out.find("\nexpected differences          0 ") != std::string::npos);
  CHECK(r.out.find("disagreements (capture, flow, stream, field: flowaudit value | tshark or expected value):\n  none\n") !=
        std::string::npos);
}

TEST_CASE("e2e: compare-requests lists a disagreement and fails under --strict (an HTTP/3 .expected file)" *
          doctest::test_suite("e2e")) {
  if (!tools_present()) return;
  // A copy of a QUIC capture whose .expected file names a request that is not in it: the multiset
  // comparison lists it as missing on flowaudit's side, whatever flowaudit reads of HTTP/3.
  const auto dir = temp_dir() / "compare-requests";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(source_path("tests/data/quic-v1.pcap"), dir / "quic-v1.pcap",
                             std::filesystem::copy_options::overwrite_existing);
  {
    std::ofstream expected(dir / "quic-v1.expected");
    expected << "# method\tauthority\tpath\tstatus\trequest body\tresponse body\n"
             << "GET\tnowhere.example\t/never\t-\t0\t7\n";
  }
  const auto r = compare({(dir / "quic-v1.pcap").string()});
  INFO(r.out, r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("\nonly tshark/expected          1 ") != std::string::npos);
  CHECK(r.out.find("request: flowaudit (no request) | expected GET \"nowhere.example\" \"/never\"") != std::string::npos);
  const auto lenient = compare({(dir / "quic-v1.pcap").string()}, false);
  CHECK(lenient.exit_code == 0);  // without --strict it only reports
}

// Known flowaudit failures found by compare-requests on tests/data/hostile (then this case passes
// and may_fail can go). The method of a head http_parser refuses after its request line is now
// set when the target starts (Http1Connection's on_url), which fixed the empty method of
// http-huge-head.pcap's first request and of injection.pcap's 42000 one. Left:
// - http-huge-head.pcap, 41004 -> 43.109.38.198:80 (38 KB of head, over the 32 KiB limit):
//   request_body_bytes 0 where tshark reads 35: the body is not read after the head limit (the flow
//   is an inspection-limit blind spot, http-head-bytes, so the 0 is explained).
// - injection.pcap, 41006 -> 203.0.113.26:80 (ESC, "[2J" and invalid UTF-8 in the request target):
//   http_parser refuses the request line (invalid URL character), and the request is listed with
//   method "", path "" and authority null (tshark: GET, plain6.example, the hostile target); the
//   flow's own flows[].http (read by flowaudit's tolerant head parser) has them.
// - injection.pcap, 42000 -> 203.0.113.30:80 (a Host header holding ESC ] 0 ; x BEL and U+202E):
//   http_parser refuses the header: authority null (tshark the hostile host; flows[].http.host has
//   it) and request_body_bytes 0 (tshark 2).
// The fix is a fallback to the tolerant head parser (http_request.h) when http_parser refuses a head.
TEST_CASE("e2e: compare-requests on hostile HTTP heads (known failures)" * doctest::test_suite("e2e") *
          doctest::may_fail()) {
  if (!tools_present()) return;
  const auto r = compare({"tests/data/hostile/http-huge-head.pcap", "tests/data/hostile/injection.pcap"});
  INFO(r.out, r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("disagreements (capture, flow, stream, field: flowaudit value | tshark or expected value):\n  none\n") !=
        std::string::npos);
}

}  // namespace flowaudit::e2e
