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

void add_name(Destination& d, std::string_view name, std::string_view source, std::uint64_t flows,
              std::uint64_t first_flow) {
  auto it = std::find_if(d.names.begin(), d.names.end(),
                         [&](const NameSeen& n) { return n.name == name && n.source == source; });
  if (it == d.names.end()) {
    d.names.push_back(NameSeen{std::string(name), std::string(source), 0, first_flow});
    it = d.names.end() - 1;
  }
  it->flows += flows;
  it->first_flow = std::min(it->first_flow, first_flow);
}

void add_app_protocol(Destination& d, std::string_view app) {
  if (app.empty()) return;
  if (d.app_protocol.empty()) {
    d.app_protocol = std::string(app);
  } else if (d.app_protocol != app) {
    d.app_protocol = "mixed";
  }
}

void add_encrypted(Destination& d, int encrypted) {
  if (encrypted == 0) {
    d.encrypted = 0;
  } else if (encrypted == 1 && d.encrypted == -1) {
    d.encrypted = 1;
  }
}

void add_label(Destination& d, const FlowLabel& label, std::uint64_t flow_id) {
  if (!label.hostname.empty()) {
    ++d.named_flows;
    add_name(d, label.hostname, label.hostname_source, 1, flow_id);
  }
  add_app_protocol(d, label.app_protocol);
  add_encrypted(d, label.encrypted);
}

void add_flow(Destination& d, const Flow& f, const FlowLabel* label) {
  const std::uint8_t s = f.server();
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
  if (label != nullptr) add_label(d, *label, f.id);
}

// Every part of a destination is a sum, a min/max or a set union, so merging two partial
// aggregates gives what one pass over all their flows would give.
void merge(Destination& d, Destination&& o) {
  if (d.flows == 0) {
    d = std::move(o);
    return;
  }
  d.flows += o.flows;
  d.packets_out += o.packets_out;
  d.packets_in += o.packets_in;
  d.bytes_out += o.bytes_out;
  d.bytes_in += o.bytes_in;
  d.payload_bytes_out += o.payload_bytes_out;
  d.payload_bytes_in += o.payload_bytes_in;
  d.first_ns = std::min(d.first_ns, o.first_ns);
  d.last_ns = std::max(d.last_ns, o.last_ns);
  d.named_flows += o.named_flows;
  for (const NameSeen& n : o.names) add_name(d, n.name, n.source, n.flows, n.first_flow);
  add_app_protocol(d, o.app_protocol == "mixed" ? std::string_view("mixed") : std::string_view(o.app_protocol));
  add_encrypted(d, o.encrypted);
}

void choose_hostname(Destination& d) {
  // In order of first flow: ties between names are broken the same way however the flows came in.
  std::stable_sort(d.names.begin(), d.names.end(),
                   [](const NameSeen& a, const NameSeen& b) { return a.first_flow < b.first_flow; });
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

std::size_t DestinationAggregator::KeyHash::operator()(
    const std::tuple<core::IpAddress, std::uint16_t, std::uint8_t>& k) const noexcept {
  const auto& [ip, port, protocol] = k;
  return static_cast<std::size_t>(ip.hash() ^ ((std::uint64_t{port} << 8 | protocol) * 0x9E3779B97F4A7C15ULL));
}

bool DestinationAggregator::accepts(const Flow& f) const {
  const std::uint8_t s = f.server();
  return index_.size() < max_ || index_.find(std::make_tuple(f.key.addr[s], f.key.port[s], f.key.protocol)) != index_.end();
}

bool DestinationAggregator::add(const Flow& f, const FlowLabel& label) {
  const std::uint8_t s = f.server();
  const auto key = std::make_tuple(f.key.addr[s], f.key.port[s], f.key.protocol);
  auto it = index_.find(key);
  if (it == index_.end()) {
    if (index_.size() >= max_) return false;
    it = index_.emplace(key, destinations_.size()).first;
    destinations_.emplace_back();
  }
  add_flow(destinations_[it->second], f, &label);
  return true;
}

std::vector<Destination> DestinationAggregator::take() {
  index_.clear();
  return std::move(destinations_);
}

std::vector<Destination> aggregate_destinations(const std::vector<Flow>& flows, const std::vector<FlowLabel>* labels,
                                                std::vector<Destination> folded) {
  std::vector<const Flow*> pointers;
  pointers.reserve(flows.size());
  for (const Flow& f : flows) pointers.push_back(&f);
  std::span<const FlowLabel> given;  // none: no names, protocols or encryption
  if (labels != nullptr) given = *labels;
  return aggregate_destinations(pointers, given, std::move(folded));
}

std::vector<Destination> aggregate_destinations(std::span<const Flow* const> flows, std::span<const FlowLabel> labels,
                                                std::vector<Destination> folded) {
  using Key = std::tuple<core::IpAddress, std::uint16_t, std::uint8_t>;
  std::map<Key, Destination> by_key;
  for (std::size_t i = 0; i < flows.size(); ++i) {
    const Flow& f = *flows[i];
    const std::uint8_t s = f.server();
    add_flow(by_key[Key{f.key.addr[s], f.key.port[s], f.key.protocol}], f, i < labels.size() ? &labels[i] : nullptr);
  }
  for (Destination& d : folded) {
    const Key key{d.ip, d.port, d.protocol};
    merge(by_key[key], std::move(d));
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
