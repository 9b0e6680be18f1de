// Builds TLS handshake bytes for the TLS unit tests: vectors with 8/16/24-bit length prefixes,
// extensions, hellos and records.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace flowaudit::tls_test {

using Bytes = std::vector<std::uint8_t>;

inline void put_u8(Bytes& b, unsigned v) { b.push_back(static_cast<std::uint8_t>(v)); }
inline void put_u16(Bytes& b, unsigned v) {
  put_u8(b, (v >> 8) & 0xff);
  put_u8(b, v & 0xff);
}
inline void put_u24(Bytes& b, unsigned v) {
  put_u8(b, (v >> 16) & 0xff);
  put_u16(b, v & 0xffff);
}
// Byte by byte: GCC 12 reports vector::insert of small vectors as out of bounds (-Warray-bounds,
// a false positive at -O3).
inline void put(Bytes& b, const Bytes& more) {
  b.reserve(b.size() + more.size());
  for (const std::uint8_t v : more) b.push_back(v);
}
inline void put(Bytes& b, std::string_view s) {
  for (const char c : s) b.push_back(static_cast<std::uint8_t>(c));
}

inline void fill(Bytes& b, std::size_t n, std::uint8_t v) {
  for (std::size_t i = 0; i < n; ++i) b.push_back(v);
}

inline Bytes vec8(const Bytes& body) {
  Bytes b;
  put_u8(b, static_cast<unsigned>(body.size()));
  put(b, body);
  return b;
}
inline Bytes vec16(const Bytes& body) {
  Bytes b;
  put_u16(b, static_cast<unsigned>(body.size()));
  put(b, body);
  return b;
}
inline Bytes vec24(const Bytes& body) {
  Bytes b;
  put_u24(b, static_cast<unsigned>(body.size()));
  put(b, body);
  return b;
}
inline Bytes u16_list(std::initializer_list<unsigned> values) {
  Bytes b;
  for (unsigned v : values) put_u16(b, v);
  return b;
}
inline Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

inline Bytes extension(unsigned type, const Bytes& data) {
  Bytes b;
  put_u16(b, type);
  put(b, vec16(data));
  return b;
}
inline Bytes sni_ext(std::string_view host) {
  Bytes entry;
  put_u8(entry, 0);
  put(entry, vec16(text(host)));
  return extension(0x0000, vec16(entry));
}
inline Bytes alpn_ext(std::initializer_list<Bytes> names) {
  Bytes list;
  for (const auto& n : names) put(list, vec8(n));
  return extension(0x0010, vec16(list));
}

// A ClientHello body: version 0x0303, zero random, a 32-byte session id, the given suites, null
// compression, then the extensions block (left out when `with_extensions` is false).
inline Bytes client_hello(const Bytes& suites, const Bytes& extensions, bool with_extensions = true) {
  Bytes b;
  put_u16(b, 0x0303);
  fill(b, 32, 0x11);
  put(b, vec8(Bytes(32, 0x22)));
  put(b, vec16(suites));
  put(b, vec8({0}));
  if (with_extensions) put(b, vec16(extensions));
  return b;
}

inline Bytes server_hello(unsigned cipher, const Bytes& extensions, const Bytes& random = Bytes(32, 0x33)) {
  Bytes b;
  put_u16(b, 0x0303);
  put(b, random);
  put(b, vec8(Bytes(32, 0x22)));
  put_u16(b, cipher);
  put_u8(b, 0);
  put(b, vec16(extensions));
  return b;
}

// Handshake message: type, 24-bit length, body.
inline Bytes handshake(unsigned type, const Bytes& body) {
  Bytes b;
  put_u8(b, type);
  put(b, vec24(body));
  return b;
}

inline Bytes record(unsigned content_type, const Bytes& fragment, unsigned version = 0x0301) {
  Bytes b;
  put_u8(b, content_type);
  put_u16(b, version);
  put(b, vec16(fragment));
  return b;
}

}  // namespace flowaudit::tls_test
