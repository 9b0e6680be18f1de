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
  out_.write(buf_.view());
  buf_.clear();
}

void JsonWriter::newline() {
  if (!pretty_) return;
  const std::size_t indent = 2 * open_.size();
  char* p = buf_.room(indent + 1);
  *p++ = '\n';
  std::memset(p, ' ', indent);
  buf_.commit_to(p + indent);
}

void JsonWriter::begin_object() {
  before_value();
  raw("{");
  open_.push_back(0);
}

void JsonWriter::end_object() {
  const bool had = open_.back() != 0;
  open_.pop_back();
  if (had) newline();
  raw("}");
  if (open_.empty() && pretty_) raw("\n");
}

void JsonWriter::begin_array() {
  before_value();
  raw("[");
  open_.push_back(0);
}

void JsonWriter::end_array() {
  const bool had = open_.back() != 0;
  open_.pop_back();
  if (had) newline();
  raw("]");
}

void JsonWriter::key(std::string_view k) {
  before_value();
  string(k);
  raw(pretty_ ? ": " : ":");
  after_key_ = true;
}

void JsonWriter::string(std::string_view s) {
  buf_.append_json_string(s);
  if (buf_.size() >= kFlushAt) flush();
}

void JsonWriter::value(std::string_view s) {
  before_value();
  string(s);
}

void JsonWriter::value(std::uint64_t v) {
  before_value();
  char* p = buf_.room(24);
  buf_.commit_to(std::to_chars(p, p + 24, v).ptr);
}

void JsonWriter::value(std::int64_t v) {
  before_value();
  char* p = buf_.room(24);
  buf_.commit_to(std::to_chars(p, p + 24, v).ptr);
}

void JsonWriter::value(double v) {
  before_value();
  if (!std::isfinite(v)) {
    raw("null");
    return;
  }
  fmt::memory_buffer text;
  fmt::format_to(std::back_inserter(text), "{}", v);
  raw(std::string_view(text.data(), text.size()));
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
