// The application layer: looks at the first bytes of each flow, picks a parser from a table of
// probes (not an if-chain on ports), and keeps what the parsers learn: TLS and QUIC ClientHellos,
// HTTP requests, DNS exchanges (which also feed the name cache). A flow is inspected only until
// its parser has what it needs or a byte budget is spent; after that its packets cost one branch.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "analysis/app/dns/dns_message.h"
#include "analysis/app/dns/name_cache.h"
#include "analysis/app/flow_details.h"
#include "analysis/flow/flow.h"
#include "analysis/packet/decoder.h"
#include "core/string_pool.h"

namespace flowaudit::analysis::app {

struct AppConfig {
  std::uint64_t tcp_inspect_bytes = 32 * 1024;  // per direction
  std::size_t max_inspections = 1u << 16;      // flows inspected at the same time
  std::size_t max_dns_records = 1u << 18;
  std::size_t max_dns_messages_per_flow = 64;
  std::size_t max_quic_datagrams = 8;
};

struct AppStats {
  std::uint64_t inspections_skipped = 0;  // max_inspections reached
  std::uint64_t dns_records_dropped = 0;  // max_dns_records reached
  std::uint64_t dns_malformed = 0;
  std::uint64_t tls_malformed = 0;
  std::uint64_t http_malformed = 0;
  std::uint64_t tcp_gaps = 0;  // a stream could not be put in order within the limits
  std::uint64_t inspection_limits = 0;  // a limit stopped a parser before it had what it needs
};

class AppAnalyzer {
 public:
  explicit AppAnalyzer(AppConfig config = {});
  ~AppAnalyzer();
  AppAnalyzer(const AppAnalyzer&) = delete;
  AppAnalyzer& operator=(const AppAnalyzer&) = delete;

  // One packet of `f` (already accounted by the flow table), sent by endpoint `sender`.
  void on_packet(flow::Flow& f, std::uint8_t sender, const packet::DecodedPacket& p) noexcept;
  // `f` leaves the flow table: its inspection state goes.
  void on_retire(flow::Flow& f) noexcept;

  // End of the audit: DNS queries that never got an answer become records too.
  void finish();

  [[nodiscard]] const std::unordered_map<std::uint64_t, FlowDetails>& details() const noexcept { return details_; }
  [[nodiscard]] std::unordered_map<std::uint64_t, FlowDetails>& details() noexcept { return details_; }
  [[nodiscard]] std::vector<DnsRecord>& dns_records() noexcept { return dns_; }
  [[nodiscard]] const dns::NameCache& names() const noexcept { return names_; }
  [[nodiscard]] const AppStats& stats() const noexcept { return stats_; }
  // Owns the strings the details point to: keep it as long as the details.
  [[nodiscard]] std::shared_ptr<const core::StringPool> strings() const noexcept { return strings_; }
  [[nodiscard]] core::StringPool& pool() noexcept { return *strings_; }

  struct Inspection;  // per-flow parser state, defined in the .cc

 private:
  void on_tcp(flow::Flow& f, std::uint8_t sender, const packet::DecodedPacket& p, Inspection& in);
  void on_udp(flow::Flow& f, std::uint8_t sender, const packet::DecodedPacket& p, Inspection& in);
  void on_stream_bytes(flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> bytes, Inspection& in);
  void on_dns_message(const flow::Flow& f, std::span<const std::uint8_t> bytes, core::TimestampNs ts, bool tcp,
                      Inspection& in);
  void on_client_hello(FlowDetails& d, std::span<const std::uint8_t> body, bool quic);
  void stream_stopped(flow::Flow& f, std::uint8_t sender, Inspection& in, InspectionLimit which);
  void http_head(flow::Flow& f, Inspection& in, InspectionLimit cut);
  void inspection_limit(const flow::Flow& f, InspectionLimit which);
  void done(flow::Flow& f) noexcept;
  void drop_inspection(flow::Flow& f) noexcept;
  FlowDetails& details_for(const flow::Flow& f);

  AppConfig config_;
  AppStats stats_;
  // Owner of the per-flow parser state; packets reach it through Flow::app_data, not this map.
  std::unordered_map<std::uint64_t, std::unique_ptr<Inspection>> inspections_;
  std::unordered_map<std::uint64_t, FlowDetails> details_;
  std::vector<DnsRecord> dns_;
  dns::NameCache names_;
  std::unique_ptr<dns::Message> message_;  // reused: a DNS message is large
  std::shared_ptr<core::StringPool> strings_;
  // Certificates seen, by their exact bytes: servers send the same chain to every client, and
  // decoding X.509 is the most expensive thing done per flow.
  struct CachedCertificate {
    std::string_view subject;
    std::string_view issuer;
    std::string_view san;
    bool ok = false;
  };
  std::unordered_map<std::string, CachedCertificate> certificates_;
  const CachedCertificate& certificate(std::span<const std::uint8_t> body);
};

}  // namespace flowaudit::analysis::app
