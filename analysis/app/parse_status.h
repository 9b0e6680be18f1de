// Result of parsing application-layer bytes.
#pragma once

namespace flowaudit::analysis::app {

enum class ParseStatus {
  kOk,
  kNeedMore,   // valid so far, but the message continues past the bytes given
  kMalformed,  // not this protocol, or broken beyond use
};

}  // namespace flowaudit::analysis::app
