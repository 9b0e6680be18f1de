// Names and fingerprints in the report equal what tshark says about the same packets: for every
// committed capture, the values scripts/record-expected recorded from tshark 4.0 (SNI, ALPN, JA3,
// JA3S, QUIC SNI, DNS answers, HTTP requests) are checked against flowaudit's JSON report.
#include <filesystem>
#include <map>

#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

using boost::json::object;

std::string endpoint_text(const object& e) {
  const std::string ip(e.at("ip").as_string());
  const std::string port = std::to_string(get_int(e.at("port")));
  return ip.find(':') != std::string::npos ? "[" + ip + "]:" + port : ip + ":" + port;
}

std::map<std::string, const object*> flows_by_tuple(const object& report) {
  std::map<std::string, const object*> out;
  for (const auto& f : report.at("flows").as_array()) {
    const auto& o = f.as_object();
    out[endpoint_text(o.at("client").as_object()) + "->" + endpoint_text(o.at("server").as_object())] = &o;
  }
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const auto pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos - start));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return parts;
}

std::string str_at(const object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

const object* sub(const object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->as_object() : nullptr;
}

std::string joined_answers(const object& dns) {
  std::string out;
  for (const auto& a : dns.at("answers").as_array()) {
    if (!out.empty()) out += ',';
    out += std::string(a.as_string());
  }
  return out;
}

}  // namespace

TEST_SUITE("e2e") {

TEST_CASE("names and fingerprints equal tshark's on every committed capture") {
  const std::filesystem::path dir = source_path("tests/data/expected");
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".expected") continue;
    const std::string capture = entry.path().stem().string();
    CAPTURE(capture);
    const auto report = audit_json({source_path("tests/data/" + capture)});
    const auto flows = flows_by_tuple(report);
    std::istringstream lines(read_file(entry.path()));
    std::string line;
    while (std::getline(lines, line)) {
      if (line.empty() || line[0] == '#') continue;
      const auto eq = line.find('=');
      if (eq == std::string::npos) continue;
      const std::string key = line.substr(0, eq);
      const auto fields = split(line.substr(eq + 1), '|');
      CAPTURE(line);
      if (key == "sni" || key == "ja3" || key == "ja3s" || key == "alpn" || key == "quic_sni" ||
          key == "http_host") {
        REQUIRE(fields.size() >= 2);
        const auto it = flows.find(fields[0]);
        REQUIRE_MESSAGE(it != flows.end(), "no flow " << fields[0]);
        const object& flow = *it->second;
        const object* tls = sub(flow, "tls");
        if ((key == "sni" || key == "quic_sni") && fields[1].empty()) {  // a ClientHello without SNI
          REQUIRE(tls != nullptr);
          CHECK(tls->at("sni").is_null());
          CHECK(str_at(flow, "hostname_source") != "tls-sni");
        } else if (key == "sni" || key == "quic_sni") {
          REQUIRE(tls != nullptr);
          CHECK(str_at(*tls, "sni") == fields[1]);
          CHECK(str_at(flow, "hostname") == fields[1]);
          CHECK(str_at(flow, "hostname_source") == (key == "sni" ? "tls-sni" : "quic-sni"));
        } else if (key == "ja3") {
          REQUIRE(tls != nullptr);
          CHECK(str_at(*tls, "ja3") == fields[1]);
        } else if (key == "ja3s") {
          REQUIRE(tls != nullptr);
          // After a HelloRetryRequest tshark lists both ServerHellos; flowaudit keeps the last.
          const std::string content = read_file(entry.path());
          const std::string own = "ja3s=" + fields[0] + "|" + str_at(*tls, "ja3s") + "\n";
          const bool retried = content.find("ja3s=" + fields[0] + "|") != content.rfind("ja3s=" + fields[0] + "|");
          if (retried) {
            CHECK(content.find(own) != std::string::npos);
          } else {
            CHECK(str_at(*tls, "ja3s") == fields[1]);
          }
        } else if (key == "alpn") {
          REQUIRE(tls != nullptr);
          std::string offered;
          for (const auto& a : tls->at("alpn_offered").as_array()) {
            if (!offered.empty()) offered += ',';
            offered += std::string(a.as_string());
          }
          CHECK(offered == fields[1]);
        } else if (fields.size() >= 4 && fields[2] == "CONNECT") {
          // tshark shows the proxy handshake as an HTTP request; flowaudit names the flow by it
          // (via) and reads the tunnel that follows.
          const object* via = sub(flow, "via");
          REQUIRE(via != nullptr);
          CHECK(str_at(*via, "type") == "http-connect");
          CHECK(str_at(*via, "host") + ":" + std::to_string(get_int(via->at("port"))) == fields[1]);
        } else {  // http_host
          const object* http = sub(flow, "http");
          REQUIRE(http != nullptr);
          CHECK(str_at(*http, "host") == fields[1]);
          if (fields.size() >= 4) {
            CHECK(str_at(*http, "method") == fields[2]);
            CHECK(str_at(*http, "path") == fields[3]);
          }
          CHECK(flow.at("encrypted").as_bool() == false);
        }
        ++checked;
      } else if (key == "dns") {
        REQUIRE(fields.size() >= 4);
        bool found = false;
        for (const auto& d : report.at("dns").as_array()) {
          const auto& o = d.as_object();
          if (str_at(o, "query") == fields[0] && str_at(o, "qtype") == fields[1] && str_at(o, "rcode") == fields[2] &&
              joined_answers(o) == fields[3]) {
            found = true;
          }
        }
        CHECK_MESSAGE(found, "no dns[] entry for " << line);
        ++checked;
      }
    }
  }
  CHECK(checked >= 20);
}

TEST_CASE("the example session names every destination and its name source") {
  const auto report = audit_json({source_path("examples/deepseek-session.pcapng")});
  std::map<std::string, std::pair<std::string, std::string>> by_ip;
  for (const auto& d : report.at("destinations").as_array()) {
    const auto& o = d.as_object();
    by_ip[std::string(o.at("ip").as_string())] = {str_at(o, "hostname"), str_at(o, "hostname_source")};
  }
  CHECK(by_ip["3.173.21.63"] == std::pair<std::string, std::string>{"chat.deepseek.com", "tls-sni"});
  CHECK(by_ip["43.109.38.198"] == std::pair<std::string, std::string>{"gator.volces.com", "http-host"});
  CHECK(by_ip["138.113.144.16"] == std::pair<std::string, std::string>{"fp-it-acc.portal101.cn", "tls-sni"});
  CHECK(by_ip["142.250.74.35"] == std::pair<std::string, std::string>{"fonts.gstatic.com", "tls-sni"});
  const auto& coverage = report.at("summary").as_object().at("coverage").as_object();
  CHECK(coverage.at("bytes_out_share").to_number<double>() > 0.5);
}

}  // TEST_SUITE
}  // namespace flowaudit::e2e
