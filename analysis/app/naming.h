// Names for flows and the blind spots of an audit, decided once all packets are in.
#pragma once

#include "analysis/app/dns/name_cache.h"
#include "analysis/app/flow_details.h"
#include "analysis/flow/flow.h"
#include "core/string_pool.h"

namespace flowaudit::analysis::app {

// Precedence: the TLS or QUIC SNI the client sent, then the HTTP Host, then the DNS answer that
// gave the server's address before the flow started.
// Names are interned in `pool`. A flow left unnamed gets the reason why (unnamed_reason.h).
FlowName name_flow(const flow::Flow& f, const FlowDetails* details, const dns::NameCache& names,
                   core::StringPool& pool);

// ECH in use, DNS over TLS or HTTPS to a known public resolver: set on `details`. (QUIC that
// could not be decrypted and UDP of no known protocol are set while parsing.)
void classify_blind_spot(const flow::Flow& f, FlowDetails& details);

// A public DNS resolver's address or DoH host name (a small built-in list until the service
// catalog takes this over).
bool is_public_resolver_address(const core::IpAddress& ip);
bool is_doh_host(std::string_view host);

}  // namespace flowaudit::analysis::app
