#include "analysis/inspect/chat_endpoints.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include "analysis/app/http/http_request.h"
#include "core/input_file.h"

namespace flowaudit::analysis::inspect {

namespace {

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// The next segment of a '/'-separated path, moving `s` past it.
std::string_view next_segment(std::string_view& s) noexcept {
  if (!s.empty() && s[0] == '/') s.remove_prefix(1);
  const std::size_t end = s.find('/');
  const std::string_view seg = s.substr(0, end);
  s.remove_prefix(end == std::string_view::npos ? s.size() : end);
  return seg;
}

// A JSON pointer token with ~1 and ~0 undone (RFC 6901 §4), into `out`.
void unescape_token(std::string_view token, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
      out += token[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      out += token[i];
    }
  }
}

std::string where(std::string_view name, const YAML::Node& n) {
  const auto mark = n.Mark();
  std::ostringstream s;
  s << name;
  if (mark.line >= 0) s << ':' << mark.line + 1;
  return s.str();
}

bool scalar(const YAML::Node& n, std::string& out) {
  if (!n || !n.IsScalar() || n.Scalar().empty() || n.Scalar().size() > ChatEndpoints::kMaxField) return false;
  out = n.Scalar();
  return true;
}

}  // namespace

bool path_matches(std::string_view pattern, std::string_view path) noexcept {
  path = path.substr(0, path.find_first_of("?#"));
  for (;;) {
    if (pattern.empty() || pattern == "/") return path.empty() || path == "/";
    const std::string_view p = next_segment(pattern);
    if (p == "**" && pattern.empty()) return true;
    if (path.empty()) return false;
    const std::string_view s = next_segment(path);
    if (p != "*" && p != s) return false;
  }
}

bool pointer_matches(std::string_view pointer, std::string_view field_path, std::string_view prefix) noexcept {
  if (field_path.substr(0, prefix.size()) != prefix) return false;
  std::string_view rest = field_path.substr(prefix.size());
  std::string token;
  while (!pointer.empty()) {
    if (pointer[0] != '/') return false;
    pointer.remove_prefix(1);
    const std::size_t end = pointer.find('/');
    try {
      unescape_token(pointer.substr(0, end), token);
    } catch (...) {
      return false;
    }
    pointer.remove_prefix(end == std::string_view::npos ? pointer.size() : end);
    if (rest.empty()) return false;
    std::string_view seg;
    if (rest[0] == '.') {  // a member: ".name" up to the next '.' or '['
      rest.remove_prefix(1);
      const std::size_t stop = rest.find_first_of(".[");
      seg = rest.substr(0, stop);
      rest.remove_prefix(stop == std::string_view::npos ? rest.size() : stop);
    } else if (rest[0] == '[') {  // an index: "[n]"
      const std::size_t close = rest.find(']');
      if (close == std::string_view::npos) return false;
      seg = rest.substr(1, close - 1);
      rest.remove_prefix(close + 1);
    } else {
      return false;
    }
    if (token != "*" && token != seg) return false;
  }
  // The pointer's value itself, or anything inside it (parts of a prompt given as a list).
  return rest.empty() || rest[0] == '.' || rest[0] == '[';
}

bool ChatEndpoints::load(const std::filesystem::path& file, std::string& error) {
  std::string text;
  if (const std::string problem = core::read_input_file(file, kMaxFileBytes, text); !problem.empty()) {
    error = file.string() + ": " + problem;
    return false;
  }
  return load_text(text, file.string(), error);
}

bool ChatEndpoints::load_text(std::string_view text, std::string_view name, std::string& error) {
  // The whole parse; its error, which may quote the file's own text (a key, yaml-cpp's message), is
  // made one line of printable text below.
  const auto parse = [&]() -> bool {
    std::vector<ChatEndpoint> added;
    try {
      const YAML::Node root = YAML::Load(std::string(text));
      const YAML::Node list = root.IsMap() ? root["endpoints"] : YAML::Node();
      if (!list || !list.IsSequence()) {
        error = std::string(name) + ": expected a mapping with an 'endpoints' list";
        return false;
      }
      for (const YAML::Node& e : list) {
        if (!e.IsMap()) {
          error = where(name, e) + ": an endpoint must be a mapping";
          return false;
        }
        if (list_.size() + added.size() >= kMaxEndpoints) {
          error = where(name, e) + ": more than " + std::to_string(kMaxEndpoints) + " endpoints";
          return false;
        }
        ChatEndpoint c;
        if (!scalar(e["service"], c.service) || !scalar(e["host"], c.host) || !scalar(e["path"], c.path) ||
            !scalar(e["source"], c.source)) {
          error = where(name, e) + ": service, host, path and source are required (non-empty text, at most " +
                  std::to_string(kMaxField) + " bytes)";
          return false;
        }
        if (c.path[0] != '/') {
          error = where(name, e["path"]) + ": a path starts with '/'";
          return false;
        }
        c.method = "POST";
        if (e["method"] && !scalar(e["method"], c.method)) {
          error = where(name, e["method"]) + ": method must be text";
          return false;
        }
        const YAML::Node prompt = e["prompt"];
        if (!prompt || !prompt.IsSequence() || prompt.size() == 0 || prompt.size() > kMaxPointers) {
          error = where(name, e) + ": prompt must list 1 to " + std::to_string(kMaxPointers) + " JSON pointers";
          return false;
        }
        for (const YAML::Node& p : prompt) {
          std::string ptr;
          if (!scalar(p, ptr) || ptr[0] != '/') {
            error = where(name, p) + ": a prompt field is a JSON pointer starting with '/'";
            return false;
          }
          c.prompt.push_back(std::move(ptr));
        }
        for (const auto& kv : e) {
          const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
          if (key != "service" && key != "host" && key != "path" && key != "source" && key != "method" &&
              key != "prompt" && key != "read") {
            error = where(name, kv.first) + ": unknown key '" + key + "'";
            return false;
          }
        }
        for (char& ch : c.host) ch = lower(ch);
        added.push_back(std::move(c));
      }
    } catch (const YAML::Exception& ex) {
      std::ostringstream s;
      s << name;
      if (ex.mark.line >= 0) s << ':' << ex.mark.line + 1;
      s << ": " << ex.msg;
      error = s.str();
      return false;
    }
    list_.insert(list_.end(), std::make_move_iterator(added.begin()), std::make_move_iterator(added.end()));
    return true;
  };
  const bool ok = parse();
  if (!ok) {
    for (char& ch : error) {
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F) ch = '?';
    }
  }
  return ok;
}

using http::iequals;

const ChatEndpoint* ChatEndpoints::match(std::string_view host, std::string_view method,
                                         std::string_view target) const noexcept {
  // A port (and an IPv6 literal's brackets) are not part of the name compared.
  if (!host.empty() && host[0] != '[') host = host.substr(0, host.find(':'));
  for (const ChatEndpoint& e : list_) {
    if (!iequals(method, e.method)) continue;
    const std::string_view h = e.host;
    const bool host_ok = h[0] == '.' ? (host.size() >= h.size() && iequals(host.substr(host.size() - h.size()), h)) ||
                                           iequals(host, h.substr(1))
                                     : iequals(host, h);
    if (host_ok && path_matches(e.path, target)) return &e;
  }
  return nullptr;
}

}  // namespace flowaudit::analysis::inspect
