// Fuzz target: a chat endpoints file (YAML, --chat-endpoints) -> ChatEndpoints::load_text, then
// match() and pointer_matches() on fixed requests and field paths.
//
// Checks: the loader never throws or crashes; a refused file keeps nothing and its one-line error
// names the file; every endpoint kept respects the field and count limits; matching is total.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "analysis/inspect/chat_endpoints.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using flowaudit::analysis::inspect::ChatEndpoints;
  if (size > ChatEndpoints::kMaxFileBytes + 16) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ChatEndpoints endpoints;
  std::string error;
  const bool ok = endpoints.load_text(text, "fuzz.yaml", error);
  if (!ok) {
    FUZZ_CHECK(endpoints.size() == 0);
    FUZZ_CHECK(error.starts_with("fuzz.yaml"));
    FUZZ_CHECK(error.find('\n') == std::string::npos);
    return 0;
  }
  FUZZ_CHECK(endpoints.size() <= ChatEndpoints::kMaxEndpoints);
  for (const auto& e : endpoints.list()) {
    FUZZ_CHECK(e.host.size() <= ChatEndpoints::kMaxField && e.path.size() <= ChatEndpoints::kMaxField);
    FUZZ_CHECK(e.prompt.size() <= ChatEndpoints::kMaxPointers);
    for (const auto& p : e.prompt) {
      FUZZ_CHECK(p.size() <= ChatEndpoints::kMaxField);
      (void)flowaudit::analysis::inspect::pointer_matches(p, "body.messages[0].content[1].text");
      (void)flowaudit::analysis::inspect::pointer_matches(p, "body.prompt");
    }
  }
  for (const std::string_view host : {"chat.deepseek.com", "CHAT.DEEPSEEK.COM:443", "api.openai.com", "[::1]:8080", ""}) {
    for (const std::string_view target : {"/api/v0/chat/completion", "/v1/chat/completions?x=1", "*", "", "//a//b/"}) {
      const auto* m = endpoints.match(host, "POST", target);
      FUZZ_CHECK(m == nullptr || (m >= endpoints.list().data() && m < endpoints.list().data() + endpoints.size()));
    }
  }
  return 0;
}
