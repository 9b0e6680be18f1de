// Finds overlapping address ranges among the rows given to `geodb build`, within one file and
// across files, so that an overlap is an error naming both rows (FILE:LINE each) instead of the
// tree silently keeping whichever row came last.
//
// Ranges are compared as the writer places them: IPv4 at ::a.b.c.d (so an IPv6 row covering ::/96
// overlaps IPv4 rows).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/ip_address.h"

namespace flowaudit::analysis::enrich {

class RangeOverlaps {
 public:
  // `file` indexes the file names given to check(); `line` is 1-based.
  void add(const core::IpAddress& first, const core::IpAddress& last, std::uint32_t file, std::uint32_t line);
  void add(const core::Cidr& network, std::uint32_t file, std::uint32_t line);

  struct Result {
    std::size_t overlapping_rows = 0;  // rows overlapping a row that starts before them (or with them)
    std::string first_error;           // one line, for the first overlap in address order; empty if none
  };
  [[nodiscard]] Result check(const std::vector<std::string>& files);

 private:
  struct Key {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    friend auto operator<=>(const Key&, const Key&) = default;
  };
  struct Span {
    Key first;
    Key last;
    std::uint32_t file = 0;
    std::uint32_t line = 0;
    bool v4 = false;
  };

  static Key key_of(const core::IpAddress& a);
  static std::string text_of(const Span& s);

  std::vector<Span> spans_;
};

}  // namespace flowaudit::analysis::enrich
