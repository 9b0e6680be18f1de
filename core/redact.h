// What reports hide by default. A report says who talked to whom; it should not also carry the
// identifiers an app put into its requests (device ids, tokens, emails in query strings or in path
// segments). `--no-redact` keeps them for an investigator who needs them.
//
// Redaction works on the parsed request target, before it is put into any text: a finding message
// gets {http.path} already redacted (rules/eval), a report column gets redact_target's result.
// Nothing pattern-matches a rendered message (that broke on a ')' inside a query value).
#pragma once

#include <string>
#include <string_view>

namespace flowaudit::core {

inline constexpr std::string_view kRedacted = "REDACTED";

// An HTTP request target (origin form "/p?q", absolute form "http://host/p?q", authority or
// asterisk form) parsed per RFC 3986 and rebuilt with:
//  - every query value REDACTED, at '&' and ';' separators alike (a percent-encoded %26 or %3D is
//    part of the value, not a separator); a parameter name that is not a plain name (too long, not
//    [A-Za-z0-9._-[]] once percent-decoded, or identifier-like) REDACTED too; a name without a value
//    is kept only when it is a plain name without digits;
//  - path segments that look like identifiers (long hex/digit/base64url runs, anything with '@',
//    over 64 bytes, or bytes outside printable ASCII, all judged percent-decoded) REDACTED, and
//    ';' matrix parameters and "name=value" segments treated like query parameters;
//  - userinfo in an absolute form REDACTED; scheme and host kept;
//  - the fragment dropped.
// Returns the target unchanged when `redact` is false.
[[nodiscard]] std::string redact_target(std::string_view target, bool redact = true);

}  // namespace flowaudit::core
