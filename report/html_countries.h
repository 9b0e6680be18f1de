// Countries for the HTML report's map and charts: English short names and an approximate centre
// (latitude, longitude in degrees) per ISO 3166-1 alpha-2 code. The centres are rough, written for
// placing one circle per country on a small world map; they are not for measuring anything.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace flowaudit::report {

struct CountryInfo {
  std::string_view code;  // ISO 3166-1 alpha-2, upper case ("XK" Kosovo and "EU" are included too)
  std::string_view name;
  double lat = 0;
  double lon = 0;
};

// The country for an upper-case alpha-2 code, or nullopt.
[[nodiscard]] std::optional<CountryInfo> find_country(std::string_view code) noexcept;

// Coarse outlines of the land masses, as closed polygons of (longitude, latitude) points: enough
// for a reader to recognise the continents behind the circles, nothing more.
struct LandOutline {
  std::span<const double> lon_lat;  // x0, y0, x1, y1, ...
  bool water = false;               // an inland sea drawn over the land around it
};
[[nodiscard]] std::span<const LandOutline> land_outlines() noexcept;

}  // namespace flowaudit::report
