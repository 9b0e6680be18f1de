// QUIC decryption with key logs and HTTP/3 (issue 16): captures of Debian's ngtcp2 examples
// (gtlsclient -> gtlsserver) made by scripts/gen/quic-captures, each with its key log as a pcapng
// Decryption Secrets Block. tshark 4.0 cannot decode QPACK, so the reference for the requests is
// what the real client and server said they sent, recorded beside each capture (<name>.expected).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

using boost::json::object;

std::string data(const std::string& name) { return source_path("tests/data/quic/" + name); }

using Row = std::tuple<std::string, std::string, std::string, std::int64_t, std::int64_t, std::int64_t>;

std::vector<Row> expected_rows(const std::string& name) {
  std::ifstream in(data(name + ".expected"));
  REQUIRE(in.good());
  std::vector<Row> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    Row r;
    fields >> std::get<0>(r) >> std::get<1>(r) >> std::get<2>(r) >> std::get<3>(r) >> std::get<4>(r) >> std::get<5>(r);
    rows.push_back(r);
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::vector<const object*> quic_flows(const object& report) {
  std::vector<const object*> out;
  for (const auto& v : report.at("flows").as_array()) {
    const auto& f = v.as_object();
    if (f.at("app_protocol") == "quic") out.push_back(&f);
  }
  return out;
}

std::vector<Row> reported_rows(const object& report) {
  std::vector<Row> rows;
  for (const object* f : quic_flows(report)) {
    if (!f->contains("requests")) continue;
    for (const auto& v : f->at("requests").as_array()) {
      const auto& r = v.as_object();
      CHECK(r.at("scheme") == "https");
      rows.emplace_back(std::string(r.at("method").as_string()), std::string(r.at("authority").as_string()),
                        std::string(r.at("path").as_string()), r.at("status").is_null() ? 0 : get_int(r.at("status")),
                        get_int(r.at("request_body_bytes")), get_int(r.at("response_body_bytes")));
    }
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

}  // namespace

TEST_CASE("e2e: HTTP/3 over QUIC v1, v2 and after a compatible version negotiation: every request as the client and "
          "server saw it" * doctest::test_suite("e2e")) {
  for (const char* name : {"h3-v1", "h3-v2", "h3-v2-cvn", "h3-keyupdate", "h3-0rtt"}) {
    CAPTURE(name);
    const auto report = audit_json({data(std::string(name) + ".pcapng")}, {"--no-redact"});
    const auto flows = quic_flows(report);
    REQUIRE(!flows.empty());
    for (const object* f : flows) {
      const auto& x = f->at("decryption").as_object();
      CHECK(x.at("keys") == true);
      CHECK(x.at("version") == "TLS 1.3");
      CHECK(x.at("client_stopped").is_null());
      CHECK(x.at("server_stopped").is_null());
      CHECK(get_int(x.at("records_decrypted")) > 0);
      CHECK(get_int(x.at("application_bytes_out")) > 0);
      CHECK(f->at("blind_spot").is_null());
    }
    CHECK(reported_rows(report) == expected_rows(name));
    // The version the connection ended in: v2 also after starting in v1 (compatible version
    // negotiation), and the server's Initial read in it (its ServerHello: JA3S, suite).
    const char* version = std::string_view(name).starts_with("h3-v2") ? "2" : "1";
    for (const object* f : flows) {
      CHECK(f->at("quic").at("version") == version);
      CHECK(!f->at("tls").at("ja3s").is_null());
    }
  }
}

TEST_CASE("e2e: QUIC key phase changes and 0-RTT" * doctest::test_suite("e2e")) {
  const auto updated = audit_json({data("h3-keyupdate.pcapng")});
  std::int64_t updates = 0;
  for (const object* f : quic_flows(updated)) updates += get_int(f->at("decryption").at("key_updates"));
  CHECK(updates >= 1);

  const auto early = audit_json({data("h3-0rtt.pcapng")});
  bool early_data = false;
  for (const object* f : quic_flows(early)) early_data = early_data || f->at("decryption").at("early_data") == true;
  CHECK(early_data);
}

TEST_CASE("e2e: QUIC with --keylog, without keys, and with the wrong keys" * doctest::test_suite("e2e")) {
  const auto keys = temp_dir() / "h3.keys";
  std::filesystem::copy_file(data("h3-v1.keys"), keys, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::permissions(keys, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const auto with_keys = audit_json({data("h3-nokeys.pcap")}, {"--keylog", keys.string(), "--no-redact"});
  CHECK(reported_rows(with_keys) == expected_rows("h3-v1"));
  // No secret (the third field of each line) appears anywhere in the report.
  const std::string text = boost::json::serialize(with_keys);
  std::istringstream lines(read_file(keys));
  std::string label, random, secret;
  while (lines >> label >> random >> secret) CHECK(text.find(secret) == std::string::npos);

  // Without a key log nothing changes: the Initial is read, the rest is not.
  const auto plain = audit_json({data("h3-nokeys.pcap")});
  for (const object* f : quic_flows(plain)) {
    CHECK(!f->contains("decryption"));
    CHECK(!f->contains("requests"));
  }

  // A key log without this connection's secrets: a blind spot that says so.
  const auto other = temp_dir() / "other-h3.keys";
  {
    std::ofstream out(other);
    out << "CLIENT_TRAFFIC_SECRET_0 " << std::string(64, 'a') << ' ' << std::string(64, 'b') << '\n';
  }
  std::filesystem::permissions(other, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const auto missing = audit_json({data("h3-nokeys.pcap")}, {"--keylog", other.string()});
  const auto flows = quic_flows(missing);
  REQUIRE(!flows.empty());
  for (const object* f : flows) {
    CHECK(f->at("blind_spot") == "encrypted-no-keys");
    CHECK(f->at("decryption").at("keys") == false);
    CHECK(f->at("decryption").at("client_stopped") == "no-keys");
  }
}

}  // namespace flowaudit::e2e
