#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "analysis/enrich/service_catalog.h"
#include "analysis/inspect/chat_endpoints.h"

namespace inspect = flowaudit::analysis::inspect;
using flowaudit::analysis::enrich::ServiceCatalog;

TEST_CASE("chat endpoints: the shipped file loads and every entry names a catalog service") {
  const auto data = std::filesystem::path(FLOWAUDIT_SOURCE_DIR) / "data";
  inspect::ChatEndpoints eps;
  std::string error;
  REQUIRE_MESSAGE(eps.load(data / "chat-endpoints.yaml", error), error);
  CHECK(eps.size() >= 15);
  std::vector<flowaudit::analysis::enrich::CatalogError> errors;
  const auto catalog = ServiceCatalog::load_default(data, errors);
  REQUIRE(catalog);
  for (const auto& e : eps.list()) {
    CAPTURE(e.service);
    CHECK(catalog->find(e.service) != nullptr);
    // The endpoint's host is one the catalog gives to that service (or a parent of its domain).
    const auto* s = catalog->match(e.host[0] == '.' ? e.host.substr(1) : e.host);
    REQUIRE(s != nullptr);
    CHECK(s->id == e.service);
  }
  const auto* ds = eps.match("chat.deepseek.com", "POST", "/api/v0/chat/completion?x=1");
  REQUIRE(ds != nullptr);
  CHECK(ds->service == "deepseek");
  CHECK(eps.match("chat.deepseek.com", "GET", "/api/v0/chat/completion") == nullptr);
  CHECK(eps.match("CHAT.DeepSeek.com:443", "post", "/api/v0/chat/completion") != nullptr);
  CHECK(eps.match("chat.deepseek.com", "POST", "/api/v0/chat/completion/extra") == nullptr);
  const auto* g = eps.match("generativelanguage.googleapis.com", "POST", "/v1beta/models/gemini-2.0-flash:generateContent");
  REQUIRE(g != nullptr);
  CHECK(g->service == "gemini-api");
}

TEST_CASE("chat endpoints: JSON pointers against the walker's field paths") {
  CHECK(inspect::pointer_matches("/prompt", "body.prompt"));
  CHECK_FALSE(inspect::pointer_matches("/prompt", "body.prompt_id"));
  CHECK_FALSE(inspect::pointer_matches("/prompt", "query.prompt"));
  CHECK(inspect::pointer_matches("/messages/*/content", "body.messages[0].content"));
  CHECK(inspect::pointer_matches("/messages/*/content", "body.messages[12].content[1].text"));  // parts
  CHECK_FALSE(inspect::pointer_matches("/messages/*/content", "body.messages[0].role"));
  CHECK_FALSE(inspect::pointer_matches("/messages/*/content", "body.messages"));
  CHECK(inspect::pointer_matches("/messages/1/content", "body.messages[1].content"));
  CHECK_FALSE(inspect::pointer_matches("/messages/1/content", "body.messages[2].content"));
  CHECK(inspect::pointer_matches("/a~1b/c~0d", "body.a/b.c~d"));
  CHECK(inspect::pointer_matches("/input", "ws[3].input", "ws[3]"));
  CHECK_FALSE(inspect::pointer_matches("no-slash", "body.x"));
}

TEST_CASE("chat endpoints: paths") {
  CHECK(inspect::path_matches("/v1/chat/completions", "/v1/chat/completions"));
  CHECK(inspect::path_matches("/v1/chat/completions", "/v1/chat/completions?stream=true"));
  CHECK_FALSE(inspect::path_matches("/v1/chat/completions", "/v1/chat"));
  CHECK(inspect::path_matches("/v1beta/models/*", "/v1beta/models/x:generateContent"));
  CHECK_FALSE(inspect::path_matches("/v1beta/models/*", "/v1beta/models/x/y"));
  CHECK(inspect::path_matches("/api/**", "/api/a/b/c"));
  CHECK_FALSE(inspect::path_matches("/api/**", "/other"));
}

TEST_CASE("chat endpoints: a bad file is refused with its line, and nothing of it is kept") {
  inspect::ChatEndpoints eps;
  std::string error;
  CHECK_FALSE(eps.load_text("endpoints: 3", "x.yaml", error));
  CHECK(error.find("x.yaml") == 0);
  CHECK_FALSE(eps.load_text("endpoints:\n  - service: a\n    host: h\n    path: /p\n    source: s\n", "y.yaml", error));
  CHECK(error.find("y.yaml:2") == 0);  // prompt missing
  CHECK_FALSE(eps.load_text(
      "endpoints:\n  - service: a\n    host: h\n    path: /p\n    source: s\n    prompt: [/x]\n    colour: red\n",
      "z.yaml", error));
  CHECK(error.find("unknown key 'colour'") != std::string::npos);
  CHECK_FALSE(eps.load_text("endpoints:\n  - service: a\n    host: h\n    path: p\n    source: s\n    prompt: [/x]\n",
                            "p.yaml", error));
  CHECK_FALSE(eps.load_text("endpoints: [ {", "broken.yaml", error));
  CHECK(error.find("broken.yaml:") == 0);
  CHECK(eps.size() == 0);
  CHECK(eps.load_text("endpoints:\n  - {service: a, host: .example.com, path: /c, source: s, prompt: [/q]}\n", "ok.yaml",
                      error));
  CHECK(eps.match("api.example.com", "POST", "/c") != nullptr);
  CHECK(eps.match("example.com", "POST", "/c") != nullptr);
  CHECK(eps.match("badexample.com", "POST", "/c") == nullptr);
}

TEST_CASE("chat endpoints: an error quoting the file's text is one printable line") {
  // Found by chat_endpoints_fuzz: a key (or yaml-cpp's message about the text) with a newline.
  inspect::ChatEndpoints eps;
  std::string error;
  CHECK_FALSE(eps.load_text("endpoints:\n  - service: a\n    host: h\n    path: /p\n    source: s\n    prompt: [/x]\n"
                            "    \"col\\nour\\x1b[31m\": red\n",
                            "z.yaml", error));
  CHECK(error.starts_with("z.yaml:"));
  CHECK(error.find('\n') == std::string::npos);
  CHECK(error.find('\x1b') == std::string::npos);
  CHECK(error.find("unknown key 'col?our?[31m'") != std::string::npos);
  CHECK_FALSE(eps.load_text(std::string("\0K\0\0\0\n\0", 7), "f.yaml", error));
  CHECK(error.find('\n') == std::string::npos);
}
