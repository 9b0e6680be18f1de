// Fuzz target: GeoLookup over an untrusted database file.
//
// The input bytes are the whole .mmdb file (written to a memfd, so libmaxminddb memory-maps it like
// a real file). Opening may fail with an error, which must name the file and be one line; when it
// opens, the metadata-derived fields are read and a fixed set of addresses (IPv4, IPv6,
// IPv4-mapped, special) is looked up, cached and uncached, which must agree.
//
// libmaxminddb 1.7 (Debian) leaks its entry-data pool when MMDB_open fails on bad metadata data
// (fixed upstream in maxmind/libmaxminddb#356); allocations during the open are hidden from
// LeakSanitizer so that the library's leak does not mask ours.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "analysis/enrich/geo_lookup.h"
#include "fuzz_check.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MMDB_FUZZ_LSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define MMDB_FUZZ_LSAN 1
#endif
#ifdef MMDB_FUZZ_LSAN
#include <sanitizer/lsan_interface.h>
#endif

namespace {

using flowaudit::analysis::enrich::GeoInfo;
using flowaudit::analysis::enrich::GeoLookup;
using flowaudit::analysis::enrich::kMaxGeoStringBytes;
using flowaudit::core::IpAddress;

constexpr std::size_t kMaxInput = 1 << 20;

void touch(const std::string& s) {
  FUZZ_CHECK(s.size() <= 4 * kMaxGeoStringBytes);
  flowaudit::fuzz::touch(reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

void check_info(const GeoInfo& g) {
  FUZZ_CHECK(g.country.empty() || g.country.size() == 2);
  FUZZ_CHECK(g.continent.empty() || g.continent.size() == 2);
  FUZZ_CHECK(g.city.size() <= kMaxGeoStringBytes);
  FUZZ_CHECK(g.as_org.size() <= kMaxGeoStringBytes);
  touch(g.city);
  touch(g.as_org);
  touch(g.country_source);
  touch(g.asn_source);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxInput) return 0;
  const int fd = memfd_create("mmdb_lookup_fuzz", MFD_CLOEXEC);
  if (fd < 0) return 0;
  std::size_t written = 0;
  while (written < size) {
    const ssize_t n = ::write(fd, data + written, size - written);
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  if (written != size) {
    ::close(fd);
    return 0;
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);

  GeoLookup geo(16);
  std::optional<std::string> err;
  {
#ifdef MMDB_FUZZ_LSAN
    __lsan::ScopedDisabler no_leak_reports;
#endif
    err = geo.add_database(path);
  }
  if (err) {
    FUZZ_CHECK(err->find(path) != std::string::npos);
    FUZZ_CHECK(err->find('\n') == std::string::npos);
    FUZZ_CHECK(geo.databases().empty());
  } else {
    FUZZ_CHECK(geo.databases().size() == 1);
    const auto& info = geo.databases()[0];
    touch(info.database_type);
    touch(info.description);
    touch(info.build_date);
    for (const char* text : {"8.8.8.8", "1.2.3.4", "255.255.255.254", "0.0.0.1", "2001:4860::8888",
                             "::ffff:47.92.1.1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "10.0.0.1", "::2"}) {
      const auto ip = IpAddress::parse(text);
      FUZZ_CHECK(ip.has_value());
      const GeoInfo a = geo.lookup(*ip);
      check_info(a);
      FUZZ_CHECK(geo.lookup(*ip) == a);
      FUZZ_CHECK(geo.lookup_uncached(*ip) == a);
    }
  }
  ::close(fd);
  return 0;
}
