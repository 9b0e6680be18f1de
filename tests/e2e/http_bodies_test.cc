// Plaintext HTTP bodies through the same exchange reader as decrypted TLS (issue 16): content
// codings decoded with their sizes, an event stream counted, a decompression bomb a blind spot.
// Captures of curl -> Python http.server made by scripts/gen/http-bodies.
#include <algorithm>
#include <fstream>
#include <map>

#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

using boost::json::object;

std::string data(const std::string& name) { return source_path("tests/data/http/" + name); }

}  // namespace

TEST_CASE("e2e: plaintext HTTP/1.1 exchanges: gzip, br and zstd bodies decoded, an event stream counted" *
          doctest::test_suite("e2e")) {
  const auto report = audit_json({data("http-bodies.pcap")});
  const object& f = first_flow(report, "http");
  CHECK(f.at("blind_spot").is_null());
  const auto& reqs = f.at("requests").as_array();
  REQUIRE(reqs.size() == 4);
  const object& post = reqs[0].as_object();
  CHECK(post.at("scheme") == "http");
  CHECK(post.at("method") == "POST");
  CHECK(post.at("path") == "/api/v0/chat/completion");
  CHECK(post.at("request_content_encoding") == "gzip");
  CHECK(post.at("request_decoding") == "ok");
  CHECK(post.at("request_body_bytes").as_int64() < post.at("request_body_decoded_bytes").as_int64() + 20);
  CHECK(post.at("request_body_decoded_bytes") == 111);  // the JSON prompt as the client wrote it
  CHECK(post.at("response_decoding") == "ok");
  CHECK(post.at("response_body_decoded_bytes") == 66);
  const object& br = reqs[1].as_object();
  CHECK(br.at("response_content_encoding") == "br");
  CHECK(br.at("response_decoding") == "ok");
  CHECK(br.at("response_body_bytes").as_int64() < br.at("response_body_decoded_bytes").as_int64());
  CHECK(br.at("request_decoding").is_null());
  const object& zstd = reqs[2].as_object();
  CHECK(zstd.at("response_content_encoding") == "zstd");
  CHECK(zstd.at("response_decoding") == "ok");
  CHECK(zstd.at("response_body_decoded_bytes") == 9685);
  const object& sse = reqs[3].as_object();
  CHECK(sse.at("status") == 200);
  REQUIRE(sse.at("event_stream").is_object());
  CHECK(sse.at("event_stream").as_object().at("events") == 3);
  CHECK(sse.at("event_stream").as_object().at("data_bytes") == 51);
  CHECK(post.at("event_stream").is_null());
}

TEST_CASE("e2e: a request body that is a decompression bomb is an inspection-limit blind spot, not an OOM" *
          doctest::test_suite("e2e")) {
  const auto report = audit_json({data("http-bomb.pcap")});
  const object& f = first_flow(report, "http");
  CHECK(f.at("blind_spot") == "inspection-limit");
  CHECK(f.at("blind_spot_reason") == "content-decoding");
  const object& r = f.at("requests").as_array().at(0).as_object();
  CHECK(r.at("request_decoding") == "limit");
  CHECK(r.at("request_body_bytes") == 274);
  CHECK(r.at("request_body_decoded_bytes").as_int64() <= 2 << 20);
}

}  // namespace flowaudit::e2e

namespace flowaudit::e2e {

TEST_CASE("e2e: the HTML report lists the requests per destination, the text report the decrypted share" *
          doctest::test_suite("e2e")) {
  const auto html = temp_dir() / "requests.html";
  const RunResult r = run({"audit", source_path("tests/data/decrypt/h2-hrr.pcapng"), data("http-bodies.pcap"),
                           "--policy", "none", "--report", "text", "--report", "html:" + html.string()});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("Decrypted: 100% of encrypted bytes sent (1 of 1 encrypted flows); 2 HTTPS requests reconstructed") !=
        std::string::npos);
  const std::string page = read_file(html);
  CHECK(page.find("<h2>What was sent: requests</h2>") != std::string::npos);
  CHECK(page.find("6 HTTP requests reconstructed") != std::string::npos);
  CHECK(page.find("https://chat.deepseek.com/api/v0/chat/completion") != std::string::npos);  // decrypted HTTP/2
  CHECK(page.find("http://chat.deepseek.com/static/app.js") != std::string::npos);            // plaintext
  CHECK(page.find("9.0 kB decoded") != std::string::npos);
  CHECK(page.find("3 server-sent events") != std::string::npos);
  CHECK(page.find("canary-8f3a91") == std::string::npos);  // bodies are never written
}

}  // namespace flowaudit::e2e

