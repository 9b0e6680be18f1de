#include "analysis/enrich/geo_lookup.h"
#include "analysis/enrich/data_dir.h"

#include <fcntl.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <initializer_list>
#include <string_view>
#include <system_error>

#include "analysis/enrich/mmdb_check.h"
#include "analysis/enrich/service_catalog.h"

namespace flowaudit::analysis::enrich {

struct GeoLookup::Database {
  MMDB_s mmdb{};
  bool open = false;
  std::string label;  // "<file name> (<database_type>)"

  Database() = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database() {
    if (open) MMDB_close(&mmdb);
  }
};

namespace {

using Path = std::initializer_list<const char*>;

// Resolves `path` (at most 4 keys) under `entry`; false when absent, damaged or of another type.
bool get_value(MMDB_entry_s entry, Path path, std::uint32_t want_type, MMDB_entry_data_s& out) {
  const char* keys[5] = {};
  std::size_t n = 0;
  for (const char* k : path) {
    if (n == 4) return false;
    keys[n++] = k;
  }
  out = MMDB_entry_data_s{};
  if (MMDB_aget_value(&entry, &out, keys) != MMDB_SUCCESS) return false;
  return out.has_data && out.type == want_type;
}

// MMDB strings are not NUL-terminated: copy exactly data_size bytes, capped.
std::string get_string(MMDB_entry_s entry, Path path) {
  MMDB_entry_data_s data;
  if (!get_value(entry, path, MMDB_DATA_TYPE_UTF8_STRING, data) || data.utf8_string == nullptr) return {};
  const std::size_t n = std::min<std::size_t>(data.data_size, kMaxGeoStringBytes);
  return std::string(data.utf8_string, n);
}

// Two ASCII letters, upper-cased; anything else (e.g. a damaged record) is not a country code.
std::string as_code(std::string s) {
  if (s.size() != 2) return {};
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c < 'A' || c > 'Z') return {};
  }
  return s;
}

std::optional<std::uint32_t> get_uint(MMDB_entry_s entry, Path path) {
  const char* keys[5] = {};
  std::size_t n = 0;
  for (const char* k : path) {
    if (n == 4) return std::nullopt;
    keys[n++] = k;
  }
  MMDB_entry_data_s d{};
  if (MMDB_aget_value(&entry, &d, keys) != MMDB_SUCCESS || !d.has_data) return std::nullopt;
  switch (d.type) {
    case MMDB_DATA_TYPE_UINT16: return d.uint16;
    case MMDB_DATA_TYPE_UINT32: return d.uint32;
    case MMDB_DATA_TYPE_UINT64:
      if (d.uint64 <= 0xFFFFFFFFu) return static_cast<std::uint32_t>(d.uint64);
      return std::nullopt;
    case MMDB_DATA_TYPE_INT32:
      if (d.int32 >= 0) return static_cast<std::uint32_t>(d.int32);
      return std::nullopt;
    case MMDB_DATA_TYPE_UTF8_STRING: {
      // ipinfo writes "AS15169".
      if (d.utf8_string == nullptr) return std::nullopt;
      std::string_view s(d.utf8_string, std::min<std::size_t>(d.data_size, 16));
      if (s.size() > 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's')) s.remove_prefix(2);
      if (s.empty() || s.size() > 10) return std::nullopt;
      std::uint64_t v = 0;
      for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
      }
      if (v > 0xFFFFFFFFu) return std::nullopt;
      return static_cast<std::uint32_t>(v);
    }
    default: return std::nullopt;
  }
}

struct Fields {
  std::string country;
  std::string continent;
  std::string city;
  std::uint32_t asn = 0;
  std::string as_org;
};

