#include "rules/report/json_writer.h"

#include <fmt/format.h>

#include <cmath>

#include "core/utf8.h"

namespace flowaudit::rules::report {

void timestamp_field(JsonWriter& w, std::string_view key, core::TimestampNs ns, bool present) {
  if (!present) {
    w.null_field(key);
    return;
  }
  core::Iso8601Buffer buf;
  w.field(key, std::string_view(buf.data(), core::format_iso8601(ns, buf)));
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  // Fast path: printable ASCII without quotes or backslashes goes out as it is.
  std::size_t plain = 0;
  while (plain < s.size()) {
    const auto c = static_cast<unsigned char>(s[plain]);
    if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') break;
    ++plain;
  }
  out.append(s.substr(0, plain));
  for (std::size_t i = plain; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; ++i; continue;
      case '\\': out += "\\\\"; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      default: break;
    }
    if (c < 0x20 || c == 0x7F) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
      ++i;
      continue;
    }
    const std::size_t n = core::utf8_sequence_length(s, i);
    if (n == 0) {
      out += core::kUtf8Replacement;  // U+FFFD for a byte that is not valid UTF-8
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  out.push_back('"');
}

void JsonWriter::flush() {
  if (!buf_.empty()) std::fwrite(buf_.data(), 1, buf_.size(), out_);
  buf_.clear();
}

void JsonWriter::newline() {
  if (!pretty_) return;
  buf_.push_back('\n');
  buf_.append(has_member_.size() * 2, ' ');
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!has_member_.empty()) {
    if (has_member_.back()) buf_.push_back(',');
    has_member_.back() = true;
    newline();
  }
}

void JsonWriter::begin_object() {
  before_value();
  buf_.push_back('{');
  has_member_.push_back(false);
}

void JsonWriter::end_object() {
  const bool had = has_member_.back();
  has_member_.pop_back();
  if (had) newline();
  buf_.push_back('}');
  if (has_member_.empty() && pretty_) buf_.push_back('\n');
}

void JsonWriter::begin_array() {
  before_value();
  buf_.push_back('[');
  has_member_.push_back(false);
}

void JsonWriter::end_array() {
  const bool had = has_member_.back();
  has_member_.pop_back();
  if (had) newline();
  buf_.push_back(']');
}

void JsonWriter::key(std::string_view k) {
  before_value();
  string(k);
  raw(pretty_ ? ": " : ":");
  after_key_ = true;
}

void JsonWriter::string(std::string_view s) {
  append_json_string(buf_, s);
  if (buf_.size() >= kFlushAt) flush();
}

void JsonWriter::value(std::string_view s) {
  before_value();
  string(s);
}

void JsonWriter::value(std::uint64_t v) {
  before_value();
  fmt::format_to(std::back_inserter(buf_), "{}", v);
}

void JsonWriter::value(std::int64_t v) {
  before_value();
  fmt::format_to(std::back_inserter(buf_), "{}", v);
}

void JsonWriter::value(double v) {
  before_value();
  if (!std::isfinite(v)) {
    raw("null");
    return;
  }
  fmt::format_to(std::back_inserter(buf_), "{}", v);
}

void JsonWriter::value(bool v) {
  before_value();
  raw(v ? "true" : "false");
}

void JsonWriter::null() {
  before_value();
  raw("null");
}

}  // namespace flowaudit::rules::report
