// The JSON writer of the event stream: compact JSON appended to a buffer the caller owns (a batch
// of events, report/events/ocsf.cc). Written by hand, as report/json_writer.h is (Boost.JSON 1.81
// serializes only a document built in memory first), and smaller than that one: no indentation, so
// the one piece of state is whether the next member needs a comma. Keys are string literals
// checked when the program is compiled (they are written without escaping); values are escaped as
// every JSON output is (core::append_json_string: invalid UTF-8 becomes U+FFFD).
//
// Why a second writer: an audit of a large capture emits hundreds of thousands of events, about
// 1 KiB each, and JsonWriter's per-member bookkeeping (a stack of containers for the indentation,
// each key escaped, a copy through its own buffer) was most of the events' cost (issue 19).
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "core/escape.h"
#include "core/ip_address.h"
#include "core/text_buffer.h"

namespace flowaudit::report::events {

// A member name: a string literal of letters, digits, '_' and '.', checked at compile time (a key
// that would need escaping does not compile).
class Key {
 public:
  template <std::size_t N>
  consteval Key(const char (&text)[N]) : text_(text, N - 1) {  // NOLINT(google-explicit-constructor)
    for (const char c : text_) {
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) {
        throw "a JSON key of the events is letters, digits, '_' and '.'";
      }
    }
  }
  [[nodiscard]] constexpr std::string_view text() const noexcept { return text_; }

 private:
  std::string_view text_;
};

class EventWriter {
 public:
  explicit EventWriter(core::TextBuffer& out) noexcept : out_(out) {}

  void begin_object() { punct('{'); }
  void end_object() { close('}'); }
  void begin_array() { punct('['); }
  void end_array() { close(']'); }
  [[gnu::always_inline]] void key(Key k) {
    const std::string_view t = k.text();  // a literal that needs no escaping: checked at compile time
    char* p = out_.room(t.size() + 4);
    if (comma_) *p++ = ',';
    *p++ = '"';
    std::memcpy(p, t.data(), t.size());
    p += t.size();
    *p++ = '"';
    *p++ = ':';
    out_.commit_to(p);
    comma_ = false;
  }

  [[gnu::always_inline]] void value(std::string_view s) {
    separate();
    out_.append_json_string(s);
    comma_ = true;
  }
  void value(const char* s) { value(std::string_view(s)); }
  void value(const std::string& s) { value(std::string_view(s)); }
  void value(bool v) { raw_value(v ? std::string_view("true") : std::string_view("false")); }
  void value(std::uint64_t v) { integer(v); }
  void value(std::int64_t v) { integer(v); }
  void value(std::uint32_t v) { integer(v); }
  void value(std::uint16_t v) { integer(v); }
  void value(int v) { integer(v); }
  // An address as a JSON string, written in place.
  void value(const core::IpAddress& ip) {
    std::array<char, core::IpAddress::kTextMax> text;
    value(std::string_view(text.data(), ip.format(text)));
  }
  void null() { raw_value("null"); }

  template <typename T>
  void field(Key k, const T& v) {
    key(k);
    value(v);
  }
  // The string, or null when it is empty.
  void string_or_null(Key k, std::string_view v) {
    key(k);
    if (v.empty()) {
      null();
    } else {
      value(v);
    }
  }

  // JSON made elsewhere (a part rendered once and reused), written as it is: one value, or members
  // of the object being written (the next member then needs a comma).
  [[gnu::always_inline]] void raw_value(std::string_view json) {
    char* p = out_.room(json.size() + 1);
    if (comma_) *p++ = ',';
    if (!json.empty()) std::memcpy(p, json.data(), json.size());
    out_.commit_to(p + json.size());
    comma_ = true;
  }
  void raw_members(std::string_view json) {
    if (!json.empty()) raw_value(json);
  }

  // A JSON string made of parts, each escaped: "<a><b><c><d>" without building the whole first.
  void concat(std::string_view a, std::string_view b, std::string_view c, std::string_view d) {
    std::string& text = scratch();
    text.push_back('"');
    for (const std::string_view part : {a, b, c, d}) core::append_json_chars(text, part);
    text.push_back('"');
    raw_value(text);
  }

 private:
  [[gnu::always_inline]] void separate() {
    if (comma_) {
      *out_.room(1) = ',';
      out_.commit(1);
    }
  }
  [[gnu::always_inline]] void punct(char c) {
    char* p = out_.room(2);
    if (comma_) *p++ = ',';
    *p++ = c;
    out_.commit_to(p);
    comma_ = false;
  }
  [[gnu::always_inline]] void close(char c) {
    *out_.room(1) = c;
    out_.commit(1);
    comma_ = true;
  }
  template <typename T>
  [[gnu::always_inline]] void integer(T v) {
    char* p = out_.room(24);
    if (comma_) *p++ = ',';
    out_.commit_to(std::to_chars(p, p + 22, v).ptr);
    comma_ = true;
  }
  static std::string& scratch() {
    thread_local std::string text;
    text.clear();
    return text;
  }

  core::TextBuffer& out_;
  bool comma_ = false;
};

}  // namespace flowaudit::report::events