// Reads every shape we know; each path is type-checked, so a shape that does not apply is skipped.
Fields read_fields(MMDB_entry_s entry) {
  Fields f;
  f.country = as_code(get_string(entry, {"country", "iso_code"}));
  if (f.country.empty()) f.country = as_code(get_string(entry, {"country_code"}));
  if (f.country.empty()) f.country = as_code(get_string(entry, {"country"}));
  if (f.country.empty()) f.country = as_code(get_string(entry, {"registered_country", "iso_code"}));
  f.continent = as_code(get_string(entry, {"continent", "code"}));
  if (f.continent.empty()) f.continent = as_code(get_string(entry, {"continent_code"}));
  if (f.continent.empty()) f.continent = as_code(get_string(entry, {"continent"}));
  f.city = get_string(entry, {"city", "names", "en"});
  if (f.city.empty()) f.city = get_string(entry, {"city"});
  if (auto asn = get_uint(entry, {"autonomous_system_number"})) {
    f.asn = *asn;
  } else if (auto ipinfo_asn = get_uint(entry, {"asn"})) {
    f.asn = *ipinfo_asn;
  }
  f.as_org = get_string(entry, {"autonomous_system_organization"});
  if (f.as_org.empty()) f.as_org = get_string(entry, {"as_name"});
  return f;
}

bool has_key(MMDB_entry_s entry, Path path) {
  const char* keys[5] = {};
  std::size_t n = 0;
  for (const char* k : path) keys[n++] = k;
  MMDB_entry_data_s d{};
  return MMDB_aget_value(&entry, &d, keys) == MMDB_SUCCESS && d.has_data;
}

GeoSchema schema_from_record(MMDB_entry_s e) {
  MMDB_entry_data_s d{};
  if (has_key(e, {"autonomous_system_number"}) || has_key(e, {"autonomous_system_organization"})) {
    return GeoSchema::kAsn;
  }
  if (get_value(e, {"country"}, MMDB_DATA_TYPE_MAP, d) || get_value(e, {"continent"}, MMDB_DATA_TYPE_MAP, d) ||
      get_value(e, {"registered_country"}, MMDB_DATA_TYPE_MAP, d)) {
    return get_value(e, {"city"}, MMDB_DATA_TYPE_MAP, d) ? GeoSchema::kMaxMindCity : GeoSchema::kMaxMindCountry;
  }
  if (has_key(e, {"as_name"}) || has_key(e, {"asn"}) ||
      get_value(e, {"country"}, MMDB_DATA_TYPE_UTF8_STRING, d)) {
    return GeoSchema::kIpinfo;
  }
  if (has_key(e, {"country_code"})) return GeoSchema::kCountryCode;
  return GeoSchema::kUnknown;
}

// libmaxminddb skips unwanted map values by unbounded recursion: a record must pass our bounded
// check before any MMDB_aget_value reads it.
bool record_ok(const MMDB_entry_s& entry) {
  const MMDB_s* m = entry.mmdb;
  if (m == nullptr || m->data_section == nullptr) return false;
  return check_mmdb_value(std::span<const std::uint8_t>(m->data_section, m->data_section_size), entry.offset);
}

// Finds the first data record by a bounded depth-first walk of the search tree.
std::optional<MMDB_entry_s> first_record(const MMDB_s& mmdb) {
  constexpr int kMaxNodes = 4096;
  constexpr std::size_t kMaxStack = 160;
  std::uint32_t stack[kMaxStack];
  std::size_t top = 0;
  stack[top++] = 0;
  int visited = 0;
  while (top > 0 && visited < kMaxNodes) {
    const std::uint32_t node_number = stack[--top];
    ++visited;
    MMDB_search_node_s node{};
    if (MMDB_read_node(&mmdb, node_number, &node) != MMDB_SUCCESS) continue;
    if (node.left_record_type == MMDB_RECORD_TYPE_DATA && record_ok(node.left_record_entry)) {
      return node.left_record_entry;
    }
    if (node.right_record_type == MMDB_RECORD_TYPE_DATA && record_ok(node.right_record_entry)) {
      return node.right_record_entry;
    }
    // Right first on the stack, so the left (lower) half is walked first.
    if (node.right_record_type == MMDB_RECORD_TYPE_SEARCH_NODE && top < kMaxStack &&
        node.right_record < mmdb.metadata.node_count) {
      stack[top++] = static_cast<std::uint32_t>(node.right_record);
    }
    if (node.left_record_type == MMDB_RECORD_TYPE_SEARCH_NODE && top < kMaxStack &&
        node.left_record < mmdb.metadata.node_count) {
      stack[top++] = static_cast<std::uint32_t>(node.left_record);
    }
  }
  return std::nullopt;
}

bool contains_ci(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    bool eq = true;
    for (std::size_t j = 0; j < needle.size() && eq; ++j) {
      char a = hay[i + j];
      if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
      eq = a == needle[j];
    }
    if (eq) return true;
  }
  return false;
}

