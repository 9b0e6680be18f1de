// The terminal summary: inputs, destinations sorted by bytes sent, totals, warnings.
#pragma once

#include <cstddef>
#include <string>

#include "report/input.h"
#include "report/output.h"

namespace flowaudit::report {

// Rows of the destinations table (by bytes sent); the rest are counted.
inline constexpr std::size_t kTextDestinations = 25;

// The terminal report; `input.outcome` adds the findings and the verdict, `options.color` ANSI
// colours. Finding messages arrive redacted from the evaluation (EvalOptions::redact).
void write_text(const ReportInput& input, const ReportOptions& options, Output& out);

// The same with another cap on the destinations table (tests).
std::string render_text(const ReportInput& input, const ReportOptions& options,
                        std::size_t max_destinations = kTextDestinations);

}  // namespace flowaudit::report
