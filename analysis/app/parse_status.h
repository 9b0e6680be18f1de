// Result of parsing application-layer bytes.
#pragma once

namespace flowaudit::analysis::app {

enum class ParseStatus {
  kOk,
  kNeedMore,   // valid so far, but the message continues past the bytes given
  kMalformed,  // not this protocol, or broken beyond use
  kLimit,      // valid as far as read, but a size or count limit stopped the read before the end:
               // the fields read so far are set, and the caller must say that it saw only part
};

}  // namespace flowaudit::analysis::app