GeoSchema schema_from_type(std::string_view type) {
  if (contains_ci(type, "asn")) return GeoSchema::kAsn;
  if (contains_ci(type, "ipinfo")) return GeoSchema::kIpinfo;
  if (contains_ci(type, "geolite2") || contains_ci(type, "geoip2") || contains_ci(type, "dbip")) {
    return contains_ci(type, "city") ? GeoSchema::kMaxMindCity : GeoSchema::kMaxMindCountry;
  }
  return GeoSchema::kUnknown;
}

// ip-location-db's DB-IP files say only "country ipvAll" in their metadata, with no description:
// the file name (dbip-country.mmdb) is then the one hint left, and the licence needs it.
GeoProvider provider_of(std::string_view type, std::string_view description, std::string_view file_name) {
  if (contains_ci(type, "dbip") || contains_ci(type, "db-ip") || contains_ci(description, "db-ip") ||
      contains_ci(file_name, "dbip") || contains_ci(file_name, "db-ip")) {
    return GeoProvider::kDbIp;
  }
  if (contains_ci(type, "geolite") || contains_ci(type, "geoip") || contains_ci(description, "maxmind")) {
    return GeoProvider::kMaxMind;
  }
  if (contains_ci(type, "ipinfo") || contains_ci(description, "ipinfo")) return GeoProvider::kIpinfo;
  if (contains_ci(type, "ip-location-db") || contains_ci(description, "ip-location-db")) {
    return GeoProvider::kIpLocationDb;
  }
  return GeoProvider::kUnknown;
}

std::string attribution_for(GeoProvider p) {
  switch (p) {
    case GeoProvider::kDbIp: return "IP Geolocation by DB-IP (https://db-ip.com), licensed under CC BY 4.0";
    case GeoProvider::kMaxMind:
      return "This product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com";
    case GeoProvider::kIpinfo: return "IP address data powered by IPinfo (https://ipinfo.io)";
    case GeoProvider::kIpLocationDb: return "ip-location-db (https://github.com/sapics/ip-location-db)";
    case GeoProvider::kUnknown: break;
  }
  return {};
}

std::string date_of(std::uint64_t epoch) {
  if (epoch > 253402300799ULL) return {};  // after 9999-12-31
  const auto t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return {};
  char buf[16] = {};
  if (std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm) == 0) return {};
  return buf;
}

std::string bounded_copy(const char* s) {
  if (s == nullptr) return {};
  return std::string(s, strnlen(s, kMaxGeoStringBytes));
}

std::string description_of(const MMDB_metadata_s& m) {
  if (m.description.descriptions == nullptr) return {};
  std::string first;
  for (std::size_t i = 0; i < m.description.count; ++i) {
    const MMDB_description_s* d = m.description.descriptions[i];
    if (d == nullptr || d->description == nullptr) continue;
    if (d->language != nullptr && std::strcmp(d->language, "en") == 0) return bounded_copy(d->description);
    if (first.empty()) first = bounded_copy(d->description);
  }
  return first;
}

// Reads the metadata at the end of the file and checks the layout it describes, before libmaxminddb
// maps the file: MMDB_open itself walks the search tree of an IPv6 database, trusting node_count.
std::optional<std::string> precheck_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;  // MMDB_open reports it, with errno
  struct stat st {};
  std::optional<std::string> problem;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    problem = "not a regular file";
  } else {
    const auto size = static_cast<std::uint64_t>(st.st_size);
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(size, kMmdbMetadataMaxBytes));
    std::vector<std::uint8_t> tail(want);
    std::size_t got = 0;
    while (got < want) {
      const ssize_t n = ::pread(fd, tail.data() + got, want - got, static_cast<off_t>(size - want + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    if (got != want) {
      problem = "cannot read the metadata";
    } else {
      MmdbLayout layout;
      problem = check_mmdb_metadata(tail, size, layout);
    }
  }
  ::close(fd);
  return problem;
}

// The same layout checks on what libmaxminddb parsed and mapped (the file may have changed since).
std::optional<std::string> postcheck(const MMDB_s& m) {
  MmdbLayout layout;
  layout.file_size = m.file_size < 0 ? 0 : static_cast<std::uint64_t>(m.file_size);
  layout.node_count = m.metadata.node_count;
  layout.record_size = m.metadata.record_size;
  layout.ip_version = m.metadata.ip_version;
  layout.major_version = m.metadata.binary_format_major_version;
  if (m.metadata_section == nullptr || m.file_content == nullptr || m.metadata_section < m.file_content) {
    return "metadata outside the file";
  }
  layout.metadata_offset = static_cast<std::uint64_t>(m.metadata_section - m.file_content);
  return check_mmdb_layout(layout);
}

std::size_t round_up_pow2(std::size_t n) {
  if (n == 0) return 0;
  std::size_t p = 1;
  while (p < n && p < (std::size_t{1} << 24)) p <<= 1;
  return p;
}

}  // namespace

