// What reports hide by default. A report says who talked to whom; it should not also carry the
// identifiers an app put into its requests (device ids, tokens, emails in query strings or in path
// segments). `--no-redact` keeps them for an investigator who needs them.
#pragma once

#include <string>
#include <string_view>

namespace flowaudit::rules::report {

struct ReportOptions {
  bool redact = true;  // --no-redact turns it off
};

inline constexpr std::string_view kRedacted = "REDACTED";

// An HTTP request target with the values of its query parameters replaced by REDACTED (names are
// kept: they say what kind of data was sent), the fragment dropped, and path segments that look
// like identifiers (long runs of hex, digits or base64url, or anything with an '@') replaced too.
// Returns the target unchanged when `redact` is false.
[[nodiscard]] std::string redact_target(std::string_view target, bool redact = true);

// A text that may contain request targets (a finding's message): every "http://..." or "/..."
// token in it passes through redact_target.
[[nodiscard]] std::string redact_text(std::string_view text, bool redact = true);

}  // namespace flowaudit::rules::report
