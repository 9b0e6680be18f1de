// The audit as a stream of OCSF 1.1 events (issue 19): one JSON object per event, for fleets that
// ship sensors' events into one store (NATS JetStream, ClickHouse; docs/fleet.md).
//
//   Network Activity (4001)   one per flow record, when it ended (or was still open at the end)
//   DNS Activity (4003)       one per DNS message logged (dns[] of the report)
//   HTTP Activity (4002)      one per reconstructed request (flows[].requests[])
//   Detection Finding (2004)  one per finding of the policy
//
// Every event carries metadata.product (flowaudit and its version), the sensor that saw it
// (metadata.loggers[0]: --sensor-id, by default the host name) and what it came from
// (metadata.log_name: the capture file, the interface or the command). metadata.uid is a
// deterministic id: the same record of the same audit by the same sensor always has the same id, so
// a store that keeps one row per id (ClickHouse ReplacingMergeTree) absorbs redelivered and
// re-audited events. flowaudit's own facts that OCSF has no attribute for (name source, service,
// operator, jurisdiction, blind spot, JA4, ...) are in `unmapped.flowaudit` and, for the service
// and its operator, in `enrichments`. Personal data is redacted as in the reports (request targets,
// finding messages) unless --no-redact.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/timestamp.h"
#include "report/input.h"

namespace flowaudit::report::events {

inline constexpr std::string_view kOcsfVersion = "1.1.0";

struct EventContext {
  std::string sensor_id;  // --sensor-id, default the host name
  // What the audit read: "file:<name>[,<name>...]", "interface:<name>", "run:<program>"; set by
  // source_of() unless the caller knows better.
  std::string source;
  bool redact = true;
  core::TimestampNs logged_ns = 0;  // when the events were made (metadata.logged_time); 0: now
  std::vector<std::string> labels;  // --label KEY=VALUE: metadata.labels
  // What makes ids unique to the audit; empty: the source, its first timestamp, packets and bytes
  // (known only at the end). A capture that tells as it goes sets one known from its start.
  std::string audit_key;
  // A capture that told as it went (LiveHooks::on_ended), at the end: only the flows still open
  // (the others were told when they ended), and the DNS messages from index dns_from on.
  bool only_open_flows = false;
  std::size_t dns_from = 0;
  // The index of the result's first DNS message among all of the audit's (part of its id): a part
  // handed over during a capture starts where the last one stopped.
  std::size_t dns_index_base = 0;
  // Threads that render events (the caller one of them); the events and their order are the same
  // for any number. --threads of the audit.
  std::size_t threads = 1;
  // Records (flows, DNS messages, findings) rendered per batch: each thread renders whole batches.
  // About 300 KiB of events at the default; tests make it small to exercise the hand-over.
  std::size_t batch_records = 256;
};

// "" for a good --label (KEY=VALUE: a key of letters, digits, '_', '-' and '.', a value of 1 to 256
// printable bytes), else why not.
[[nodiscard]] std::string label_error(std::string_view label);

// The source string of a result, as EventContext::source describes.
[[nodiscard]] std::string source_of(const analysis::AuditResult& r);

struct EventCounts {
  std::uint64_t network = 0;
  std::uint64_t dns = 0;
  std::uint64_t http = 0;
  std::uint64_t findings = 0;
  [[nodiscard]] std::uint64_t total() const noexcept { return network + dns + http + findings; }
};

// One event: a compact JSON object, no newline. Returns false to stop (the sink failed).
using EventEmit = std::function<bool(std::string_view event)>;

// Every event of the audit, flows first (in id order, each followed by its requests), then DNS,
// then findings. Stops early, and says so in the counts it returns, when `emit` returns false.
// `emit` is called on the calling thread only, in that order, whatever context.threads is.
EventCounts write_ocsf_events(const ReportInput& input, const EventContext& context, const EventEmit& emit);

}  // namespace flowaudit::report::events
