// Names for flows and the blind spots of an audit, decided once all packets are in.
#pragma once

#include <optional>
#include <string>

#include "analysis/app/dns/name_cache.h"
#include "analysis/app/flow_details.h"
#include "analysis/flow/destinations.h"
#include "analysis/flow/flow.h"
#include "core/string_pool.h"

namespace flowaudit::analysis::app {

// Precedence: the TLS or QUIC SNI the client sent, then the HTTP Host, then the DNS answer that
// gave the server's address before the flow started.
// Names are interned in `pool`. A flow left unnamed gets the reason why (unnamed_reason.h).
FlowName name_flow(const flow::Flow& f, const FlowDetails* details, const dns::NameCache& names,
                   core::StringPool& pool);

// Where a proxied flow goes: the host and port asked of the proxy (CONNECT, SOCKS) or named by an
// absolute-form HTTP request target, and the proxy (the flow's server on the wire). Not set for
// a direct flow.
struct ProxyTarget {
  std::string_view type;  // ProxyDetails::type, or "http-proxy"
  std::string host;
  std::uint16_t port = 0;
  std::optional<core::IpAddress> ip;  // known only when the client asked by address
  core::IpAddress proxy_ip;
  std::uint16_t proxy_port = 0;
};
std::optional<ProxyTarget> proxy_target(const flow::Flow& f, const FlowDetails* d);
// The label's via_type and target_* fields for target `t`, with `type` and `host` as the label keeps
// them (interned for a label that outlives `t`, or t's own for one used at once).
void label_target(const ProxyTarget& t, std::string_view type, std::string_view host, flow::FlowLabel& label);
// Sets the label's via_* and target_* fields for a proxied flow (strings interned in `pool`);
// leaves a direct flow's label as it is.
void label_proxy(const flow::Flow& f, const FlowDetails* d, const dns::NameCache& names, core::StringPool& pool,
                 flow::FlowLabel& label);

// ECH in use, DNS over TLS or HTTPS to a known public resolver: set on `details`. (QUIC that
// could not be decrypted and UDP of no known protocol are set while parsing.)
void classify_blind_spot(const flow::Flow& f, FlowDetails& details);

// A public DNS resolver's address or DoH host name (a small built-in list until the service
// catalog takes this over).
bool is_public_resolver_address(const core::IpAddress& ip);
bool is_doh_host(std::string_view host);

}  // namespace flowaudit::analysis::app
