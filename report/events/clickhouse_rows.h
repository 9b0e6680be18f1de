// OCSF events as flowaudit writes them (report/events/ocsf.h) turned into rows of the ClickHouse
// schema of docs/clickhouse/schema.sql: one flat table per class, one JSONEachRow line per event.
// `flowaudit sink` reads the events from NATS, where anyone who may publish to the subject can put
// anything: every event is parsed with bounds (size, depth), every value checked for its column
// (a UUID, a time ClickHouse's DateTime can hold, a port), and an event that does not fit is refused
// with its reason, never inserted half-read (ClickHouse would refuse the whole batch for it).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace flowaudit::report::events {

enum class EventTable { kNetwork, kHttp, kDns, kFinding };
inline constexpr std::size_t kEventTables = 4;

// network_activity, http_activity, dns_activity, findings
[[nodiscard]] std::string_view table_name(EventTable t) noexcept;

// The largest event the sink takes (flowaudit's own are a few KiB; a finding with many flow ids
// is the largest).
inline constexpr std::size_t kMaxEventBytes = 1 << 20;

// Appends the event's row (one JSON object and '\n') to `rows` and returns its table; nullopt and a
// one-line reason in `error` for an event that is not one flowaudit's OCSF classes can hold.
// `event_id` is set to the event's metadata.uid when it was read.
std::optional<EventTable> clickhouse_row(std::string_view event, std::string& rows, std::string& event_id,
                                         std::string& error);

}  // namespace flowaudit::report::events
