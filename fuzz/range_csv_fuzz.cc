// Fuzz target: range CSVs (parse_range_csv) into the MMDB writer, and the written database read
// back through libmaxminddb.
//
// The input is parsed as one CSV file with small limits. Every error is one line starting with the
// file name. Rows go to a writer that lets later rows win and to one that rejects overlaps; the
// first writer's database is written to a private temporary file, opened with libmaxminddb, and
// both ends of every row must be found in it (a later row can replace an earlier row's record,
// never leave its addresses without one).
#include <maxminddb.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/enrich/mmdb_writer.h"
#include "analysis/enrich/range_csv.h"
#include "analysis/enrich/range_overlap.h"
#include "fuzz_check.h"

namespace {

using namespace flowaudit::analysis::enrich;

constexpr std::size_t kMaxNetworks = 4096;  // keeps one input fast: a range can split into 254 CIDRs

void check_error(const std::string& error) {
  FUZZ_CHECK(!error.empty());
  FUZZ_CHECK(error.find('\n') == std::string::npos);
}

bool found(MMDB_s& db, const flowaudit::core::IpAddress& a) {
  int gai = 0;
  int status = 0;
  const auto r = MMDB_lookup_string(&db, a.to_string().c_str(), &gai, &status);
  FUZZ_CHECK(gai == 0);
  FUZZ_CHECK(status == MMDB_SUCCESS);
  if (!r.found_entry) return false;
  MMDB_entry_data_list_s* list = nullptr;
  FUZZ_CHECK(MMDB_get_entry_data_list(const_cast<MMDB_entry_s*>(&r.entry), &list) == MMDB_SUCCESS);
  MMDB_free_entry_data_list(list);
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  RangeCsvLimits limits;
  limits.max_record_bytes = 512;
  limits.max_field_bytes = 128;
  limits.max_rows = 256;

  MmdbWriterOptions later_options;
  later_options.overlap = OverlapPolicy::kLaterWins;
  MmdbWriter later_wins(later_options);
  MmdbWriterOptions strict_options;
  strict_options.overlap = OverlapPolicy::kReject;
  MmdbWriter strict(strict_options);
  bool strict_ok = true;
  bool strict_overlap = false;
  // Fed the rows the strict writer saw: it must find an overlap exactly when the writer did.
  RangeOverlaps overlaps;
  std::vector<RangeRow> rows;
  std::string error;
  const bool parsed = parse_range_csv(
      text, "fuzz.csv",
      [&](const RangeRow& row, std::string& err) {
        FUZZ_CHECK(row.line >= 1);
        if (row.is_asn()) {
          FUZZ_CHECK(row.country.empty());
        } else {
          FUZZ_CHECK(row.country.size() == 2 && row.country[0] >= 'A' && row.country[0] <= 'Z');
        }
        if (!row.network) {
          FUZZ_CHECK(row.first.family() == row.last.family() && !(row.last < row.first));
          if (range_to_cidrs(row.first, row.last).size() + later_wins.network_count() > kMaxNetworks) return true;
        }
        const MmdbValue record = to_mmdb_record(row);
        const std::string origin = "fuzz.csv:" + std::to_string(row.line);
        std::string strict_error;
        if (strict_ok) {
          strict_ok = row.network ? strict.add_network(*row.network, record, origin, strict_error)
                                  : strict.add_range(row.first, row.last, record, origin, strict_error);
          if (!strict_ok) {
            check_error(strict_error);
            FUZZ_CHECK(strict_error.rfind(origin + ": ", 0) == 0);
            strict_overlap = strict_error.find("overlaps a network added before") != std::string::npos;
          }
          if (strict_ok || strict_overlap) {
            const auto line = static_cast<std::uint32_t>(row.line);
            if (row.network) {
              overlaps.add(*row.network, 0, line);
            } else {
              overlaps.add(row.first, row.last, 0, line);
            }
          }
        }
        const bool added = row.network ? later_wins.add_network(*row.network, record, origin, err)
                                       : later_wins.add_range(row.first, row.last, record, origin, err);
        if (!added) {
          check_error(err);
          FUZZ_CHECK(err.rfind(origin + ": ", 0) == 0);
          return true;  // keep going: the row is skipped
        }
        rows.push_back(row);
        return true;
      },
      error, limits);
  if (!parsed) {
    check_error(error);
    FUZZ_CHECK(error.rfind("fuzz.csv:", 0) == 0);
  }

  if (strict_ok) {
    std::string strict_error;
    FUZZ_CHECK(strict.build(strict_error).has_value());
  }
  if (strict_ok || strict_overlap) {
    const auto found_overlaps = overlaps.check({"fuzz.csv"});
    FUZZ_CHECK((found_overlaps.overlapping_rows > 0) == strict_overlap);
    FUZZ_CHECK(found_overlaps.first_error.empty() == !strict_overlap);
    if (strict_overlap) check_error(found_overlaps.first_error);
  }

  static const std::string path = "/tmp/range_csv_fuzz." + std::to_string(::getpid()) + ".mmdb";
  std::string write_error;
  FUZZ_CHECK(later_wins.write_file(path, write_error));
  MMDB_s db{};
  FUZZ_CHECK(MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db) == MMDB_SUCCESS);
  for (const auto& row : rows) {
    if (row.network) {
      FUZZ_CHECK(found(db, row.network->base()));
    } else {
      FUZZ_CHECK(found(db, row.first));
      FUZZ_CHECK(found(db, row.last));
    }
  }
  MMDB_close(&db);
  std::remove(path.c_str());
  return 0;
}
