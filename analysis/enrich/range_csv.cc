#include "analysis/enrich/range_csv.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "analysis/enrich/range_overlap.h"
#include "core/input_file.h"

namespace flowaudit::analysis::enrich {

namespace {

// A field shown inside an error message: clipped, and with control bytes replaced, so that the
// message stays on one line whatever the file holds.
std::string shown(std::string_view field) {
  constexpr std::size_t kMax = 48;
  std::string out = "'";
  for (std::size_t i = 0; i < field.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(field[i]);
    out += (c < 0x20 || c == 0x7F) ? '?' : static_cast<char>(c);
  }
  if (field.size() > kMax) out += "...";
  return out + "'";
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

// Splits CSV text into records of fields, one record per call.
class CsvScanner {
 public:
  CsvScanner(std::string_view text, const RangeCsvLimits& limits) : text_(text), limits_(limits) {}

  enum class Status : std::uint8_t { kRecord, kEnd, kError };

  // On kRecord `fields` holds the record and `line` where it starts; on kError, `message`.
  Status next(std::vector<std::string>& fields, std::size_t& line, std::string& message) {
    for (;;) {
      if (pos_ >= text_.size()) return Status::kEnd;
      const char c = text_[pos_];
      if (c == '\n') {  // blank line
        ++pos_;
        ++line_;
        continue;
      }
      if (c == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') {
        pos_ += 2;
        ++line_;
        continue;
      }
      if (c == '#') {  // comment line
        const auto eol = text_.find('\n', pos_);
        if (eol != std::string_view::npos && eol - pos_ > limits_.max_record_bytes) {
          line = line_;
          message = "line longer than " + std::to_string(limits_.max_record_bytes) + " bytes";
          return Status::kError;
        }
        pos_ = eol == std::string_view::npos ? text_.size() : eol + 1;
        ++line_;
        continue;
      }
      break;
    }
    fields.clear();
    line = line_;
    const std::size_t record_start = pos_;
    for (;;) {
      if (fields.size() == limits_.max_fields) {
        message = "more than " + std::to_string(limits_.max_fields) + " fields";
        return Status::kError;
      }
      std::string field;
      bool end_of_record = false;
      if (pos_ < text_.size() && text_[pos_] == '"') {
        ++pos_;
        for (;;) {
          if (pos_ >= text_.size()) {
            message = "quoted field not closed before the end of the file";
            return Status::kError;
          }
          const char c = text_[pos_++];
          if (c == '"') {
            if (pos_ < text_.size() && text_[pos_] == '"') {
              field += '"';
              ++pos_;
              continue;
            }
            break;
          }
          if (c == '\n') ++line_;
          field += c;
          if (field.size() > limits_.max_field_bytes) break;
        }
        if (field.size() <= limits_.max_field_bytes && !end_field(end_of_record, message, true)) {
          return Status::kError;
        }
      } else {
        while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n' && text_[pos_] != '\r') {
          if (text_[pos_] == '"') {
            message = "quote inside an unquoted field (quote the whole field and double the quote)";
            return Status::kError;
          }
          field += text_[pos_++];
          if (field.size() > limits_.max_field_bytes) break;
        }
        if (field.size() <= limits_.max_field_bytes && !end_field(end_of_record, message, false)) {
          return Status::kError;
        }
        field = std::string(trim(field));
      }
      if (field.size() > limits_.max_field_bytes) {
        message = "field " + std::to_string(fields.size() + 1) + " longer than " +
                  std::to_string(limits_.max_field_bytes) + " bytes";
        return Status::kError;
      }
      if (field.find('\0') != std::string::npos) {
        message = "NUL byte in field " + std::to_string(fields.size() + 1);
        return Status::kError;
      }
      fields.push_back(std::move(field));
      if (pos_ - record_start > limits_.max_record_bytes) {
        message = "record longer than " + std::to_string(limits_.max_record_bytes) + " bytes";
        return Status::kError;
      }
      if (end_of_record) return Status::kRecord;
    }
  }

  [[nodiscard]] std::size_t line() const noexcept { return line_; }

 private:
  // After a field: a comma (another field follows) or the end of the record.
  bool end_field(bool& end_of_record, std::string& message, bool after_quote) {
    if (pos_ >= text_.size()) {
      end_of_record = true;
      return true;
    }
    const char c = text_[pos_];
    if (c == ',') {
      ++pos_;
      return true;
    }
    if (c == '\n' || (c == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n')) {
      pos_ += c == '\n' ? 1 : 2;
      ++line_;
      end_of_record = true;
      return true;
    }
    message = after_quote ? "unexpected " + shown(std::string_view(&text_[pos_], 1)) + " after a closing quote"
                          : "carriage return not followed by a line feed";
    return false;
  }

  std::string_view text_;
  const RangeCsvLimits& limits_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

bool parse_asn(std::string_view s, std::uint32_t& asn) {
  if (s.size() > 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's')) s.remove_prefix(2);
  if (s.empty() || s.size() > 10) return false;
  std::uint64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v > 0xFFFF'FFFFu) return false;
  asn = static_cast<std::uint32_t>(v);
  return true;
}

bool parse_country(std::string_view s, std::string& out) {
  if (s.size() != 2 || !is_letter(s[0]) || !is_letter(s[1])) return false;
  out.clear();
  for (const char c : s) out += static_cast<char>(c >= 'a' ? c - ('a' - 'A') : c);
  return true;
}

// Fills `row` from one record's fields; on failure `message` says what is wrong.
bool interpret(const std::vector<std::string>& f, RangeRow& row, std::string& message) {
  const bool cidr_first = !f.empty() && f[0].find('/') != std::string::npos;
  auto address = [&message](const std::string& s, std::size_t column, core::IpAddress& out) {
    const auto a = core::IpAddress::parse(s);
    if (!a) {
      message = "bad address " + shown(s) + " in column " + std::to_string(column);
      return false;
    }
    out = *a;
    return true;
  };
  auto network = [&message, &row](const std::string& s) {
    row.network = core::Cidr::parse(s);
    if (!row.network) message = "bad network " + shown(s) + " in column 1 (expected address/prefix)";
    return row.network.has_value();
  };
  auto asn_and_org = [&](std::size_t at) {
    if (!parse_asn(f[at], row.asn)) {
      message = "bad AS number " + shown(f[at]) + " in column " + std::to_string(at + 1);
      return false;
    }
    row.org = f[at + 1];
    return true;
  };
  auto country = [&](std::size_t at) {
    if (!parse_country(f[at], row.country)) {
      message = "bad country code " + shown(f[at]) + " in column " + std::to_string(at + 1) +
                " (expected two letters)";
      return false;
    }
    return true;
  };
  auto range = [&]() {
    if (!address(f[0], 1, row.first) || !address(f[1], 2, row.last)) return false;
    if (row.first.family() != row.last.family()) {
      message = "range " + f[0] + " - " + f[1] + " mixes IPv4 and IPv6";
      return false;
    }
    if (row.last < row.first) {
      message = "range ends before it starts (" + f[0] + " > " + f[1] + ")";
      return false;
    }
    return true;
  };
  row.network.reset();
  row.org.clear();
  row.country.clear();
  row.asn = 0;
  if (f.size() == 4 && !cidr_first) {
    row.kind = RangeRowKind::kAsnRange;
    return range() && asn_and_org(2);
  }
  if (f.size() == 3 && !cidr_first) {
    row.kind = RangeRowKind::kCountryRange;
    return range() && country(2);
  }
  if (f.size() == 3) {
    row.kind = RangeRowKind::kCidrAsn;
    return network(f[0]) && asn_and_org(1);
  }
  if (f.size() == 2) {
    row.kind = RangeRowKind::kCidrCountry;
    return network(f[0]) && country(1);
  }
  message = "expected start,end,asn,org or start,end,country or cidr,asn,org or cidr,country; got " +
            std::to_string(f.size()) + (f.size() == 1 ? " field" : " fields");
  return false;
}

bool looks_like_header(const std::vector<std::string>& f) {
  if (f.empty() || f[0].empty() || !is_letter(f[0][0])) return false;
  return !core::IpAddress::parse(f[0]) && !core::Cidr::parse(f[0]);
}

}  // namespace

bool parse_range_csv(std::string_view text, std::string_view name, const RangeRowSink& sink, std::string& error,
                     const RangeCsvLimits& limits) {
  CsvScanner scanner(text, limits);
  std::vector<std::string> fields;
  RangeRow row;
  std::string message;
  std::size_t rows = 0;
  bool first = true;
  for (;;) {
    std::size_t line = 0;
    const auto status = scanner.next(fields, line, message);
    if (status == CsvScanner::Status::kEnd) return true;
    if (status == CsvScanner::Status::kError) {
      error = std::string(name) + ":" + std::to_string(line) + ": " + message;
      return false;
    }
    if (first && looks_like_header(fields)) {
      first = false;
      continue;
    }
    first = false;
    if (!interpret(fields, row, message)) {
      error = std::string(name) + ":" + std::to_string(line) + ": " + message;
      return false;
    }
    if (++rows > limits.max_rows) {
      error = std::string(name) + ":" + std::to_string(line) + ": more than " + std::to_string(limits.max_rows) +
              " rows";
      return false;
    }
    row.line = line;
    if (!sink(row, error)) return false;
  }
}

bool read_range_csv(const std::string& path, const RangeRowSink& sink, std::string& error,
                    const RangeCsvLimits& limits) {
  std::string text;
  if (const std::string problem = core::read_input_file(path, limits.max_file_bytes, text); !problem.empty()) {
    error = path + ": " + problem;
    return false;
  }
  return parse_range_csv(text, path, sink, error, limits);
}

MmdbValue to_mmdb_record(const RangeRow& row) {
  if (!row.is_asn()) return MmdbValue{MmdbMap{{"country_code", MmdbValue{row.country}}}};
  MmdbMap m{{"autonomous_system_number", MmdbValue{row.asn}}};
  if (!row.org.empty()) m.push_back({"autonomous_system_organization", MmdbValue{row.org}});
  return MmdbValue{std::move(m)};
}

namespace {

// The same file, also when spelled differently (./x, a/../x, a symlink, a hard link).
bool same_file(const std::string& a, const std::string& b) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::equivalent(a, b, ec) && !ec) return true;
  ec.clear();
  const fs::path ca = fs::weakly_canonical(fs::absolute(a, ec), ec);
  if (ec) return fs::path(a).lexically_normal() == fs::path(b).lexically_normal();
  const fs::path cb = fs::weakly_canonical(fs::absolute(b, ec), ec);
  if (ec) return fs::path(a).lexically_normal() == fs::path(b).lexically_normal();
  return ca == cb;
}

}  // namespace

