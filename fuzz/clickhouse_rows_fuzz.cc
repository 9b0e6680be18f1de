// Fuzz target: OCSF events as `flowaudit sink` receives them from NATS, where anyone who may publish
// to the subject can put any bytes (report/events/clickhouse_rows.h). An event is either refused
// with a reason, leaving the rows as they were, or appended as one line that is a JSON object whose
// event_id is a UUID: never a half-written row that would make ClickHouse refuse the whole batch.
#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "report/events/clickhouse_rows.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace flowaudit::report::events;
  const std::string_view event(reinterpret_cast<const char*>(data), size);
  std::string rows = "{\"before\":1}\n";
  const std::string before = rows;
  std::string id;
  std::string error;
  const auto table = clickhouse_row(event, rows, id, error);
  if (!table) {
    FUZZ_CHECK(!error.empty());
    FUZZ_CHECK(rows == before);
    return 0;
  }
  FUZZ_CHECK(rows.size() > before.size() && rows.back() == '\n');
  const std::string_view row = std::string_view(rows).substr(before.size(), rows.size() - before.size() - 1);
  FUZZ_CHECK(row.find('\n') == std::string_view::npos);
  std::error_code ec;
  const boost::json::value v = boost::json::parse(boost::json::string_view(row.data(), row.size()), ec);
  FUZZ_CHECK(!ec);
  FUZZ_CHECK(v.is_object());
  const auto* uid = v.as_object().if_contains("event_id");
  FUZZ_CHECK(uid != nullptr && uid->is_string() && uid->as_string().size() == 36);
  FUZZ_CHECK(std::string_view(uid->as_string().data(), 36) == id);
  FUZZ_CHECK(!table_name(*table).empty());
  return 0;
}
