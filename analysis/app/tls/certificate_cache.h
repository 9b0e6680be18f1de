// Certificates seen, by their exact bytes: servers send the same chain to every client, and
// decoding X.509 is the most expensive thing done per flow.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/string_pool.h"

namespace flowaudit::analysis::tls {

class CertificateCache {
 public:
  static constexpr std::size_t kMaxCached = 4096;  // then the cache starts over

  struct Entry {
    std::string_view subject;  // views into the StringPool passed to get()
    std::string_view issuer;
    std::string_view san;  // joined list
    bool ok = false;       // false: the certificate did not parse
  };

  // The decoded leaf certificate of a Certificate message body; the strings are interned in
  // `strings`, which must be the same pool on every call.
  const Entry& get(std::span<const std::uint8_t> body, core::StringPool& strings);

 private:
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace flowaudit::analysis::tls