namespace flowaudit::e2e {

TEST_CASE("e2e: request-scope policy rules see every reconstructed request, decrypted or plaintext" *
          doctest::test_suite("e2e")) {
  const auto policy = temp_dir() / "requests-policy.yaml";
  {
    std::ofstream out(policy);
    out << "policy:\n  name: requests-test\nrules:\n"
           "  - id: t.prompt-post\n    title: Chat request with a body\n    severity: medium\n    scope: request\n"
           "    condition: request.method = POST and request.body_bytes > 20 and request.path matches \"^/api/v0/chat/\"\n"
           "    message: \"{request.method} {request.scheme}://{request.authority}{request.path} ({request.body_bytes} bytes, "
           "decrypted {request.decrypted}) to {service.name}\"\n"
           "  - id: t.decrypted-404\n    title: Decrypted request answered 404\n    severity: low\n    scope: request\n"
           "    condition: request.decrypted and request.status = 404 and request.response_content_type matches \"^text/html\"\n"
           "    message: \"{request.path}\"\n"
           "  - id: t.sse\n    title: Streamed answer\n    severity: info\n    scope: request\n"
           "    condition: request.response_content_type matches \"^text/event-stream\" and app_protocol = http\n"
           "    message: \"{request.path}\"\n";
  }
  const auto report = audit_json({source_path("tests/data/decrypt/h2-hrr.pcapng"), data("http-bodies.pcap")},
                                 {"--policy", policy.string(), "--fail-on", "never"});
  std::map<std::string, std::vector<std::string>> messages;
  std::map<std::string, std::int64_t> flows;
  for (const auto& v : report.at("findings").as_array()) {
    const auto& f = v.as_object();
    const std::string id(f.at("rule").as_string());
    messages[id].emplace_back(f.at("message").as_string());
    flows[id] += f.at("evidence").as_object().at("flows").as_int64();
  }
  // One finding per destination: chat.deepseek.com:443 (decrypted HTTP/2) and :80 (plaintext).
  REQUIRE(messages["t.prompt-post"].size() == 2);
  CHECK(flows["t.prompt-post"] == 2);
  std::sort(messages["t.prompt-post"].begin(), messages["t.prompt-post"].end());
  CHECK(messages["t.prompt-post"][0] ==
        "POST http://chat.deepseek.com/api/v0/chat/completion (111 bytes, decrypted false) to DeepSeek");
  CHECK(messages["t.prompt-post"][1] ==
        "POST https://chat.deepseek.com/api/v0/chat/completion (26 bytes, decrypted true) to DeepSeek");
  REQUIRE(messages["t.decrypted-404"].size() == 1);
  CHECK(messages["t.decrypted-404"][0] == "/api/v0/chat/completion");
  CHECK(flows["t.decrypted-404"] == 1);
  REQUIRE(messages["t.sse"].size() == 1);
  CHECK(messages["t.sse"][0] == "/api/v0/chat/stream");
}

TEST_CASE("e2e: a request field in a flow rule is refused with the scope named" * doctest::test_suite("e2e")) {
  const auto policy = temp_dir() / "requests-bad.yaml";
  {
    std::ofstream out(policy);
    out << "policy:\n  name: bad\nrules:\n  - id: t.bad\n    title: x\n    severity: low\n    scope: flow\n"
           "    condition: request.method = POST\n    message: x\n";
  }
  const RunResult r = run({"audit", data("http-bodies.pcap"), "--policy", policy.string()});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("request") != std::string::npos);
}

}  // namespace flowaudit::e2e

namespace flowaudit::e2e {

TEST_CASE("e2e: WebSocket after an Upgrade: messages and bytes per direction, permessage-deflate inflated" *
          doctest::test_suite("e2e")) {
  const auto report = audit_json({data("websocket.pcap")});
  std::vector<const object*> ws;
  for (const auto& v : report.at("flows").as_array()) {
    const auto& f = v.as_object();
    if (!f.contains("requests") || !f.at("requests").is_array()) continue;
    for (const auto& r : f.at("requests").as_array()) {
      CHECK(r.as_object().at("status") == 101);
      CHECK(r.as_object().at("path") == "/ws/chat");
      ws.push_back(&r.as_object().at("websocket").as_object());
    }
  }
  REQUIRE(ws.size() == 2);
  const object& deflated = *ws[0];
  CHECK(deflated.at("permessage_deflate") == true);
  CHECK(deflated.at("messages_out") == 3);  // a JSON prompt, a message in 3 fragments, 2,000 binary bytes
  CHECK(deflated.at("bytes_out") == 66 + 30 + 2000);
  CHECK(deflated.at("messages_in") == 3);   // the echoes
  CHECK(deflated.at("bytes_in") == 66 + 30 + 2000);
  CHECK(deflated.at("stopped").is_null());
  const object& plain = *ws[1];
  CHECK(plain.at("permessage_deflate") == false);
  CHECK(plain.at("messages_out") == 1);
  CHECK(plain.at("bytes_out") == 27);
}

}  // namespace flowaudit::e2e
