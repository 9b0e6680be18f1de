// Reads the address-range CSVs published by ip-location-db and plain CIDR lists, and turns them
// into MMDB files (`flowaudit geodb build`).
//
// Row shapes, told apart by field count and by a '/' in the first field:
//   start,end,asn,org     e.g. 1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."   (asn-ipv4.csv)
//   start,end,country     e.g. 1.0.0.0,1.0.0.255,AU                         (*-country-ipv4.csv)
//   cidr,asn,org          e.g. 2600:9000::/28,16509,AMAZON-02
//   cidr,country          e.g. 2a02:8108::/32,DE
// Quoting follows RFC 4180 ("" inside quotes is a quote; quoted fields may hold commas and line
// breaks). Blank lines and lines starting with '#' are skipped, as is a first line whose first
// field is not an address (a header). The numeric-address files (*-num.csv) are not read.
// Errors are one line, "FILE:LINE: message", LINE being where the record starts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/enrich/mmdb_writer.h"
#include "core/ip_address.h"

namespace flowaudit::analysis::enrich {

enum class RangeRowKind : std::uint8_t { kAsnRange, kCountryRange, kCidrAsn, kCidrCountry };

struct RangeRow {
  RangeRowKind kind = RangeRowKind::kAsnRange;
  core::IpAddress first;               // range rows
  core::IpAddress last;
  std::optional<core::Cidr> network;   // CIDR rows
  std::uint32_t asn = 0;               // ASN rows
  std::string org;                     // ASN rows; may be empty
  std::string country;                 // country rows: two upper-case letters
  std::size_t line = 0;                // where the record starts, 1-based

  [[nodiscard]] bool is_asn() const noexcept {
    return kind == RangeRowKind::kAsnRange || kind == RangeRowKind::kCidrAsn;
  }
};

struct RangeCsvLimits {
  std::size_t max_file_bytes = std::size_t{1} << 30;
  std::size_t max_record_bytes = 4096;  // one record, quoted line breaks included
  std::size_t max_fields = 8;
  std::size_t max_field_bytes = 1024;
  std::size_t max_rows = 20'000'000;
};

// Called for each row; returning false stops the parse (the sink sets `error`, whole message).
using RangeRowSink = std::function<bool(const RangeRow& row, std::string& error)>;

// Parses CSV text; `name` is the file name used in messages.
bool parse_range_csv(std::string_view text, std::string_view name, const RangeRowSink& sink, std::string& error,
                     const RangeCsvLimits& limits = {});
// Reads a whole file (at most limits.max_file_bytes) and parses it.
bool read_range_csv(const std::string& path, const RangeRowSink& sink, std::string& error,
                    const RangeCsvLimits& limits = {});

// The record a row becomes: {autonomous_system_number, autonomous_system_organization} (the
// GeoLite2-ASN keys; the organisation left out when empty) or {country_code} (ip-location-db).
MmdbValue to_mmdb_record(const RangeRow& row);

struct GeodbBuildStats {
  std::size_t rows = 0;
  std::size_t asn_rows = 0;
  std::size_t country_rows = 0;
  std::size_t networks = 0;
  std::size_t records = 0;
  std::size_t overlapping_rows = 0;  // rows overlapping another (kLaterWins only: kReject fails on them)
};

// `flowaudit geodb build --csv FILE... --out FILE.mmdb`: every row of every file, in order, into one
// database. The database_type, unless the caller set one other than the default "flowaudit", is
// "flowaudit-ASN", "flowaudit-Country" or "flowaudit-ASN-Country" after what the rows held.
// Rows whose ranges overlap (within a file or across files, exact duplicates included) are an error
// naming both FILE:LINEs under OverlapPolicy::kReject (the default); under kLaterWins the later row
// wins where they overlap and the count is in stats. An --out that is one of the inputs (or whose
// temporary OUT.tmp is) is refused before anything is read.
bool build_geodb(const std::vector<std::string>& csv_paths, const std::string& out_path, MmdbWriterOptions options,
                 std::string& error, GeodbBuildStats* stats = nullptr);

}  // namespace flowaudit::analysis::enrich
