#include "rules/lang/diagnostic.h"

#include <algorithm>

namespace flowaudit::rules::lang {

std::string render_error(const Error& error, std::string_view file, std::string_view source) {
  std::string out;
  out.append(file);
  out += ':' + std::to_string(error.pos.line) + ':' + std::to_string(error.pos.column) + ": ";
  out += error.message;
  if (!error.macro_chain.empty()) {
    out += " (in macro ";
    for (std::size_t i = 0; i < error.macro_chain.size(); ++i) {
      if (i != 0) out += " > ";
      out += error.macro_chain[i];
    }
    out += ')';
  }
  const std::size_t offset = std::min(error.pos.offset, source.size());
  const std::size_t begin = source.rfind('\n', offset == 0 ? std::string_view::npos : offset - 1);
  const std::size_t line_begin = (begin == std::string_view::npos || offset == 0) ? 0 : begin + 1;
  std::size_t line_end = source.find('\n', line_begin);
  if (line_end == std::string_view::npos) line_end = source.size();
  const std::string_view line = source.substr(line_begin, line_end - line_begin);
  out += '\n';
  out.append(line);
  out += '\n';
  // Keep tabs so the caret lines up under the same column in a terminal.
  for (std::size_t i = line_begin; i < offset && i - line_begin < line.size(); ++i) {
    out += source[i] == '\t' ? '\t' : ' ';
  }
  out += '^';
  return out;
}

}  // namespace flowaudit::rules::lang
