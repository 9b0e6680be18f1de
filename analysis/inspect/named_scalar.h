// One scalar member of an object as the walkers (fields.h) give it and the detectors
// (detectors.h) read it: its key (the last path component, lower-cased) and its value as text.
#pragma once

#include <string_view>

namespace flowaudit::analysis::inspect {

struct NamedScalar {
  std::string_view name;  // lower-cased
  std::string_view value;
};

}  // namespace flowaudit::analysis::inspect
