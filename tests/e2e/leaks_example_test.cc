// The bundled "what left" example (issue 17; examples/deepseek-leaks.pcapng, the same file as
// tests/data/leaks/deepseek-leaks.pcapng, made by scripts/gen/leaks-example): audited with its two
// canaries as the README says, every leak the script planted is a finding of the request that carried
// it: the canary sentence in the chat prompt (HTTP/2 over TLS, keys in the file), the e-mail hashed as
// ad networks do and a device identifier in the telemetry body (HTTP/1.1 over TLS), the IDFA in a
// plaintext ad request; under the default policy the data-leaks pack grades them and the audit fails.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

using boost::json::object;

const std::string kEmail = "ilse.brandt@example.org";
const std::string kSentence = "Summarise the Falkenrath merger memo for Ilse Brandt";

std::string capture() { return source_path("tests/data/leaks/deepseek-leaks.pcapng"); }

// The one request of the report with this method and authority.
const object& request(const object& report, const std::string& method, const std::string& authority) {
  const object* found = nullptr;
  int n = 0;
  for (const auto& fv : report.at("flows").as_array()) {
    const auto* reqs = fv.as_object().if_contains("requests");
    if (reqs == nullptr || !reqs->is_array()) continue;
    for (const auto& rv : reqs->as_array()) {
      const object& r = rv.as_object();
      if (r.at("method") == method.c_str() && r.at("authority") == authority.c_str()) {
        found = &r;
        ++n;
      }
    }
  }
  REQUIRE_MESSAGE(n == 1, n << " requests " << method << " " << authority);
  return *found;
}

// The findings of a request with this type and field.
std::vector<object> findings(const object& req, const std::string& type, const std::string& field) {
  std::vector<object> out;
  for (const auto& v : req.at("findings").as_array()) {
    const object& f = v.as_object();
    if (f.at("type") == type.c_str() && f.at("field") == field.c_str()) out.push_back(f);
  }
  return out;
}

std::string str(const object& o, const char* key) {
  const auto& v = o.at(key);
  return v.is_string() ? std::string(v.as_string()) : std::string();
}

const object& destination(const object& report, const std::string& ip) {
  for (const auto& d : report.at("destinations").as_array()) {
    if (d.as_object().at("ip") == ip.c_str()) return d.as_object();
  }
  FAIL("no destination " << ip);
  static const object none;
  return none;
}

}  // namespace

TEST_CASE("e2e: the leaks example: canary prompt, hashed e-mail, device id and IDFA, each in its request" *
          doctest::test_suite("e2e")) {
  // the example is the test file
  REQUIRE(read_file(source_path("examples/deepseek-leaks.pcapng")) == read_file(capture()));
  const auto report = audit_json({capture()}, {"--canary", kEmail, "--canary", kSentence});
  CHECK(capture_warnings(report).empty());

  // 1. the chat request (HTTP/2 over TLS 1.3, decrypted with the file's own keys): the canary
  //    sentence as is in the prompt field, which the chat endpoint counts as prompt text
  {
    const object& chat = request(report, "POST", "chat.deepseek.com");
    CHECK(str(chat, "path") == "/api/v0/chat/completion");
    CHECK(get_int(chat.at("status")) == 200);
    CHECK(str(chat, "chat_service") == "deepseek");
    CHECK(get_int(chat.at("prompt_bytes")) > static_cast<std::int64_t>(kSentence.size()));
    const auto canary = findings(chat, "canary", "body.prompt");
    REQUIRE(canary.size() == 1);
    CHECK(str(canary[0], "encoding") == "as is");
    CHECK(findings(chat, "prompt", "body.prompt").size() == 1);
    // masked: the sentence itself is never in the report
    CHECK(str(canary[0], "value").find("Falkenrath") == std::string::npos);
  }
  // 2. the telemetry request (HTTP/1.1 over TLS 1.3): sha256 of the e-mail as hex under user.em, the
  //    iOS identifier for vendor under header.idfv
  {
    const object& tel = request(report, "POST", "gator.volces.com");
    CHECK(str(tel, "path") == "/service/2/app_log/");
    CHECK(tel.at("chat_service").is_null());
    CHECK(get_int(tel.at("prompt_bytes")) == 0);
    const auto em = findings(tel, "canary", "body.user.em");
    REQUIRE(em.size() == 1);
    const std::string enc = str(em[0], "encoding");
    CHECK(enc.find("sha256") != std::string::npos);
    CHECK(enc.find("hex") != std::string::npos);
    const auto idfv = findings(tel, "device-id", "body.header.idfv");
    REQUIRE(idfv.size() == 1);
    CHECK(str(idfv[0], "detector") == "idfv-by-name");
    // no e-mail in clear anywhere in it: only the hash left
    CHECK(findings(tel, "email", "body.user.em").empty());
  }
  // 3. the ad request in plaintext HTTP: the IDFA in the query string
  {
    const object& ad = request(report, "GET", "mi.gdt.qq.com");
    CHECK(str(ad, "path").rfind("/gdt_mview.fcg?", 0) == 0);
    const auto idfa = findings(ad, "advertising-id", "query.idfa");
    REQUIRE(idfa.size() == 1);
    CHECK(str(idfa[0], "detector") == "idfa-by-name");
  }
  // where they went: the catalog's services and jurisdictions, names from DNS answers too
  {
    const object& tel = destination(report, "43.109.38.198");
    CHECK(str(tel, "hostname") == "gator.volces.com");
    CHECK(tel.at("encrypted") == true);
    CHECK(str(tel.at("service").as_object(), "id") == "volcengine");
    CHECK(str(tel.at("service").as_object(), "jurisdiction") == "CN");
    const object& ad = destination(report, "109.244.194.121");
    CHECK(str(ad, "hostname") == "mi.gdt.qq.com");
    CHECK(ad.at("encrypted") == false);
    CHECK(str(ad.at("service").as_object(), "id") == "tencent-gdt");
    CHECK(str(ad.at("service").as_object(), "jurisdiction") == "CN");
    CHECK(str(destination(report, "3.173.21.63").at("service").as_object(), "id") == "deepseek");
    int answered = 0;
    for (const auto& q : report.at("dns").as_array()) {
      const std::string name = str(q.as_object(), "query");
      if (str(q.as_object(), "qtype") == "A" &&
          (name == "chat.deepseek.com" || name == "gator.volces.com" || name == "mi.gdt.qq.com")) {
        CHECK(!q.as_object().at("answers").as_array().empty());
        ++answered;
      }
    }
    CHECK(answered == 3);
  }
}

