// Which name pointed to an address, and when: the DNS answers seen so far, so that a flow to an
// address is named by the answer that came before the flow started. Bounded in entries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis/app/dns/dns_message.h"
#include "core/ip_address.h"
#include "core/timestamp.h"

namespace flowaudit::analysis::dns {

struct CachedName {
  std::string name;                // the name that was queried
  std::vector<std::string> cnames;  // the CNAME chain from it to the address, in order
  core::TimestampNs answered_ns = 0;
};

class NameCache {
 public:
  explicit NameCache(std::size_t max_entries = 1u << 16);

  // Records every address in a response (A/AAAA answers and SVCB/HTTPS hints), with the CNAME
  // chain that led from the question to it.
  void add_response(const Message& response, core::TimestampNs ts);

  // The latest answer for `ip` given at or before `at` (a flow's first packet); nullopt if none.
  [[nodiscard]] std::optional<CachedName> lookup(const core::IpAddress& ip, core::TimestampNs at) const;

  [[nodiscard]] std::size_t size() const noexcept;
};

}  // namespace flowaudit::analysis::dns
