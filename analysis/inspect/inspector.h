// What left in each reconstructed request (issue 17): every place a request carries data is
// walked with its structure (fields.h), each field is run through the personal-data detectors
// (detectors.h) and the canaries the tester gave (canaries.h), and requests to a catalog AI
// service's chat endpoint count their prompt text (chat_endpoints.h). Findings go on the exchange
// (Exchange::findings), with masked values unless --no-redact. Runs when a flow's exchanges are
// reported, never on the packet path, within a byte budget per flow and per run: past it the rest is
// not inspected, and the flow says so (blind spot inspection-budget).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/inspect/canaries.h"
#include "analysis/inspect/chat_endpoints.h"
#include "analysis/inspect/detectors.h"
#include "analysis/inspect/finding.h"

namespace flowaudit::analysis::http {
struct Exchange;
}

namespace flowaudit::analysis::inspect {

struct InspectOptions {
  bool redact = true;                                // findings' values masked
  std::uint64_t max_bytes_per_flow = 8ULL << 20;     // bytes inspected per flow (all its requests)
  std::uint64_t max_bytes_per_run = 1ULL << 30;      // and per run
  std::string device_region;                         // ISO alpha-2, for national phone numbers; "" unknown
};

struct InspectStats {
  std::uint64_t requests = 0;       // requests inspected
  std::uint64_t bytes = 0;          // bytes walked
  std::uint64_t findings = 0;
  std::uint64_t flows_cut = 0;      // flows whose requests were not all inspected (a budget)
  std::uint64_t walks_cut = 0;      // walks stopped by their own limits (depth, fields, size)
};

class Inspector {
 public:
  Inspector(InspectOptions options, std::shared_ptr<const CanarySet> canaries,
            std::shared_ptr<const ChatEndpoints> endpoints);
  ~Inspector();

  // Inspects the exchanges of one flow; `device_addresses` are the client's addresses as text.
  // False when a budget stopped it before the last request.
  bool inspect_flow(std::span<http::Exchange> exchanges, std::span<const std::string> device_addresses);

  // Inspects a name (place "dns": a query name; "sni": a TLS or QUIC server name) label by label,
  // for canaries and identifiers exfiltrated in it; findings are appended to `out` (bounded by
  // kMaxNameFindings). False when the run's budget stopped it.
  static constexpr std::size_t kMaxNameFindings = 32;
  bool inspect_name(std::string_view place, std::string_view name, std::vector<Finding>& out);

  [[nodiscard]] const InspectStats& stats() const noexcept { return stats_; }
  [[nodiscard]] bool has_canaries() const noexcept { return canaries_ && canaries_->size() > 0; }

 private:
  class Sink;
  InspectOptions options_;
  std::shared_ptr<const CanarySet> canaries_;
  std::shared_ptr<const ChatEndpoints> endpoints_;
  Detectors detectors_;
  InspectStats stats_;
  // --threads: the workers' HTTP handlers share one inspector (one budget for the run); a flow's
  // inspection runs whole under this lock.
  std::mutex mutex_;
};

}  // namespace flowaudit::analysis::inspect
