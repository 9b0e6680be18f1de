#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <cstdlib>

#include "report/json_writer.h"

namespace flowaudit::report {
namespace {

template <typename F>
std::string capture(F&& body, bool pretty = true) {
  std::string out;
  Output output(out);
  {
    JsonWriter w(output, pretty);
    body(w);
  }
  return out;
}

std::string quoted(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

}  // namespace

TEST_CASE("strings are escaped and invalid UTF-8 becomes U+FFFD") {
  CHECK(quoted("plain") == "\"plain\"");
  CHECK(quoted("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(quoted("line\nnext\ttab\r") == "\"line\\nnext\\ttab\\r\"");
  CHECK(quoted(std::string_view("nul\0x", 5)) == "\"nul\\u0000x\"");
  CHECK(quoted("\x7f") == "\"\\u007f\"");
  CHECK(quoted("caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80") == "\"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80\"");
  CHECK(quoted("\xff") == "\"\xEF\xBF\xBD\"");
  CHECK(quoted("\xc0\xaf") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");       // overlong
  CHECK(quoted("\xed\xa0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
  CHECK(quoted("\xe4\xb8") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");       // cut short
  CHECK(quoted("\xf4\x90\x80\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // > U+10FFFF
}

TEST_CASE("nested containers produce valid JSON, pretty or compact") {
  for (const bool pretty : {true, false}) {
    const std::string out = capture(
        [](JsonWriter& w) {
          w.begin_object();
          w.field("s", "x\xff");
          w.field("n", std::uint64_t{18446744073709551615u});
          w.field("i", std::int64_t{-5});
          w.field("d", 1.5);
          w.field("inf", 1.0 / 0.0);
          w.field("b", true);
          w.null_field("z");
          w.key("empty_array");
          w.begin_array();
          w.end_array();
          w.key("empty_object");
          w.begin_object();
          w.end_object();
          w.key("list");
          w.begin_array();
          w.value(1);
          w.begin_object();
          w.field("k", "v");
          w.end_object();
          w.begin_array();
          w.end_array();
          w.end_array();
          w.end_object();
        },
        pretty);
    CAPTURE(out);
    const auto v = boost::json::parse(out);
    const auto& o = v.as_object();
    CHECK(o.at("s").as_string() == "x\xEF\xBF\xBD");
    CHECK(o.at("n").as_uint64() == 18446744073709551615u);
    CHECK(o.at("i").as_int64() == -5);
    CHECK(o.at("d").as_double() == 1.5);
    CHECK(o.at("inf").is_null());
    CHECK(o.at("b").as_bool());
    CHECK(o.at("z").is_null());
    CHECK(o.at("empty_array").as_array().empty());
    CHECK(o.at("list").as_array().size() == 3);
  }
}

}  // namespace flowaudit::report
