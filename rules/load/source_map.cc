#include "rules/load/source_map.h"

#include <algorithm>

namespace flowaudit::rules::load {
namespace {
// How far the alignment may skip in the file for one character of the value (indentation, quotes,
// escapes); beyond that the text and the value do not belong together.
constexpr std::size_t kMaxSkip = 256;

// Moves `raw` to the file character that stands for `c`; false if there is none close by.
bool align(std::string_view text, std::size_t& raw, char c) noexcept {
  for (std::size_t skipped = 0; raw < text.size() && skipped <= kMaxSkip; ++raw, ++skipped) {
    const char r = text[raw];
    if (r == c || (c == ' ' && r == '\n')) return true;
  }
  return false;
}
}  // namespace

Location location_at(std::string_view file_text, std::size_t offset) noexcept {
  Location out;
  offset = std::min(offset, file_text.size());
  const std::string_view before = file_text.substr(0, offset);
  out.line = static_cast<std::uint32_t>(std::count(before.begin(), before.end(), '\n'));
  const std::size_t newline = before.rfind('\n');
  out.column = static_cast<std::uint32_t>(newline == std::string_view::npos ? offset : offset - newline - 1);
  out.offset = offset;
  out.known = true;
  return out;
}

Location locate_in_scalar(std::string_view file_text, std::size_t scalar_start, std::string_view value,
                          std::size_t offset) noexcept {
  if (scalar_start > file_text.size()) return {};
  offset = std::min(offset, value.size());
  std::size_t raw = scalar_start;
  for (std::size_t i = 0; i <= offset && i < value.size(); ++i) {
    if (!align(file_text, raw, value[i])) return location_at(file_text, scalar_start);
    if (i == offset) break;
    ++raw;
  }
  return location_at(file_text, raw);
}

std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) ? '?' : c;
  return out;
}

std::string render_at(std::string_view file, std::string_view file_text, Location where, std::string_view message) {
  // File names and messages (yaml-cpp's quote the offending character) stay on one line.
  std::string out = one_line(file);
  if (!where.known) {
    out += ": ";
    out += one_line(message);
    return out;
  }
  out += ':' + std::to_string(where.line + 1) + ':' + std::to_string(where.column + 1) + ": ";
  out += one_line(message);
  const std::size_t offset = std::min(where.offset, file_text.size());
  const std::size_t begin = offset - std::min<std::size_t>(where.column, offset);
  std::size_t end = file_text.find('\n', begin);
  if (end == std::string_view::npos) end = file_text.size();
  std::string_view line = file_text.substr(begin, std::min<std::size_t>(end - begin, 512));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  out += '\n';
  // One line per line: control characters other than tabs would break the terminal output.
  for (const char c : line) out += (static_cast<unsigned char>(c) < 0x20 && c != '\t') ? '?' : c;
  out += '\n';
  for (std::size_t i = begin; i < offset && i - begin < line.size(); ++i) out += file_text[i] == '\t' ? '\t' : ' ';
  out += '^';
  return out;
}

}  // namespace flowaudit::rules::load
