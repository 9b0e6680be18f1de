// A streaming JSON writer over a stdio stream. Written by hand because Boost.JSON (1.81) can only
// serialize a document built in memory first, and a report of a million flows should not need a
// second copy of itself as a DOM. Strings are escaped and invalid UTF-8 (names from packets,
// paths from the user) is replaced by U+FFFD, so the output is always valid JSON.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/escape.h"
#include "core/text_buffer.h"
#include "core/timestamp.h"
#include "report/output.h"

namespace flowaudit::report {

class JsonWriter {
 public:
  explicit JsonWriter(Output& out, bool pretty = true) : out_(out), pretty_(pretty) { open_.reserve(32); }
  ~JsonWriter() { flush(); }
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;
  void flush();

  void begin_object();
  void end_object();
  void begin_array();
  void end_array();
  void key(std::string_view k);

  void value(std::string_view s);
  void value(const char* s) { value(std::string_view(s)); }
  void value(const std::string& s) { value(std::string_view(s)); }
  void value(std::uint64_t v);
  void value(std::int64_t v);
  void value(std::uint32_t v) { value(static_cast<std::uint64_t>(v)); }
  void value(std::uint16_t v) { value(static_cast<std::uint64_t>(v)); }
  void value(int v) { value(static_cast<std::int64_t>(v)); }
  void value(double v);
  void value(bool v);
  void null();

  // key + value in one call.
  template <typename T>
  void field(std::string_view k, const T& v) {
    key(k);
    value(v);
  }
  void null_field(std::string_view k) {
    key(k);
    null();
  }
  // The string, or null when it is empty.
  void string_or_null(std::string_view k, std::string_view v) {
    key(k);
    if (v.empty()) {
      null();
    } else {
      value(v);
    }
  }

 private:
  // Before a key or a value: the comma and, pretty, the newline and indentation it needs.
  [[gnu::always_inline]] void before_value() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (open_.empty()) return;
    const std::size_t indent = pretty_ ? 2 * open_.size() : 0;
    char* p = buf_.room(indent + 2);
    if (open_.back() != 0) *p++ = ',';
    open_.back() = 1;
    if (pretty_) {
      *p++ = '\n';
      std::memset(p, ' ', indent);
      p += indent;
    }
    buf_.commit_to(p);
  }
  void newline();
  void raw(std::string_view s) {
    buf_.append(s);
    if (buf_.size() >= kFlushAt) flush();
  }
  void string(std::string_view s);

  static constexpr std::size_t kFlushAt = 64 * 1024;
  Output& out_;
  core::TextBuffer buf_;  // written out in large blocks: stdio per-call overhead dominated otherwise
  bool pretty_;
  // One entry per open container: 1 once it has a member (a comma is then needed).
  std::vector<std::uint8_t> open_;
  bool after_key_ = false;
};

// Appends `s` to `out` as a JSON string literal (with quotes); the one JSON escaper, in core.
using core::append_json_string;

// Field shapes the JSON-based reports share.
// "key": "2024-06-01T10:00:00.196566Z", or null when !present.
void timestamp_field(JsonWriter& w, std::string_view key, core::TimestampNs ns, bool present = true);
// "key": [ ...strings ]
template <typename Range>
void string_array(JsonWriter& w, std::string_view key, const Range& values) {
  w.key(key);
  w.begin_array();
  for (const auto& v : values) w.value(std::string_view(v));
  w.end_array();
}

}  // namespace flowaudit::report
