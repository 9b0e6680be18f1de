// The chat endpoints of AI services (data/chat-endpoints.yaml): where an app's prompt text goes.
// A request to one of them is counted as "prompt text" with its size, and the JSON pointers of its
// prompt fields say which body fields hold what the user typed. Web clients change without notice:
// each entry carries its source and the date it was read, and users add their own with
// --chat-endpoints FILE.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace flowaudit::analysis::inspect {

struct ChatEndpoint {
  std::string service;  // the catalog's service id
  std::string host;     // exact host, or ".example.com" for the domain and every subdomain
  std::string method;   // "POST" unless the entry says otherwise
  std::string path;     // segments; "*" matches one segment, a final "**" any rest; the query is ignored
  std::vector<std::string> prompt;  // JSON pointers (RFC 6901) with "*" for any member or index
  std::string source;
};

class ChatEndpoints {
 public:
  static constexpr std::size_t kMaxEndpoints = 1024;
  static constexpr std::size_t kMaxPointers = 16;
  static constexpr std::size_t kMaxFileBytes = 1 << 20;
  static constexpr std::size_t kMaxField = 512;  // host, path, pointer, service

  // Adds the entries of one YAML file (`endpoints:` list). False with a one-line error naming the
  // file and, where known, the line; nothing of a bad file is kept.
  bool load(const std::filesystem::path& file, std::string& error);
  // The same from text (tests, fuzzing); `name` is used in errors.
  bool load_text(std::string_view text, std::string_view name, std::string& error);

  // The endpoint a request goes to, nullptr for none. `target` is the request target (path and
  // query); the host is compared without case and without a port.
  [[nodiscard]] const ChatEndpoint* match(std::string_view host, std::string_view method,
                                          std::string_view target) const noexcept;
  [[nodiscard]] std::size_t size() const noexcept { return list_.size(); }
  [[nodiscard]] const std::vector<ChatEndpoint>& list() const noexcept { return list_; }

 private:
  std::vector<ChatEndpoint> list_;
};

// True when a field path of the structure walker ("body.messages[0].content", docs/inspection-plan.md)
// is the JSON pointer ("/messages/*/content") under `prefix` ("body"), or inside it (a prompt given
// as parts: "/messages/*/content" also matches "body.messages[0].content[1].text").
[[nodiscard]] bool pointer_matches(std::string_view pointer, std::string_view field_path,
                                   std::string_view prefix = "body") noexcept;

// True when `path` (no query) matches the pattern of ChatEndpoint::path.
[[nodiscard]] bool path_matches(std::string_view pattern, std::string_view path) noexcept;

}  // namespace flowaudit::analysis::inspect
