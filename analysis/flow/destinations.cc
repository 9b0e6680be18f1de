#include "analysis/flow/destinations.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace flowaudit::analysis::flow {

int name_source_rank(std::string_view source) noexcept {
  if (source == "tls-sni" || source == "quic-sni") return 0;
  if (source == "proxy-connect" || source == "socks") return 1;
  if (source == "http-host") return 2;
  if (source == "dns") return 3;
  return 4;
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

bool proxied(const FlowLabel* label) { return label != nullptr && !label->via_type.empty(); }

DestinationKey key_of(const Flow& f, const FlowLabel* label) {
  const std::uint8_t s = f.server();
  if (!proxied(label)) return DestinationKey{f.key.addr[s], f.key.port[s], f.key.protocol, {}, {}, 0};
  const bool known = label->target_ip.size() > 0;
  return DestinationKey{label->target_ip, label->target_port, f.key.protocol,
                        known ? std::string() : std::string(label->target_host), f.key.addr[s], f.key.port[s]};
}

DestinationKey proxy_key_of(const Flow& f) {
  const std::uint8_t s = f.server();
  return DestinationKey{f.key.addr[s], f.key.port[s], f.key.protocol, {}, {}, 0};
}

// The label the proxy's own destination gets from a flow it carried: not the target's name.
FlowLabel proxy_label(const FlowLabel& label) {
  FlowLabel p;
  p.hostname = label.proxy_hostname;
  p.hostname_source = label.proxy_hostname.empty() ? std::string_view() : std::string_view("dns");
  p.app_protocol = label.app_protocol;
  p.encrypted = label.encrypted;
  return p;
}

void add_flow(Destination& d, const Flow& f, const FlowLabel* label) {
  const std::uint8_t s = f.server();
  if (d.flows == 0) {
    d.ip = f.key.addr[s];
    d.port = f.key.port[s];
    d.protocol = f.key.protocol;
    d.first_ns = f.first_seen();
    d.last_ns = f.last_seen;
    if (proxied(label)) {
      d.ip = label->target_ip;
      d.port = label->target_port;
      d.address_known = label->target_ip.size() > 0;
      d.via_type = std::string(label->via_type);
      d.via_ip = f.key.addr[s];
      d.via_port = f.key.port[s];
      if (!d.address_known) d.requested_host = std::string(label->target_host);
    }
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

void note_proxied(Destination& proxy, const Flow& f) {
  ++proxy.proxied_flows;
  proxy.proxied_bytes_out += f.out().bytes;
  proxy.proxied_bytes_in += f.in().bytes;
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
  d.proxied_flows += o.proxied_flows;
  d.proxied_bytes_out += o.proxied_bytes_out;
  d.proxied_bytes_in += o.proxied_bytes_in;
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

std::size_t DestinationAggregator::KeyHash::operator()(const DestinationKey& k) const noexcept {
  std::uint64_t h = k.ip.hash() ^ ((std::uint64_t{k.port} << 8 | k.protocol) * 0x9E3779B97F4A7C15ULL);
  if (k.via_port != 0) h ^= (k.via_ip.hash() + k.via_port) * 0xC2B2AE3D27D4EB4FULL ^ std::hash<std::string>{}(k.host);
  return static_cast<std::size_t>(h);
}

bool DestinationAggregator::accepts(const Flow& f, const FlowLabel& label) const {
  std::size_t fresh = index_.find(key_of(f, &label)) == index_.end() ? 1 : 0;
  if (proxied(&label) && index_.find(proxy_key_of(f)) == index_.end()) ++fresh;
  return index_.size() + fresh <= max_;
}

bool DestinationAggregator::add(const Flow& f, const FlowLabel& label) {
  if (!accepts(f, label)) return false;
  const auto slot = [&](DestinationKey key) -> Destination& {
    auto it = index_.find(key);
    if (it == index_.end()) {
      it = index_.emplace(std::move(key), destinations_.size()).first;
      destinations_.emplace_back();
    }
    return destinations_[it->second];
  };
  add_flow(slot(key_of(f, &label)), f, &label);
  if (proxied(&label)) {
    const FlowLabel p = proxy_label(label);
    Destination& proxy = slot(proxy_key_of(f));
    add_flow(proxy, f, &p);
    note_proxied(proxy, f);
  }
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
  std::map<DestinationKey, Destination> by_key;
  for (std::size_t i = 0; i < flows.size(); ++i) {
    const Flow& f = *flows[i];
    const FlowLabel* label = i < labels.size() ? &labels[i] : nullptr;
    add_flow(by_key[key_of(f, label)], f, label);
    if (proxied(label)) {
      const FlowLabel p = proxy_label(*label);
      Destination& proxy = by_key[proxy_key_of(f)];
      add_flow(proxy, f, &p);
      note_proxied(proxy, f);
    }
  }
  for (Destination& d : folded) {
    DestinationKey key{d.ip, d.port, d.protocol, {}, {}, 0};
    if (!d.via_type.empty()) key = DestinationKey{d.ip, d.port, d.protocol, d.requested_host, d.via_ip, d.via_port};
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