bool build_geodb(const std::vector<std::string>& csv_paths, const std::string& out_path, MmdbWriterOptions options,
                 std::string& error, GeodbBuildStats* stats) {
  if (csv_paths.empty()) {
    error = "no CSV files given";
    return false;
  }
  // write_file writes OUT.tmp and renames it over OUT: either would destroy an input.
  for (const auto& path : csv_paths) {
    for (const std::string& written : {out_path, out_path + ".tmp"}) {
      if (same_file(written, path)) {
        error = written + ": is the input " + path + " (--out must name another file)";
        return false;
      }
    }
  }
  const bool type_given = options.database_type != MmdbWriterOptions{}.database_type;
  const OverlapPolicy policy = options.overlap;
  // Overlaps are found below, naming both rows; the writer only ever sees them under kLaterWins.
  options.overlap = OverlapPolicy::kLaterWins;
  MmdbWriter writer(std::move(options));
  RangeOverlaps overlaps;
  GeodbBuildStats s;
  for (std::size_t i = 0; i < csv_paths.size(); ++i) {
    const std::string& path = csv_paths[i];
    const auto file = static_cast<std::uint32_t>(i);
    const auto sink = [&](const RangeRow& row, std::string& err) {
      const std::string origin = path + ":" + std::to_string(row.line);
      const MmdbValue record = to_mmdb_record(row);
      ++s.rows;
      ++(row.is_asn() ? s.asn_rows : s.country_rows);
      const auto line = static_cast<std::uint32_t>(row.line);
      if (row.network) {
        overlaps.add(*row.network, file, line);
        return writer.add_network(*row.network, record, origin, err);
      }
      overlaps.add(row.first, row.last, file, line);
      return writer.add_range(row.first, row.last, record, origin, err);
    };
    if (!read_range_csv(path, sink, error)) return false;
  }
  if (s.rows == 0) {
    error = "no ranges in " + std::to_string(csv_paths.size()) + (csv_paths.size() == 1 ? " file" : " files");
    return false;
  }
  const RangeOverlaps::Result found = overlaps.check(csv_paths);
  s.overlapping_rows = found.overlapping_rows;
  if (policy == OverlapPolicy::kReject && found.overlapping_rows > 0) {
    error = found.first_error;
    if (found.overlapping_rows > 1) error += " [" + std::to_string(found.overlapping_rows) + " overlapping rows in all]";
    return false;
  }
  if (!type_given) {
    writer.set_database_type(s.country_rows == 0  ? "flowaudit-ASN"
                             : s.asn_rows == 0    ? "flowaudit-Country"
                                                  : "flowaudit-ASN-Country");
  }
  if (!writer.write_file(out_path, error)) return false;
  s.networks = writer.network_count();
  s.records = writer.record_count();
  if (stats != nullptr) *stats = s;
  return true;
}

}  // namespace flowaudit::analysis::enrich
