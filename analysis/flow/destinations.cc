#include "analysis/flow/destinations.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace flowaudit::analysis::flow {

std::vector<Destination> aggregate_destinations(const std::vector<Flow>& flows) {
  using Key = std::tuple<core::IpAddress, std::uint16_t, std::uint8_t>;
  std::map<Key, Destination> by_key;
  for (const Flow& f : flows) {
    const std::uint8_t s = f.server();
    Destination& d = by_key[Key{f.key.addr[s], f.key.port[s], f.key.protocol}];
    if (d.flows == 0) {
      d.ip = f.key.addr[s];
      d.port = f.key.port[s];
      d.protocol = f.key.protocol;
      d.first_ns = f.first_seen();
      d.last_ns = f.last_seen;
    }
    ++d.flows;
    d.packets_out += f.out().packets;
    d.packets_in += f.in().packets;
    d.bytes_out += f.out().bytes;
    d.bytes_in += f.in().bytes;
    d.payload_bytes_out += f.out().payload_bytes;
    d.payload_bytes_in += f.in().payload_bytes;
    d.first_ns = std::min(d.first_ns, f.first_seen());
    d.last_ns = std::max(d.last_ns, f.last_seen);
  }
  std::vector<Destination> out;
  out.reserve(by_key.size());
  for (auto& [k, d] : by_key) out.push_back(d);
  std::stable_sort(out.begin(), out.end(), [](const Destination& a, const Destination& b) {
    return a.bytes_out > b.bytes_out;
  });
  return out;
}

}  // namespace flowaudit::analysis::flow
