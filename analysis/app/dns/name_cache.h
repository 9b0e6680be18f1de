// Which name pointed to an address, and when: the DNS answers seen so far, so that a flow to an
// address is named by the answer that came before the flow started. Bounded in entries.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
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

// An address with the name a response gave it (what NameCache records), kept aside when the cache is
// filled later in packet order (--threads, app::ShardSync).
struct NamedAddress {
  core::IpAddress ip;
  std::string name;
  std::vector<std::string> cnames;
  core::TimestampNs ts = 0;
};

class NameCache {
 public:
  static constexpr std::size_t kMaxNamesPerAddress = 4;
  static constexpr std::size_t kMaxChain = 8;

  explicit NameCache(std::size_t max_entries = 1u << 16);

  // Records every address in a response (A/AAAA answers and SVCB/HTTPS hints), with the CNAME
  // chain that led from the question to it. An address whose owner name cannot be reached from
  // the question through at most kMaxChain CNAMEs in the message (or a message without a
  // question, as in mDNS) is recorded under its owner name, without a chain. Queries (QR = 0) and
  // classes other than IN are ignored.
  void add_response(const Message& response, core::TimestampNs ts);
  // What add_response would record, appended to `out` instead; add() records one of them.
  static void collect(const Message& response, core::TimestampNs ts, std::vector<NamedAddress>& out);
  void add(const NamedAddress& a) { add(a.ip, a.name, a.cnames, a.ts); }

  // The latest answer for `ip` given at or before `at` (a flow's first packet); nullopt if none.
  [[nodiscard]] std::optional<CachedName> lookup(const core::IpAddress& ip, core::TimestampNs at) const;

  [[nodiscard]] std::size_t size() const noexcept;

 private:
  // One answer, or a run of identical answers in a row for the same address (first_ns..last_ns).
  struct Entry {
    core::IpAddress ip;
    CachedName name;  // answered_ns is the first answer of the run
    core::TimestampNs last_ns = 0;
  };
  using EntryList = std::list<Entry>;
  struct IpHash {
    std::size_t operator()(const core::IpAddress& ip) const noexcept { return static_cast<std::size_t>(ip.hash()); }
  };

  void add(const core::IpAddress& ip, const std::string& name, const std::vector<std::string>& cnames,
           core::TimestampNs ts);
  void erase(EntryList::iterator it);

  std::size_t max_entries_;
  EntryList entries_;  // least recently answered first: evicted from the front
  // Per address, its entries ordered by first answer (at most kMaxNamesPerAddress).
  std::unordered_map<core::IpAddress, std::vector<EntryList::iterator>, IpHash> by_ip_;
};

}  // namespace flowaudit::analysis::dns
