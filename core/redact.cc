#include "core/redact.h"

#include <algorithm>

namespace flowaudit::core {
namespace {

// A resource name longer than this is data, not a name.
constexpr std::size_t kMaxSegment = 64;

bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_hex(char c) noexcept { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

int hex_value(char c) noexcept {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// %XX decoded (a '%' without two hex digits stays as it is): what the server will see, so what an
// identifier check must look at ("alice%40example.com" is an email).
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && is_hex(s[i + 1]) && is_hex(s[i + 2])) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool printable_ascii(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7F; });
}

// A segment (decoded) that carries an identifier rather than naming a resource: an email-like
// token, seven digits or more, a UUID or long hex/digit run (16+), a long base64url token (24+) mixing digits and
// letters, anything too long to be a name, or bytes a name would not have.
bool looks_like_identifier(std::string_view raw) {
  const std::string decoded = percent_decode(raw);
  const std::string_view s = decoded;
  if (s.empty()) return false;
  if (s.size() > kMaxSegment || !printable_ascii(s) || s.find('@') != std::string_view::npos) return true;
  const bool has_digit = std::any_of(s.begin(), s.end(), is_digit);
  // Seven digits or more, most of the segment, whatever separates them: a phone number, an IMEI, a
  // MAC or IP address, a card, a numeric user or order id. A resource name or version ("v1.2.3",
  // "2x") has fewer digits, a hashed asset name ("UcC73Fwr...ZL7.woff2") mostly letters.
  const auto digits = std::count_if(s.begin(), s.end(), is_digit);
  const auto alnum = std::count_if(s.begin(), s.end(), [](char c) { return is_digit(c) || is_alpha(c); });
  if (digits >= 7 && digits * 2 >= alnum) return true;
  const bool has_alpha = std::any_of(s.begin(), s.end(), is_alpha);
  const bool hexish = std::all_of(s.begin(), s.end(), [](char c) { return is_hex(c) || c == '-'; });
  if (s.size() >= 16 && hexish && has_digit) return true;
  const bool b64 = std::all_of(s.begin(), s.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || c == '-' || c == '_' || c == '=' || c == '+' || c == '/';
  });
  return s.size() >= 24 && b64 && has_digit && has_alpha;
}

// A parameter name worth keeping: it says what kind of data was sent ("device_id", "a[]").
bool plain_name(std::string_view raw) {
  const std::string decoded = percent_decode(raw);
  if (decoded.empty() || decoded.size() > 32 || looks_like_identifier(raw)) return false;
  return std::all_of(decoded.begin(), decoded.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || c == '_' || c == '.' || c == '-' || c == '[' || c == ']';
  });
}

// One "name=value" (or bare "name") of a query or of a path segment's parameters.
void append_parameter(std::string& out, std::string_view pair) {
  const std::size_t eq = pair.find('=');
  if (eq == std::string_view::npos) {
    // A bare token is as often a value ("?12345") as a flag ("?debug").
    const bool keep = plain_name(pair) && std::none_of(pair.begin(), pair.end(), is_digit);
    out.append(keep || pair.empty() ? pair : kRedacted);
    return;
  }
  const std::string_view name = pair.substr(0, eq);
  out.append(name.empty() || plain_name(name) ? name : kRedacted);
  out.push_back('=');
  if (eq + 1 < pair.size()) out.append(kRedacted);
}

// Parameters separated by '&' or ';' (both are used as separators, RFC 1866 and matrix URIs).
void append_parameters(std::string& out, std::string_view params) {
  while (true) {
    const std::size_t sep = params.find_first_of("&;");
    append_parameter(out, params.substr(0, sep));
    if (sep == std::string_view::npos) return;
    out.push_back(params[sep]);
    params.remove_prefix(sep + 1);
  }
}

void append_segment(std::string& out, std::string_view segment) {
  const std::size_t semi = segment.find(';');
  const std::string_view name = segment.substr(0, semi);
  if (name.find('=') != std::string_view::npos) {
    append_parameter(out, name);
  } else {
    out.append(looks_like_identifier(name) ? kRedacted : name);
  }
  if (semi == std::string_view::npos) return;
  out.push_back(';');
  append_parameters(out, segment.substr(semi + 1));
}

// Length of "scheme://" at the start of an absolute-form target (RFC 3986 3.1), or 0.
std::size_t scheme_length(std::string_view t) noexcept {
  if (t.empty() || !is_alpha(t[0])) return 0;
  std::size_t i = 1;
  while (i < t.size() && (is_alpha(t[i]) || is_digit(t[i]) || t[i] == '+' || t[i] == '-' || t[i] == '.')) ++i;
  return t.substr(i, 3) == "://" ? i + 3 : 0;
}

}  // namespace

std::string redact_target(std::string_view target, bool redact) {
  if (!redact) return std::string(target);
  std::string out;
  out.reserve(target.size());
  target = target.substr(0, target.find('#'));
  if (const std::size_t scheme = scheme_length(target); scheme != 0) {
    out.append(target.substr(0, scheme));
    target.remove_prefix(scheme);
    const std::string_view authority = target.substr(0, target.find_first_of("/?"));
    std::string_view host = authority;
    if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
      out.append(kRedacted).push_back('@');
      host = authority.substr(at + 1);
    }
    out.append(host);
    target.remove_prefix(authority.size());
  }
  const std::size_t query = target.find('?');
  std::string_view path = target.substr(0, query);
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    append_segment(out, path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    out.push_back('/');
    path.remove_prefix(slash + 1);
  }
  if (query == std::string_view::npos) return out;
  out.push_back('?');
  append_parameters(out, target.substr(query + 1));
  return out;
}

}  // namespace flowaudit::core
