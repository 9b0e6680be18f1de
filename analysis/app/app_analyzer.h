// The application layer: looks at the first bytes of each flow, lets the first protocol handler
// of a table claim it (analysis/app/README.md), and keeps what the handlers learn: TLS and QUIC
// ClientHellos, HTTP requests, DNS exchanges (which also feed the name cache). A flow is inspected
// only until its handler has what it needs or a byte budget is spent; after that its packets cost
// one branch.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "analysis/app/app_context.h"
#include "analysis/app/flow_details.h"
#include "analysis/flow/flow.h"
#include "analysis/packet/decoder.h"
#include "core/string_pool.h"

namespace flowaudit::analysis::app {

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

  [[nodiscard]] const std::unordered_map<std::uint64_t, FlowDetails>& details() const noexcept { return ctx_.details; }
  [[nodiscard]] std::unordered_map<std::uint64_t, FlowDetails>& details() noexcept { return ctx_.details; }
  [[nodiscard]] std::deque<DnsRecord>& dns_records() noexcept { return ctx_.dns; }
  [[nodiscard]] const dns::NameCache& names() const noexcept { return ctx_.name_cache(); }
  // The number of the packet on_packet() is about to see (1-based, over all inputs).
  void set_packet(std::uint64_t n) noexcept { ctx_.packet = n; }
  [[nodiscard]] const AppStats& stats() const noexcept { return ctx_.stats; }
  // Owns the strings the details point to: keep it as long as the details.
  [[nodiscard]] std::shared_ptr<const core::StringPool> strings() const noexcept { return ctx_.strings; }
  [[nodiscard]] core::StringPool& pool() noexcept { return *ctx_.strings; }

  // Per-flow state while a flow is inspected: its TCP streams and its handler's state. Defined in
  // the .cc, next to the handler table it is made from.
  struct Inspection;
  struct Probing;  // the first bytes of a TCP flow while no claim has decided
  static std::size_t inspection_size() noexcept;  // sizeof(Inspection), for the memory budget

 private:
  void on_tcp(flow::Flow& f, std::uint8_t sender, const packet::DecodedPacket& p, Inspection& in);
  void on_udp(flow::Flow& f, std::uint8_t sender, const packet::DecodedPacket& p, Inspection& in);
  void on_stream_bytes(flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> bytes, Inspection& in);
  void claim_stream(flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> bytes, Probing& held,
                    Inspection& in);
  void feed(flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> bytes, Inspection& in);
  void stream_stopped(flow::Flow& f, std::uint8_t sender, Inspection& in, InspectionLimit which);
  void drop_inspection(flow::Flow& f) noexcept;

  AppContext ctx_;
  // Owner of the per-flow state; packets reach it through Flow::app_data, not this map.
  std::unordered_map<std::uint64_t, std::unique_ptr<Inspection>> inspections_;
};

}  // namespace flowaudit::analysis::app
