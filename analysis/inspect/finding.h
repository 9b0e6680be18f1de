// One fact of what left in a request: personal data, a device identifier, a canary or prompt text,
// with the field it was in. Values are masked unless the report asked for them in full
// (--no-redact); a finding never holds a secret of the key log.
#pragma once

#include <string>

namespace flowaudit::analysis::inspect {

struct Finding {
  std::string type;      // "email", "phone", ..., "canary", "prompt" (detectors.h to_string, plus those two)
  std::string field;     // where: "body.user.email", "query.email", "header.cookie:uid", "ws[0].idfa"
  std::string value;     // masked (mask() in detectors.h), or in full with --no-redact; prompt: its size
  std::string encoding;  // what was undone to see it, outermost last: "url", "json", "sha256(lower(trim)) as hex"
  std::string detector;  // which rule: "email", "idfa-by-name", "canary", "chat-endpoint", ...
};

}  // namespace flowaudit::analysis::inspect
