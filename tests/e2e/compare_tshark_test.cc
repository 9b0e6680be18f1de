// scripts/compare-tshark (the agreement measurement against tshark) keeps working: on two committed
// captures where flowaudit and tshark agree it prints 100% and no disagreement, and a capture
// flowaudit refuses is compared as a miss, with its cause. Skipped when tshark or python3 is absent.
#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

bool have(const std::string& tool) { return run_shell("command -v " + tool).exit_code == 0; }

RunResult compare(const std::vector<std::string>& captures) {
  std::string cmd = "python3 '" + source_path("scripts/compare-tshark") + "' --flowaudit '" + FLOWAUDIT_BINARY + "'";
  for (const auto& c : captures) cmd += " '" + source_path(c) + "'";
  return run_shell(cmd);
}

bool has_row(const std::string& out, const std::string& title, const std::string& counts) {
  const auto at = out.find("\n" + title + " ");
  if (at == std::string::npos) return false;
  const auto line = out.substr(at + 1, out.find('\n', at + 1) - at - 1);
  return line.find(counts) != std::string::npos;
}

}  // namespace

TEST_CASE("e2e: compare-tshark agrees on two committed captures and lists a refused one" * doctest::test_suite("e2e")) {
  if (!have("tshark") || !have("python3")) {
    MESSAGE("tshark or python3 not installed: compare-tshark not checked");
    return;
  }
  SUBCASE("agreement") {
    const auto r = compare({"tests/data/tls13-sni-alpn.pcap", "tests/data/dns-udp-tcp.pcap"});
    INFO(r.out, r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("2 captures, 2 compared, 0 skipped") != std::string::npos);
    CHECK(has_row(r.out, "TLS SNI", "1           1   100.0%"));
    CHECK(has_row(r.out, "DNS query names", "1           1   100.0%"));
    CHECK(has_row(r.out, "JA3", "1           1   100.0%"));
    CHECK(has_row(r.out, "packets", "2           2   100.0%"));
    CHECK(has_row(r.out, "TCP/UDP conversations", "2           2   100.0%"));
    CHECK(r.out.find("JA4 (FoxIO)") != std::string::npos);
    CHECK(r.out.find("(2 captures: no reference)") != std::string::npos);
    CHECK(r.out.find("flowaudit only") == std::string::npos);
    CHECK(r.out.find("tshark only") == std::string::npos);
    CHECK(has_row(r.out, "tunnel carriers", " 0   (tshark's outer UDP conversations"));
  }
  SUBCASE("a capture flowaudit refuses is a disagreement with its cause") {
    const auto r = compare({"tests/data/bad/unsupported-linktype.pcap"});
    INFO(r.out, r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("1 flowaudit errors") != std::string::npos);
    CHECK(has_row(r.out, "packets", "0           1     0.0%"));
    CHECK(r.out.find("[packets]  cause: link type unsupported") != std::string::npos);
  }
}

}  // namespace flowaudit::e2e