TEST_CASE("e2e: the leaks example without canaries: the detectors alone still find the identifiers and the prompt" *
          doctest::test_suite("e2e")) {
  const auto report = audit_json({capture()});
  const object& chat = request(report, "POST", "chat.deepseek.com");
  CHECK(findings(chat, "canary", "body.prompt").empty());
  CHECK(findings(chat, "prompt", "body.prompt").size() == 1);
  CHECK(findings(request(report, "POST", "gator.volces.com"), "canary", "body.user.em").empty());
  CHECK(findings(request(report, "POST", "gator.volces.com"), "device-id", "body.header.idfv").size() == 1);
  CHECK(findings(request(report, "GET", "mi.gdt.qq.com"), "advertising-id", "query.idfa").size() == 1);
}

TEST_CASE("e2e: the leaks example fails the default policy, each leak graded with its evidence" *
          doctest::test_suite("e2e")) {
  const auto report = audit_json({capture()}, {"--canary", kEmail, "--canary", kSentence, "--policy", "default"}, 1);
  CHECK(report.at("summary").as_object().at("verdict") == "fail");
  // rule -> the messages of its findings
  std::map<std::string, std::string> messages;
  for (const auto& fv : report.at("findings").as_array()) {
    const object& f = fv.as_object();
    messages[str(f, "rule")] += str(f, "message") + "\n";
  }
  // the hashed e-mail at the CN telemetry host: a third party under Chinese law, with its chain
  const std::string& third = messages["data-leaks.canary-third-party"];
  CHECK(third.find("gator.volces.com") != std::string::npos);
  CHECK(third.find("in body.user.em (sha256") != std::string::npos);
  CHECK(third.find("chat.deepseek.com") == std::string::npos);  // the AI service's own operator
  const std::string& restricted = messages["data-leaks.restricted-jurisdiction"];
  CHECK(restricted.find("chat.deepseek.com") != std::string::npos);
  CHECK(restricted.find("prompt") != std::string::npos);
  CHECK(restricted.find("gator.volces.com") != std::string::npos);
  CHECK(restricted.find("CN law") != std::string::npos);
  // the IDFA over plain HTTP: critical, masked in the evidence
  const std::string& plain = messages["data-leaks.personal-data-plaintext"];
  CHECK(plain.find("mi.gdt.qq.com") != std::string::npos);
  CHECK(plain.find("advertising-id") != std::string::npos);
  CHECK(plain.find("in query.idfa [idfa-by-name]") != std::string::npos);
  CHECK(plain.find("6D92078A-8246-4BA4-AE5B-76104861E7DC") == std::string::npos);
  CHECK(messages["data-leaks.personal-data-tracker"].find("body.header.idfv") != std::string::npos);
  // nothing the user typed is in any message
  for (const auto& entry : messages) {  // not a structured binding: clang 14 cannot capture one in INFO
    INFO(entry.first);
    CHECK(entry.second.find("Falkenrath") == std::string::npos);
    CHECK(entry.second.find(kEmail) == std::string::npos);
  }
  for (const auto& fv : report.at("findings").as_array()) {
    const object& f = fv.as_object();
    if (str(f, "rule") == "data-leaks.restricted-jurisdiction" || str(f, "rule") == "data-leaks.personal-data-plaintext") {
      CHECK(str(f, "severity") == "critical");
    }
  }
  // the What left rows say the same per destination
  const auto& rows = report.at("what_left").as_object().at("rows").as_array();
  bool gator = false;
  for (const auto& rv : rows) {
    const object& row = rv.as_object();
    if (str(row, "destination") == "gator.volces.com") {
      gator = str(row.at("service").as_object(), "jurisdiction") == "CN";
    }
  }
  CHECK(gator);
}

}  // namespace flowaudit::e2e
