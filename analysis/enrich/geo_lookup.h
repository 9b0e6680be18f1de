// Geolocation and AS lookups over one or more memory-mapped MMDB databases (libmaxminddb).
//
// Databases are opened in the order given; for each field (country, continent, city, ASN, AS
// organisation) the first database that has it for the address answers, and the answering file is
// recorded. The schema of each file is recognised from its metadata (database_type) and from the
// shape of a record: MaxMind GeoIP2/GeoLite2 and DB-IP (country.iso_code, continent.code,
// city.names.en, registered_country), ASN databases (autonomous_system_number/_organization),
// ip-location-db (top-level country_code, city) and ipinfo (country/country_code, asn "AS123",
// as_name). Every value read from a file is type-checked and length-bounded before use: database
// files are untrusted input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "analysis/enrich/special_ranges.h"
#include "core/ip_address.h"

namespace flowaudit::analysis::enrich {

// The record shape a database was recognised as.
enum class GeoSchema : std::uint8_t {
  kUnknown = 0,
  kMaxMindCountry,  // country.iso_code, continent.code (GeoIP2/GeoLite2 Country, DB-IP Country Lite)
  kMaxMindCity,     // as kMaxMindCountry plus city.names.en
  kAsn,             // autonomous_system_number, autonomous_system_organization
  kCountryCode,     // ip-location-db: top-level country_code (and city as a plain string)
  kIpinfo,          // ipinfo: top-level country or country_code, asn "AS123", as_name
};

[[nodiscard]] std::string_view geo_schema_name(GeoSchema schema) noexcept;

// Who published a database, for the attribution its licence asks for: from database_type, the
// description, and as a last hint the file name (ip-location-db's dbip-*.mmdb carry no other).
enum class GeoProvider : std::uint8_t { kUnknown = 0, kMaxMind, kDbIp, kIpLocationDb, kIpinfo };

[[nodiscard]] std::string_view geo_provider_name(GeoProvider provider) noexcept;

struct GeoDatabaseInfo {
  std::string path;
  std::string database_type;  // metadata database_type, as written in the file
  GeoSchema schema = GeoSchema::kUnknown;
  GeoProvider provider = GeoProvider::kUnknown;
  bool has_country = false;
  bool has_city = false;
  bool has_asn = false;
  std::uint16_t ip_version = 0;  // 4 or 6
  std::uint64_t build_epoch = 0;
  std::string build_date;   // YYYY-MM-DD (UTC) of build_epoch
  std::string description;  // metadata description.en (or the first language), may be empty
  std::string attribution;  // what the report must print for this file's licence; may be empty
};

struct GeoInfo {
  SpecialRange special = SpecialRange::kNone;  // set: no database was consulted
  std::string country;    // ISO 3166 alpha-2, upper case; empty when unknown
  std::string continent;  // two-letter continent code (EU, NA, ...); empty when unknown
  std::string city;       // English name; empty when unknown
  std::uint32_t asn = 0;  // 0: none
  std::string as_org;
  std::string country_source;  // "<file name> (<database_type>)" of the database that gave country
  std::string asn_source;      // likewise for asn / as_org

  [[nodiscard]] bool empty() const noexcept {
    return special == SpecialRange::kNone && country.empty() && continent.empty() && city.empty() &&
           asn == 0 && as_org.empty();
  }
  friend bool operator==(const GeoInfo&, const GeoInfo&) = default;
};

// Limits on what is copied out of a database record.
inline constexpr std::size_t kMaxGeoStringBytes = 256;
inline constexpr std::size_t kDefaultGeoCacheEntries = 65536;

class GeoLookup {
 public:
  // `cache_entries` is rounded up to a power of two; 0 disables the cache.
  explicit GeoLookup(std::size_t cache_entries = kDefaultGeoCacheEntries);
  ~GeoLookup();
  GeoLookup(GeoLookup&&) noexcept;
  GeoLookup& operator=(GeoLookup&&) noexcept;
  GeoLookup(const GeoLookup&) = delete;
  GeoLookup& operator=(const GeoLookup&) = delete;

  // Memory-maps one database. On failure returns a one-line error naming the file (missing,
  // unreadable, not an MMDB, corrupt metadata) and leaves the databases already open untouched.
  // Clears the cache.
  [[nodiscard]] std::optional<std::string> add_database(const std::string& path);

  [[nodiscard]] std::span<const GeoDatabaseInfo> databases() const noexcept { return infos_; }

  // What the databases say about `ip`. Special ranges are answered without a lookup; IPv4-mapped
  // IPv6 is looked up as IPv4. Never throws on database content; a damaged record yields empty
  // fields.
  [[nodiscard]] GeoInfo lookup(const core::IpAddress& ip);
  [[nodiscard]] GeoInfo lookup_uncached(const core::IpAddress& ip) const;

  [[nodiscard]] std::uint64_t cache_hits() const noexcept { return hits_; }
  [[nodiscard]] std::uint64_t cache_misses() const noexcept { return misses_; }

 private:
  struct Database;
  struct CacheEntry {
    core::IpAddress key;
    GeoInfo value;
  };

  std::vector<std::unique_ptr<Database>> dbs_;
  std::vector<GeoDatabaseInfo> infos_;
  // Direct-mapped cache: slots_ holds 1 + an index into entries_ (0 = empty). entries_ grows with
  // use up to slots_.size(); a colliding address overwrites the entry in its slot.
  std::vector<std::uint32_t> slots_;
  std::vector<CacheEntry> entries_;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
};

// Where default databases are looked for. FLOWAUDIT_GEOIP_DIR, when set, is the only place;
// otherwise the first of ~/.local/share/flowaudit/geoip, /usr/share/flowaudit/geoip and geoip/ in
// the data directory (find_data_dir: never the working directory, where an untrusted checkout could
// plant a database that moves every server) that holds at least one *.mmdb file.
struct GeoipSearchEnv {
  std::optional<std::filesystem::path> env_dir;  // FLOWAUDIT_GEOIP_DIR
  std::optional<std::filesystem::path> home;     // HOME
  std::filesystem::path system_dir = "/usr/share/flowaudit/geoip";
  std::filesystem::path checkout_dir;  // <data dir>/geoip; empty, or relative: not searched

  [[nodiscard]] static GeoipSearchEnv from_process();
};

// Every *.mmdb in the chosen directory, sorted by name (the order databases are consulted in).
// Explicit --geoip-db paths replace this list entirely.
[[nodiscard]] std::vector<std::string> find_default_databases(
    const GeoipSearchEnv& env = GeoipSearchEnv::from_process());

}  // namespace flowaudit::analysis::enrich
