// DNS over UDP and over TCP: every query and response becomes a DnsRecord (a response joins its
// query's record) and every response feeds the name cache.
#pragma once

#include <cstdint>
#include <span>

#include "analysis/app/app_context.h"
#include "analysis/app/dns/tcp_framing.h"
#include "core/fixed_list.h"

namespace flowaudit::analysis::dns {

class DnsHandler {
 public:
  static constexpr app::AppProtocol kProtocol = app::AppProtocol::kDns;
  // Port 53 either side, or mDNS's port as the server's.
  static app::Claim on_port(const app::ProbeInput& in) noexcept;
  // DNS on another port (dig -p, local resolvers): a message that parses strictly as one standard
  // query or response. For UDP that nothing else claimed.
  static app::Claim looks_like_dns(const app::ProbeInput& in);

  void on_datagram(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> payload,
                   core::TimestampNs ts);
  void on_stream(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> bytes);
  void on_stream_stopped(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, app::InspectionLimit which);

 private:
  bool count_message(app::AppContext& ctx, const flow::Flow& f);
  void message(app::AppContext& ctx, const flow::Flow& f, std::span<const std::uint8_t> bytes, core::TimestampNs ts,
               bool tcp);

  TcpFraming framing_[2];  // by sender; empty (no allocation) over UDP
  std::uint32_t messages_ = 0;  // up to AppConfig::max_dns_messages_per_flow
  // A query of this flow waiting for its response. The index is 32 bits (8 bytes an entry, not 16,
  // in every DNS flow's state): AppConfig::max_dns_records is 2^18; a query past index 2^32 - 1
  // is not kept waiting, and its response gets a record of its own.
  struct Pending {
    std::uint32_t record;  // index into AppContext::dns
    std::uint16_t id;      // DNS message id
  };
  core::FixedList<Pending, 16> pending_;
};

}  // namespace flowaudit::analysis::dns
