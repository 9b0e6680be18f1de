// "What left": which kinds of data went to which destination, under whose law (issue 17). One
// aggregation of every reconstructed request's findings (http::Exchange::findings, prompt_bytes),
// computed from the audit and rendered by each report writer (JSON what_left, the HTML and Markdown
// matrices, the text block, SARIF's run properties). It holds types, field paths, encodings and
// counts, never a value: a report that prints it shows nothing --no-redact would have masked.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/audit.h"

namespace flowaudit::report {

// Every limit, visible: rows past kWhatLeftMaxRows are counted (rows_not_listed, their findings in
// findings_not_listed); per type, the first kWhatLeftMaxFields distinct field paths and
// kWhatLeftMaxEncodings distinct encodings are listed, the findings in the others counted; a field
// path or encoding is cut at kWhatLeftMaxText bytes (on a character boundary); at most
// kWhatLeftMaxTypes types per row (the known ones always fit).
inline constexpr std::size_t kWhatLeftMaxRows = 256;
inline constexpr std::size_t kWhatLeftMaxTypes = 32;
inline constexpr std::size_t kWhatLeftMaxFields = 8;
inline constexpr std::size_t kWhatLeftMaxEncodings = 8;
inline constexpr std::size_t kWhatLeftMaxText = 200;

// The data types in the order every report lists them: detectors.h's PiiType order, then canary and
// prompt. A type the inspector adds later and this list does not know comes after them, by name.
[[nodiscard]] std::span<const std::string_view> what_left_type_order() noexcept;

struct WhatLeftType {
  std::string type;                   // Finding::type
  std::uint64_t findings = 0;
  std::vector<std::string> fields;    // distinct field paths, in the order first seen
  std::uint64_t fields_not_listed = 0;  // findings in a field past kWhatLeftMaxFields
  std::vector<std::string> encodings;   // distinct non-empty encodings ("" is the value as is)
  std::uint64_t encodings_not_listed = 0;  // findings with an encoding past kWhatLeftMaxEncodings
  std::uint64_t bytes = 0;  // prompt: the prompt bytes sent (Exchange::prompt_bytes); 0 for the others
};

struct WhatLeftRow {
  std::string destination;  // the destination's hostname as reported, else its address
  // From the service catalog (empty when the destination is not in it).
  std::string service_id;
  std::string service_name;
  std::string operator_name;
  std::string jurisdiction;
  std::string parent;
  std::string parent_jurisdiction;
  bool plaintext = false;           // at least one of its requests went over plain http
  std::uint64_t requests = 0;       // requests to it with at least one finding or prompt bytes
  std::uint64_t findings = 0;       // sum over types
  std::uint64_t findings_dropped = 0;  // past Exchange::kMaxFindings in its requests: in no count
  std::vector<WhatLeftType> types;  // in what_left_type_order()
  [[nodiscard]] const WhatLeftType* find(std::string_view type) const noexcept;
};

struct WhatLeft {
  // Inspection: reconstructed requests (all of them, with findings or not) and the flows they were in.
  // Zero requests means nothing was inspected: empty rows then say nothing about what left.
  std::uint64_t requests = 0;
  std::uint64_t flows = 0;
  std::vector<WhatLeftRow> rows;  // by destination name (byte order)
  std::uint64_t rows_not_listed = 0;
  std::uint64_t findings_not_listed = 0;  // the findings of those rows
  // What could not be counted: flows whose requests were left uninspected (blind spot
  // inspection-budget), encrypted flows with no keys, records dropped (--max-flow-records; their
  // requests are gone).
  std::uint64_t uninspected_flows = 0;
  std::uint64_t undecrypted_flows = 0;
  std::uint64_t flow_records_dropped = 0;
  // The types present in any row, in what_left_type_order() (the matrix's columns).
  std::vector<std::string> types;
  [[nodiscard]] bool inspected() const noexcept { return requests > 0; }
};

[[nodiscard]] WhatLeft what_left(const analysis::AuditResult& r);

// "decryption keys (--keylog, or a pcapng with its secrets) or plaintext HTTP": the one sentence every
// format uses when nothing was inspected, so that an empty matrix is never read as "nothing left".
[[nodiscard]] std::string_view what_left_nothing_inspected() noexcept;

// "Jurisdiction CN (group: US)" style summary: "CN", "CN, group US", "" when not in the catalog.
[[nodiscard]] std::string what_left_law(const WhatLeftRow& row);

class JsonWriter;

// The JSON form of What left under `key`: the JSON report's `what_left`, and the same object in
// SARIF's run properties (`whatLeft`), so the two never drift apart.
void write_what_left_json(JsonWriter& w, const WhatLeft& wl, std::string_view key);

}  // namespace flowaudit::report
