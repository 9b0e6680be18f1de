#include "rules/report/redact.h"

#include <algorithm>

namespace flowaudit::rules::report {
namespace {

bool is_base64url(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '=' || c == '%';
}

bool is_hex(char c) noexcept { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// A path segment that carries an identifier rather than naming a resource: an email-like token, a
// UUID or long hex/digit run (16+), or a long base64url token (24+) that mixes digits and letters.
bool looks_like_identifier(std::string_view segment) noexcept {
  if (segment.empty()) return false;
  if (segment.find('@') != std::string_view::npos) return true;
  const auto hexish = std::count_if(segment.begin(), segment.end(), [](char c) { return is_hex(c) || c == '-'; });
  const bool has_digit = std::any_of(segment.begin(), segment.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (segment.size() >= 16 && static_cast<std::size_t>(hexish) == segment.size() && has_digit) return true;
  const bool b64 = std::all_of(segment.begin(), segment.end(), is_base64url);
  const bool has_alpha = std::any_of(segment.begin(), segment.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  });
  return segment.size() >= 24 && b64 && has_digit && has_alpha;
}

}  // namespace

std::string redact_target(std::string_view target, bool redact) {
  if (!redact) return std::string(target);
  std::string out;
  out.reserve(target.size());
  const std::size_t fragment = target.find('#');
  if (fragment != std::string_view::npos) target = target.substr(0, fragment);
  const std::size_t query = target.find('?');
  std::string_view path = target.substr(0, query);
  // Keep a scheme and host ("http://host") as they are.
  std::size_t start = 0;
  if (const std::size_t scheme = path.find("://"); scheme != std::string_view::npos) {
    const std::size_t slash = path.find('/', scheme + 3);
    start = slash == std::string_view::npos ? path.size() : slash;
  }
  out.append(path.substr(0, start));
  std::size_t i = start;
  while (i < path.size()) {
    if (path[i] == '/') {
      out.push_back('/');
      ++i;
      continue;
    }
    const std::size_t end = std::min(path.find('/', i), path.size());
    const std::string_view segment = path.substr(i, end - i);
    out.append(looks_like_identifier(segment) ? kRedacted : segment);
    i = end;
  }
  if (query == std::string_view::npos) return out;
  out.push_back('?');
  std::string_view rest = target.substr(query + 1);
  bool first = true;
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    if (!first) out.push_back('&');
    first = false;
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      out.append(looks_like_identifier(pair) ? kRedacted : pair);
    } else {
      out.append(pair.substr(0, eq + 1));
      if (eq + 1 < pair.size()) out.append(kRedacted);
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return out;
}

std::string redact_text(std::string_view text, bool redact) {
  if (!redact) return std::string(text);
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const bool url = text.compare(i, 7, "http://") == 0 || text.compare(i, 8, "https://") == 0;
    const bool path = text[i] == '/' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '(');
    if (!url && !path) {
      out.push_back(text[i++]);
      continue;
    }
    std::size_t end = i;
    while (end < text.size() && text[end] != ' ' && text[end] != ')' && text[end] != ',') ++end;
    out += redact_target(text.substr(i, end - i), true);
    i = end;
  }
  return out;
}

}  // namespace flowaudit::rules::report
