// The key log behind decryption (analysis/decrypt/key_log.h): which lines become secrets, which are
// counted as malformed (by line number, never by content), and the limits.
#include <doctest/doctest.h>

#include <string>

#include "analysis/decrypt/key_log.h"
#include "analysis/decrypt/tls_suites.h"

namespace decrypt = flowaudit::analysis::decrypt;

namespace {

std::string hex(char c, std::size_t bytes) { return std::string(bytes * 2, c); }

}  // namespace

TEST_SUITE("decrypt") {

TEST_CASE("key log: TLS 1.2 and 1.3 lines are stored by client random; others are counted") {
  decrypt::KeyLog log;
  const std::string random = hex('a', 32);
  const std::string text = "# SSL/TLS secrets log file\n\n"
                           "CLIENT_RANDOM " + random + " " + hex('1', 48) + "\n"
                           "CLIENT_HANDSHAKE_TRAFFIC_SECRET " + random + " " + hex('2', 32) + "\r\n"
                           "SERVER_TRAFFIC_SECRET_0 " + random + " " + hex('3', 48) + "\n"
                           "EXPORTER_SECRET " + random + " " + hex('4', 32) + "\n"
                           "CLIENT_TRAFFIC_SECRET_N " + random + " " + hex('5', 32) + "\n"
                           "CLIENT_RANDOM " + random + " " + hex('1', 47) + "\n"          // 47 bytes: no master secret
                           "BOGUS_LABEL " + random + " " + hex('1', 32) + "\n"
                           "CLIENT_RANDOM " + hex('z', 32) + " " + hex('1', 48) + "\n"  // not hex
                           "CLIENT_RANDOM onlytwo\n" +
                           "X " + std::string(2000, 'a') + "\n";
  const auto load = log.add_text(text);
  CHECK(load.keys == 3);
  CHECK(load.ignored == 2);
  CHECK(load.malformed == 5);
  CHECK(load.problems.size() == decrypt::KeyLog::kMaxProblems);
  CHECK(load.problems[0] == "line 8: secret is not hex of a valid size");
  for (const auto& p : load.problems) CHECK(p.find("aaaa") == std::string::npos);  // never the line itself
  REQUIRE(log.sessions() == 1);
  std::array<std::uint8_t, 32> r{};
  r.fill(0xaa);
  const auto* s = log.find(r);
  REQUIRE(s != nullptr);
  CHECK(s->get(decrypt::SecretKind::kMaster).size == 48);
  CHECK(s->get(decrypt::SecretKind::kClientHandshake).size == 32);
  CHECK(s->get(decrypt::SecretKind::kServerTraffic).size == 48);
  CHECK_FALSE(s->get(decrypt::SecretKind::kClientEarly).present());
  r[31] = 0xab;
  CHECK(log.find(r) == nullptr);
  CHECK(log.find(std::span<const std::uint8_t>(r.data(), 31)) == nullptr);
}

TEST_CASE("key log: an RSA line is valid and decrypts nothing here") {
  decrypt::KeyLog log;
  const auto load = log.add_text("RSA " + hex('a', 8) + " " + hex('b', 48) + "\n");
  CHECK(load.ignored == 1);
  CHECK(load.malformed == 0);
  CHECK(log.empty());
}

TEST_CASE("suites: the table knows what it decrypts and nothing else") {
  CHECK(decrypt::find_suite(0x1301) != nullptr);
  CHECK(decrypt::find_suite(0x1301)->tls13);
  CHECK(decrypt::find_suite(0xc02f) != nullptr);
  CHECK_FALSE(decrypt::find_suite(0xc02f)->tls13);
  CHECK(decrypt::find_suite(0x1304) == nullptr);  // AES-128-CCM: not supported, reported by id
  CHECK(decrypt::find_suite(0x000a) == nullptr);  // 3DES
}

}  // TEST_SUITE
