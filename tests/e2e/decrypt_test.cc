// TLS decryption with key logs (issue 16): captures of openssl s_client -> s_server made by
// scripts/gen/decrypt-captures, each with its key log as a pcapng Decryption Secrets Block.
#include <filesystem>
#include <fstream>

#include "capture/pcap_file_source.h"
#include "capture/pcapng_writer.h"
#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

using boost::json::object;

std::string data(const std::string& name) { return source_path("tests/data/decrypt/" + name); }

}  // namespace

TEST_CASE("e2e: every supported suite decrypts, and the request comes out" * doctest::test_suite("e2e")) {
  struct Case {
    const char* capture;
    const char* version;
    const char* cipher;
  };
  for (const Case c : {Case{"tls13-aes128.pcapng", "TLS 1.3", "TLS_AES_128_GCM_SHA256"},
                       Case{"tls13-aes256.pcapng", "TLS 1.3", "TLS_AES_256_GCM_SHA384"},
                       Case{"tls13-chacha.pcapng", "TLS 1.3", "TLS_CHACHA20_POLY1305_SHA256"},
                       Case{"tls12-gcm.pcapng", "TLS 1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
                       Case{"tls12-chacha.pcapng", "TLS 1.2", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
                       Case{"tls12-cbc-etm.pcapng", "TLS 1.2", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
                       Case{"tls12-cbc-mte.pcapng", "TLS 1.2", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"},
                       Case{"tls10-cbc.pcapng", "TLS 1.0", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"}}) {
    CAPTURE(c.capture);
    const auto report = audit_json({data(c.capture)});
    const auto& f = first_flow(report, "tls");
    const auto& x = f.at("decryption").as_object();
    CHECK(x.at("keys") == true);
    CHECK(x.at("version") == c.version);
    CHECK(x.at("cipher") == c.cipher);
    CHECK(x.at("client_stopped").is_null());
    CHECK(x.at("server_stopped").is_null());
    CHECK(get_int(x.at("encrypted_bytes")) == get_int(x.at("decrypted_bytes")));
    CHECK(get_int(x.at("application_bytes_out")) == 145);
    CHECK(get_int(x.at("application_bytes_in")) == 86);
    CHECK(f.at("blind_spot").is_null());
    const auto& requests = f.at("requests").as_array();
    REQUIRE(requests.size() == 1);
    const auto& r = requests[0].as_object();
    CHECK(r.at("method") == "POST");
    CHECK(r.at("scheme") == "https");
    CHECK(r.at("authority") == "chat.deepseek.com");
    CHECK(r.at("path") == "/api/v0/chat/completion");
    CHECK(get_int(r.at("status")) == 200);
    CHECK(r.at("request_content_type") == "application/json");
    CHECK(get_int(r.at("request_body_bytes")) == 27);
    CHECK(get_int(r.at("response_body_bytes")) == 15);
  }
}

TEST_CASE("e2e: a KeyUpdate switches the client's keys, and what follows still decrypts" * doctest::test_suite("e2e")) {
  const auto report = audit_json({data("tls13-keyupdate.pcapng")});
  const auto& x = first_flow(report, "tls").at("decryption").as_object();
  CHECK(get_int(x.at("key_updates")) == 1);
  CHECK(x.at("client_stopped").is_null());
  CHECK(get_int(x.at("application_bytes_out")) == 19);  // "first\n" + "after-update\n"
}

TEST_CASE("e2e: --keylog decrypts a pcap; keys never reach a report" * doctest::test_suite("e2e")) {
  const auto keys = temp_dir() / "keys.log";
  std::filesystem::copy_file(data("tls13-aes128.keys"), keys, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::permissions(keys, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const auto report = audit_json({data("tls13-aes128.pcap")}, {"--keylog", keys.string()});
  CHECK(first_flow(report, "tls").at("decryption").at("keys") == true);
  CHECK(capture_warnings(report).empty());
  const std::string text = boost::json::serialize(report);
  const std::string secrets = read_file(keys);
  // No secret (the third field of each line) appears anywhere in the report.
  std::istringstream lines(secrets);
  std::string label, random, secret;
  while (lines >> label >> random >> secret) CHECK(text.find(secret) == std::string::npos);
}

TEST_CASE("e2e: keys missing make the flow a blind spot; a readable or malformed key log is warned about" *
          doctest::test_suite("e2e")) {
  const auto keys = temp_dir() / "other.log";
  {
    std::ofstream out(keys);
    out << "# comment\nCLIENT_RANDOM " << std::string(64, 'a') << ' ' << std::string(96, 'b') << "\nnot a key line\n";
  }
  std::filesystem::permissions(keys, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                                         std::filesystem::perms::others_read);
  const auto report = audit_json({data("tls13-aes128.pcap")}, {"--keylog", keys.string()});
  const auto& f = first_flow(report, "tls");
  CHECK(f.at("blind_spot") == "encrypted-no-keys");
  CHECK(f.at("decryption").at("keys") == false);
  CHECK(f.at("decryption").at("server_stopped") == "no-keys");
  const std::string warnings = boost::json::serialize(report.at("warnings"));
  CHECK(warnings.find("line 3") != std::string::npos);                    // the malformed line, by number
  CHECK(warnings.find("not a key line") == std::string::npos);            // never its text
  CHECK(warnings.find("can be read by other users") != std::string::npos);
}

TEST_CASE("e2e: without keys nothing changes" * doctest::test_suite("e2e")) {
  const auto report = audit_json({data("tls13-aes128.pcap")});
  const auto& f = first_flow(report, "tls");
  CHECK(f.at("blind_spot").is_null());
  CHECK(!f.contains("decryption"));
  CHECK(!f.contains("requests"));
}

}  // namespace flowaudit::e2e

namespace flowaudit::e2e {

TEST_CASE("e2e: HTTP/2 over TLS 1.3 after a HelloRetryRequest: both requests of the connection" *
          doctest::test_suite("e2e")) {
  const auto report = audit_json({source_path("tests/data/decrypt/h2-hrr.pcapng")});
  const object* flow = nullptr;
  for (const auto& v : report.at("flows").as_array()) {
    if (v.as_object().at("app_protocol") == "tls") flow = &v.as_object();
  }
  REQUIRE(flow != nullptr);
  const auto& x = flow->at("decryption").as_object();
  CHECK(x.at("keys") == true);
  CHECK(x.at("version") == "TLS 1.3");
  CHECK(x.at("client_stopped").is_null());
  CHECK(x.at("server_stopped").is_null());
  const auto& requests = flow->at("requests").as_array();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].at("method") == "POST");
  CHECK(requests[0].at("authority") == "chat.deepseek.com");
  CHECK(requests[0].at("path") == "/api/v0/status");
  CHECK(get_int(requests[0].at("status")) == 200);
  CHECK(get_int(requests[0].at("request_body_bytes")) == 26);
  CHECK(requests[1].at("path") == "/api/v0/chat/completion");
  CHECK(get_int(requests[1].at("status")) == 404);
  CHECK(requests[1].at("response_content_type") == "text/html; charset=UTF-8");
}

}  // namespace flowaudit::e2e

namespace flowaudit::e2e {

TEST_CASE("e2e: TLS 1.3 0-RTT: the request sent as early data is decrypted with the early traffic secret" *
          doctest::test_suite("e2e")) {
  const auto report = audit_json({data("tls13-0rtt.pcapng")});
  int resumed = 0;
  for (const auto& v : report.at("flows").as_array()) {
    const auto& f = v.as_object();
    if (f.at("app_protocol") != "tls") continue;
    const auto& x = f.at("decryption").as_object();
    CHECK(x.at("keys") == true);
    CHECK(x.at("client_stopped").is_null());
    if (x.at("early_data") != true) continue;
    ++resumed;
    const auto& reqs = f.at("requests").as_array();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].as_object().at("method") == "POST");
    CHECK(reqs[0].as_object().at("path") == "/api/v0/chat/completion");
    CHECK(reqs[0].as_object().at("request_body_bytes") == 27);
  }
  CHECK(resumed == 1);  // the second connection; the first made the session
}

// `flowaudit run` writes the command's key log into its pcapng as the lines come, and the command
// writes them a moment after its ClientHello: under load the secrets block lands after the flow's
// first packets. The replay must decrypt such a flow as the live audit did (a CI run caught the
// replay differing), and a pcapng without any secret must report as before.
TEST_CASE("e2e: a pcapng whose secrets block comes after the flow's first packets still decrypts" *
          doctest::test_suite("e2e")) {
  const std::string keys = read_file(data("tls13-aes128.keys"));
  REQUIRE(!keys.empty());
  // The pcap's packets into a pcapng, the key log as a secrets block after packet `keys_after`
  // (0: none at all).
  const auto rewrite = [&](const std::filesystem::path& out, std::size_t keys_after) {
    auto in = capture::open_capture_file(data("tls13-aes128.pcap"));
    REQUIRE(in.source);
    capture::PcapngWriter writer;
    std::string error;
    REQUIRE(writer.open(out.string(), in.source->info().link_types.front(), 262144, "test", error));
    capture::RawPacket p;
    std::size_t n = 0;
    while (in.source->next(p) == capture::ReadStatus::kPacket) {
      REQUIRE(writer.write(p.ts_ns, p.orig_len, p.data));
      if (++n == keys_after) REQUIRE(writer.write_tls_keys(keys));
    }
    REQUIRE(n > 6);
    writer.close();
  };
  const auto dir = temp_dir() / "late-secrets";
  std::filesystem::create_directories(dir);
  rewrite(dir / "late.pcapng", 5);  // after the handshake's first flights
  rewrite(dir / "none.pcapng", 0);
  const auto with_keylog = audit_json({data("tls13-aes128.pcap")}, {"--keylog", data("tls13-aes128.keys")});
  const auto late = audit_json({(dir / "late.pcapng").string()});
  const auto& f = first_flow(late, "tls");
  REQUIRE(f.at("decryption").is_object());
  CHECK(f.at("decryption").at("keys") == true);
  CHECK(f.at("decryption").at("client_stopped").is_null());
  CHECK(f.at("decryption").at("server_stopped").is_null());
  CHECK(f.at("blind_spot").is_null());
  CHECK(f.at("requests") == first_flow(with_keylog, "tls").at("requests"));
  // Each worker of --threads reads the secrets block where it lies, and decides the same way.
  CHECK(audit_json({(dir / "late.pcapng").string()}, {"--threads", "2"}).at("flows") == late.at("flows"));

  // No secret anywhere: no decryption block, no blind spot, the pcap's report.
  const auto none = audit_json({(dir / "none.pcapng").string()});
  const auto plain = audit_json({data("tls13-aes128.pcap")});
  const auto& g = first_flow(none, "tls");
  CHECK(g.find("decryption") == g.end());
  CHECK(g.at("blind_spot") == first_flow(plain, "tls").at("blind_spot"));
  CHECK(none.at("flows").as_array().size() == plain.at("flows").as_array().size());
}

}  // namespace flowaudit::e2e