std::string_view geo_schema_name(GeoSchema schema) noexcept {
  switch (schema) {
    case GeoSchema::kUnknown: return "unknown";
    case GeoSchema::kMaxMindCountry: return "maxmind-country";
    case GeoSchema::kMaxMindCity: return "maxmind-city";
    case GeoSchema::kAsn: return "asn";
    case GeoSchema::kCountryCode: return "country-code";
    case GeoSchema::kIpinfo: return "ipinfo";
  }
  return "unknown";
}

std::string_view geo_provider_name(GeoProvider provider) noexcept {
  switch (provider) {
    case GeoProvider::kUnknown: return "unknown";
    case GeoProvider::kMaxMind: return "maxmind";
    case GeoProvider::kDbIp: return "db-ip";
    case GeoProvider::kIpLocationDb: return "ip-location-db";
    case GeoProvider::kIpinfo: return "ipinfo";
  }
  return "unknown";
}

GeoLookup::GeoLookup(std::size_t cache_entries) : slots_(round_up_pow2(cache_entries), 0) {}
GeoLookup::~GeoLookup() = default;
GeoLookup::GeoLookup(GeoLookup&&) noexcept = default;
GeoLookup& GeoLookup::operator=(GeoLookup&&) noexcept = default;

std::optional<std::string> GeoLookup::add_database(const std::string& path) {
  if (auto problem = precheck_file(path)) return "geoip database " + path + ": " + *problem;
  auto db = std::make_unique<Database>();
  errno = 0;
  const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db->mmdb);
  const int open_errno = errno;
  if (status != MMDB_SUCCESS) {
    std::string msg = "geoip database " + path + ": " + MMDB_strerror(status);
    if ((status == MMDB_IO_ERROR || status == MMDB_FILE_OPEN_ERROR) && open_errno != 0) {
      msg += std::string(" (") + std::generic_category().message(open_errno) + ")";
    }
    return msg;
  }
  db->open = true;
  if (auto problem = postcheck(db->mmdb)) return "geoip database " + path + ": " + *problem;
  const MMDB_metadata_s& m = db->mmdb.metadata;
  GeoDatabaseInfo info;
  info.path = path;
  info.database_type = bounded_copy(m.database_type);
  info.ip_version = m.ip_version;
  info.build_epoch = m.build_epoch;
  info.build_date = date_of(m.build_epoch);
  info.description = description_of(m);

  // The record shape decides; the metadata name is the fallback for an empty database.
  const auto record = first_record(db->mmdb);
  info.schema = record ? schema_from_record(*record) : GeoSchema::kUnknown;
  if (info.schema == GeoSchema::kUnknown) info.schema = schema_from_type(info.database_type);
  if (record) {
    const Fields f = read_fields(*record);
    info.has_country = !f.country.empty();
    info.has_city = !f.city.empty();
    info.has_asn = f.asn != 0 || !f.as_org.empty();
  }
  switch (info.schema) {
    case GeoSchema::kMaxMindCity: info.has_city = true; [[fallthrough]];
    case GeoSchema::kMaxMindCountry:
    case GeoSchema::kCountryCode: info.has_country = true; break;
    case GeoSchema::kAsn: info.has_asn = true; break;
    case GeoSchema::kIpinfo:
    case GeoSchema::kUnknown: break;
  }
  const std::string file_name = std::filesystem::path(path).filename().string();
  info.provider = provider_of(info.database_type, info.description, file_name);
  info.attribution = attribution_for(info.provider);

  db->label = file_name + " (" + info.database_type + ")";
  dbs_.push_back(std::move(db));
  infos_.push_back(std::move(info));
  if (!entries_.empty()) {  // answers cached before this database are stale
    std::fill(slots_.begin(), slots_.end(), 0);
    entries_.clear();
  }
  return std::nullopt;
}

