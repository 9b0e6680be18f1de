// The terminal summary: inputs, destinations sorted by bytes sent, totals, warnings.
#pragma once

#include <string>

#include "analysis/audit.h"
#include "report/findings_report.h"

namespace flowaudit::rules::report {

struct TextOptions {
  std::size_t max_destinations = 25;
  const PolicyOutcome* outcome = nullptr;  // adds the findings and the verdict
  bool redact = true;  // unused here: messages are redacted by the evaluation (EvalOptions::redact)
  bool color = false;                      // ANSI colours (on a terminal, unless NO_COLOR)
};

std::string render_text(const analysis::AuditResult& result, const TextOptions& options = {});

// "1.2 MB", "512 B": decimal units as people read them.
std::string human_bytes(std::uint64_t bytes);

}  // namespace flowaudit::rules::report
