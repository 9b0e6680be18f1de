#include "core/dynamic_library.h"

#include <doctest/doctest.h>

#include <cstring>

using flowaudit::core::DynamicLibrary;

TEST_CASE("DynamicLibrary: functions of a loaded library, with the header's types") {
  DynamicLibrary lib;
  REQUIRE(lib.open("libc.so.6", "libc6"));
  decltype(&std::strlen) len = nullptr;
  lib.bind(len, "strlen");
  CHECK(lib.error().empty());
  REQUIRE(static_cast<bool>(len));
  CHECK(len("flowaudit") == 9);
}

TEST_CASE("DynamicLibrary: a missing library or function is an error naming it, never a crash") {
  DynamicLibrary missing;
  CHECK_FALSE(missing.open("libflowaudit-no-such-library.so.9", "libno-such9"));
  CHECK(missing.error().find("libflowaudit-no-such-library.so.9") != std::string::npos);
  CHECK(missing.error().find("Debian package libno-such9") != std::string::npos);
  decltype(&std::strlen) len = nullptr;
  missing.bind(len, "strlen");
  CHECK_FALSE(static_cast<bool>(len));  // nothing bound from a library that is not there

  DynamicLibrary lib;
  REQUIRE(lib.open("libc.so.6", "libc6"));
  decltype(&std::strlen) nothing = nullptr;
  lib.bind(nothing, "flowaudit_no_such_function");
  CHECK_FALSE(static_cast<bool>(nothing));
  CHECK(lib.error() == "libc.so.6 has no function flowaudit_no_such_function");
  decltype(&std::strlen) later = nullptr;
  lib.bind(later, "strlen");  // after the first missing one, the first error stays
  CHECK_FALSE(static_cast<bool>(later));
  CHECK(lib.error() == "libc.so.6 has no function flowaudit_no_such_function");
}
