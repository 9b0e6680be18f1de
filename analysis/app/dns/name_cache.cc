// The name cache runs once per DNS response, not per packet, so it may allocate: entries are
// nodes of a list in answer order (cheap eviction of the oldest) indexed by address.
#include "analysis/app/dns/name_cache.h"

#include <algorithm>
#include <string_view>

namespace flowaudit::analysis::dns {
namespace {

bool is_in_class(const Answer& a) noexcept {
  return (a.klass & 0x7FFF) == 1;  // IN; mDNS sets the top bit (cache flush)
}

// The name an address is recorded under: the question and the CNAMEs from it to `owner`, or the
// owner alone when the message does not link the two.
void resolve_chain(const Message& m, std::string_view owner, std::string& name, std::vector<std::string>& cnames) {
  cnames.clear();
  if (m.question_count > 0) {
    std::string_view current = m.qname.view();
    for (std::size_t step = 0;; ++step) {
      if (current == owner) {
        name.assign(m.qname.view());
        return;
      }
      if (step == NameCache::kMaxChain) break;  // also ends CNAME loops
      const Answer* next = nullptr;
      for (const Answer& a : m.answers) {
        if (a.type == rr::kCname && is_in_class(a) && a.name.view() == current) {
          next = &a;
          break;
        }
      }
      if (next == nullptr) break;
      current = next->target.view();
      cnames.emplace_back(current);
    }
  }
  cnames.clear();
  name.assign(owner);
}

}  // namespace

NameCache::NameCache(std::size_t max_entries) : max_entries_(max_entries) {}

std::size_t NameCache::size() const noexcept { return entries_.size(); }

namespace {

// Each address a response names, with its name and CNAME chain: f(ip, name, cnames).
template <typename F>
void for_each_named(const Message& response, F&& f) {
  std::string name;
  std::vector<std::string> cnames;
  for (const Answer& a : response.answers) {
    if (!is_in_class(a)) continue;
    const bool address = a.type == rr::kA || a.type == rr::kAaaa;
    const bool svc = (a.type == rr::kHttps || a.type == rr::kSvcb) && !a.hints.empty();
    if (!address && !svc) continue;
    resolve_chain(response, a.name.view(), name, cnames);
    if (address) {
      f(a.address, name, cnames);
    } else {
      for (const core::IpAddress& ip : a.hints) f(ip, name, cnames);
    }
  }
}

}  // namespace

void NameCache::add_response(const Message& response, core::TimestampNs ts) {
  if (!response.response || max_entries_ == 0) return;
  for_each_named(response, [&](const core::IpAddress& ip, const std::string& name,
                               const std::vector<std::string>& cnames) { add(ip, name, cnames, ts); });
}

void NameCache::collect(const Message& response, core::TimestampNs ts, std::vector<NamedAddress>& out) {
  if (!response.response) return;
  for_each_named(response, [&](const core::IpAddress& ip, const std::string& name,
                               const std::vector<std::string>& cnames) { out.push_back(NamedAddress{ip, name, cnames, ts}); });
}

void NameCache::add(const core::IpAddress& ip, const std::string& name, const std::vector<std::string>& cnames,
                    core::TimestampNs ts) {
  auto& list = by_ip_[ip];
  // Entries stay ordered by first answer; answers normally come in time order, one out of order
  // is placed by its time.
  auto pos = std::upper_bound(list.begin(), list.end(), ts,
                              [](core::TimestampNs t, const EntryList::iterator& e) { return t < e->name.answered_ns; });
  if (pos != list.begin()) {
    const EntryList::iterator previous = *(pos - 1);
    if (previous->name.name == name && previous->name.cnames == cnames) {
      // The same answer again: one entry for the run, refreshed against eviction.
      previous->last_ns = std::max(previous->last_ns, ts);
      entries_.splice(entries_.end(), entries_, previous);
      return;
    }
  }
  entries_.push_back(Entry{ip, CachedName{name, cnames, ts}, ts});
  list.insert(pos, std::prev(entries_.end()));
  if (list.size() > kMaxNamesPerAddress) erase(list.front());  // the oldest answer for this address
  while (entries_.size() > max_entries_) erase(entries_.begin());
}

void NameCache::erase(EntryList::iterator it) {
  const auto found = by_ip_.find(it->ip);
  if (found != by_ip_.end()) {
    auto& list = found->second;
    list.erase(std::remove(list.begin(), list.end(), it), list.end());
    if (list.empty()) by_ip_.erase(found);
  }
  entries_.erase(it);
}

std::optional<CachedName> NameCache::lookup(const core::IpAddress& ip, core::TimestampNs at) const {
  const auto found = by_ip_.find(ip);
  if (found == by_ip_.end()) return std::nullopt;
  const auto& list = found->second;
  for (auto it = list.rbegin(); it != list.rend(); ++it) {
    const Entry& e = **it;
    if (e.name.answered_ns > at) continue;
    CachedName result = e.name;
    // Within a run of identical answers only the first and last times are kept.
    if (e.last_ns <= at) result.answered_ns = e.last_ns;
    return result;
  }
  return std::nullopt;
}

}  // namespace flowaudit::analysis::dns