GeoInfo GeoLookup::lookup_uncached(const core::IpAddress& ip) const {
  GeoInfo out;
  out.special = classify_special(ip);
  if (out.special != SpecialRange::kNone) return out;
  const core::IpAddress a = unmap_ipv4(ip);

  sockaddr_storage ss{};
  if (a.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, a.bytes().data(), 4);
  } else if (a.is_v6()) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, a.bytes().data(), 16);
  } else {
    return out;
  }

  for (const auto& db : dbs_) {
    int mmdb_error = MMDB_SUCCESS;
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&db->mmdb, reinterpret_cast<const sockaddr*>(&ss), &mmdb_error);
    if (mmdb_error != MMDB_SUCCESS || !r.found_entry) continue;  // e.g. IPv6 in an IPv4-only database
    if (!record_ok(r.entry)) continue;  // damaged: no fields from it
    Fields f = read_fields(r.entry);
    // Continent and city come with the country that answered, so that they never disagree.
    if (out.country_source.empty()) {
      if (!f.country.empty()) {
        out.country = std::move(f.country);
        out.country_source = db->label;
        if (!f.continent.empty()) out.continent = std::move(f.continent);
        if (!f.city.empty()) out.city = std::move(f.city);
      } else {
        if (out.continent.empty()) out.continent = std::move(f.continent);
        if (out.city.empty()) out.city = std::move(f.city);
      }
    }
    if (out.asn == 0 && out.as_org.empty() && (f.asn != 0 || !f.as_org.empty())) {
      out.asn = f.asn;
      out.as_org = std::move(f.as_org);
      out.asn_source = db->label;
    }
  }
  return out;
}

GeoInfo GeoLookup::lookup(const core::IpAddress& ip) {
  if (slots_.empty()) {
    ++misses_;
    return lookup_uncached(ip);
  }
  const std::size_t slot = static_cast<std::size_t>(ip.hash()) & (slots_.size() - 1);
  const std::uint32_t idx = slots_[slot];
  if (idx != 0 && entries_[idx - 1].key == ip) {
    ++hits_;
    return entries_[idx - 1].value;
  }
  ++misses_;
  GeoInfo info = lookup_uncached(ip);
  if (idx != 0) {
    entries_[idx - 1] = CacheEntry{ip, info};
  } else {
    entries_.push_back(CacheEntry{ip, info});
    slots_[slot] = static_cast<std::uint32_t>(entries_.size());
  }
  return info;
}

GeoipSearchEnv GeoipSearchEnv::from_process() {
  GeoipSearchEnv env;
  if (const char* d = std::getenv("FLOWAUDIT_GEOIP_DIR"); d != nullptr && *d != '\0') env.env_dir = d;
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') env.home = h;
  // find_data_dir looks beside the executable (and at FLOWAUDIT_DATA_DIR), never in the cwd.
  env.data_dir = find_data_dir();
  return env;
}

namespace {

std::vector<std::string> mmdb_files_in(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return out;
  constexpr std::size_t kMaxFiles = 64;
  for (const std::filesystem::directory_iterator end; it != end && out.size() < kMaxFiles; it.increment(ec)) {
    if (ec) break;
    const auto& p = it->path();
    std::error_code type_ec;
    if (p.extension() == ".mmdb" && it->is_regular_file(type_ec)) out.push_back(p.string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<std::string> find_default_databases(const GeoipSearchEnv& env) {
  if (env.env_dir) return mmdb_files_in(*env.env_dir);
  std::vector<std::filesystem::path> dirs;
  if (env.home) dirs.push_back(*env.home / ".local/share/flowaudit/geoip");
  dirs.push_back(env.system_dir);
  if (env.data_dir) dirs.push_back(*env.data_dir / "geoip");
  for (const auto& d : dirs) {
    auto files = mmdb_files_in(d);
    if (!files.empty()) return files;
  }
  return {};
}

}  // namespace flowaudit::analysis::enrich
