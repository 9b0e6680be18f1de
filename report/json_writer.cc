#include "report/json_writer.h"

#include <charconv>

#include <fmt/format.h>

#include <cmath>

namespace flowaudit::report {

void timestamp_field(JsonWriter& w, std::string_view key, core::TimestampNs ns, bool present) {
  if (!present) {
    w.null_field(key);
    return;
  }
  core::Iso8601Buffer buf;
  w.field(key, std::string_view(buf.data(), core::format_iso8601(ns, buf)));
}

void JsonWriter::flush() {
  out_.write(buf_);
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
  char text[24];
  const auto end = std::to_chars(text, text + sizeof text, v).ptr;
  buf_.append(text, static_cast<std::size_t>(end - text));
}

void JsonWriter::value(std::int64_t v) {
  before_value();
  char text[24];
  const auto end = std::to_chars(text, text + sizeof text, v).ptr;
  buf_.append(text, static_cast<std::size_t>(end - text));
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

}  // namespace flowaudit::report
