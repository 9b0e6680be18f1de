#include "analysis/flow/destinations.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace flowaudit::analysis::flow {

int name_source_rank(std::string_view source) noexcept {
  if (source == "tls-sni" || source == "quic-sni") return 0;
  if (source == "http-host") return 1;
  if (source == "dns") return 2;
  return 3;
}

namespace {

void add_label(Destination& d, const FlowLabel& label) {
  if (!label.hostname.empty()) {
    ++d.named_flows;
    auto it = std::find_if(d.names.begin(), d.names.end(), [&](const NameSeen& n) {
      return n.name == label.hostname && n.source == label.hostname_source;
    });
    if (it == d.names.end()) {
      d.names.push_back(NameSeen{std::string(label.hostname), std::string(label.hostname_source), 0});
      it = d.names.end() - 1;
    }
    ++it->flows;
  }
  if (!label.app_protocol.empty()) {
    if (d.app_protocol.empty()) {
      d.app_protocol = std::string(label.app_protocol);
    } else if (d.app_protocol != label.app_protocol) {
      d.app_protocol = "mixed";
    }
  }
  if (label.encrypted == 0) {
    d.encrypted = 0;
  } else if (label.encrypted == 1 && d.encrypted == -1) {
    d.encrypted = 1;
  }
}

void choose_hostname(Destination& d) {
  const NameSeen* best = nullptr;
  for (const NameSeen& n : d.names) {
    if (best == nullptr || name_source_rank(n.source) < name_source_rank(best->source) ||
        (name_source_rank(n.source) == name_source_rank(best->source) && n.flows > best->flows)) {
      best = &n;
    }
  }
  if (best != nullptr) {
    d.hostname = best->name;
    d.hostname_source = best->source;
  }
}

}  // namespace

std::vector<Destination> aggregate_destinations(const std::vector<Flow>& flows, const std::vector<FlowLabel>* labels) {
  using Key = std::tuple<core::IpAddress, std::uint16_t, std::uint8_t>;
  std::map<Key, Destination> by_key;
  for (std::size_t i = 0; i < flows.size(); ++i) {
    const Flow& f = flows[i];
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
    if (labels != nullptr && i < labels->size()) add_label(d, (*labels)[i]);
  }
  std::vector<Destination> out;
  out.reserve(by_key.size());
  for (auto& [k, d] : by_key) {
    choose_hostname(d);
    out.push_back(std::move(d));
  }
  std::stable_sort(out.begin(), out.end(), [](const Destination& a, const Destination& b) {
    return a.bytes_out > b.bytes_out;
  });
  return out;
}

}  // namespace flowaudit::analysis::flow
