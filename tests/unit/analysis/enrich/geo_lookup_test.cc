#include "analysis/enrich/geo_lookup.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "unit/analysis/enrich/geo_test_mmdb.h"
#include "unit/temp_dir.h"

using namespace flowaudit::analysis::enrich;
using flowaudit::core::IpAddress;
using flowaudit::test::MmdbBuilder;
using flowaudit::test::MmdbValue;

namespace {

using Map = std::vector<std::pair<std::string, MmdbValue>>;

MmdbValue names(const std::string& en) { return MmdbValue::map({{"en", MmdbValue::str(en)}}); }

MmdbValue maxmind_country(const std::string& iso, const std::string& continent) {
  return MmdbValue::map(Map{
      {"continent", MmdbValue::map({{"code", MmdbValue::str(continent)}, {"geoname_id", MmdbValue::u32(6255149)}})},
      {"country", MmdbValue::map({{"iso_code", MmdbValue::str(iso)}, {"names", names(iso + "-name")}})},
      {"registered_country", MmdbValue::map({{"iso_code", MmdbValue::str(iso)}})},
  });
}

MmdbValue maxmind_city(const std::string& iso, const std::string& continent, const std::string& city) {
  return MmdbValue::map(Map{
      {"city", MmdbValue::map({{"names", names(city)}})},
      {"continent", MmdbValue::map({{"code", MmdbValue::str(continent)}})},
      {"country", MmdbValue::map({{"iso_code", MmdbValue::str(iso)}})},
  });
}

MmdbValue asn(std::uint32_t number, const std::string& org) {
  return MmdbValue::map(Map{{"autonomous_system_number", MmdbValue::u32(number)},
                            {"autonomous_system_organization", MmdbValue::str(org)}});
}

std::vector<std::uint8_t> country_db(const std::string& type = "GeoLite2-Country",
                                     const std::string& description = "GeoLite2 Country database") {
  MmdbBuilder b(type, 6, description);
  CHECK(b.insert("8.8.8.0/24", maxmind_country("US", "NA")));
  CHECK(b.insert("2001:4860::/32", maxmind_country("US", "NA")));
  CHECK(b.insert("47.92.0.0/14", maxmind_country("CN", "AS")));
  CHECK(b.insert("2a00:1450::/32", maxmind_country("IE", "EU")));
  // Anycast-style record with only registered_country.
  CHECK(b.insert("1.1.1.0/24", MmdbValue::map(Map{{"registered_country",
                                                     MmdbValue::map({{"iso_code", MmdbValue::str("AU")}})}})));
  return b.build();
}

std::vector<std::uint8_t> city_db() {
  MmdbBuilder b("GeoLite2-City", 6, "GeoLite2 City database");
  CHECK(b.insert("81.2.69.0/24", maxmind_city("GB", "EU", "London")));
  CHECK(b.insert("2a02:ff0::/32", maxmind_city("DE", "EU", "Berlin")));
  return b.build();
}

std::vector<std::uint8_t> asn_db() {
  MmdbBuilder b("GeoLite2-ASN", 6, "GeoLite2 ASN database");
  CHECK(b.insert("8.8.8.0/24", asn(15169, "GOOGLE")));
  CHECK(b.insert("2001:4860::/32", asn(15169, "GOOGLE")));
  CHECK(b.insert("47.92.0.0/14", asn(37963, "Hangzhou Alibaba Advertising Co.,Ltd.")));
  return b.build();
}

// ip-location-db publishes IPv4-only files with a flat country_code.
std::vector<std::uint8_t> iplocation_db() {
  MmdbBuilder b("ip-location-db-asn-country", 4, "ip-location-db asn-country");
  CHECK(b.insert("8.8.8.0/24", MmdbValue::map(Map{{"country_code", MmdbValue::str("US")}})));
  CHECK(b.insert("47.92.0.0/14", MmdbValue::map(Map{{"country_code", MmdbValue::str("CN")}})));
  return b.build();
}

std::vector<std::uint8_t> ipinfo_db() {
  MmdbBuilder b("ipinfo country_asn.mmdb", 6, "IPinfo Country ASN");
  CHECK(b.insert("9.9.9.0/24", MmdbValue::map(Map{{"as_name", MmdbValue::str("Quad9")},
                                                   {"asn", MmdbValue::str("AS19281")},
                                                   {"continent", MmdbValue::str("EU")},
                                                   {"country", MmdbValue::str("CH")}})));
  return b.build();
}

// Values of the wrong type under the keys we read.
std::vector<std::uint8_t> weird_db() {
  MmdbBuilder b("GeoLite2-Country", 6);
  CHECK(b.insert("8.8.8.0/24", MmdbValue::map(Map{{"country", MmdbValue::map({{"iso_code", MmdbValue::u32(7)}})},
                                                   {"autonomous_system_number", MmdbValue::str("x")}})));
  CHECK(b.insert("9.9.9.0/24", MmdbValue::map(Map{{"country_code", MmdbValue::str("USA")}})));
  CHECK(b.insert("4.4.4.0/24", MmdbValue::str("not a map")));
  CHECK(b.insert("5.5.5.0/24", MmdbValue::map(Map{{"autonomous_system_organization",
                                                   MmdbValue::str(std::string(5000, 'x'))}})));
  return b.build();
}

IpAddress ip(const char* text) {
  const auto a = IpAddress::parse(text);
  REQUIRE(a.has_value());
  return *a;
}

struct Fixtures {
  flowaudit::test::TempDir dir;
  std::string country = dir.write("country.mmdb", country_db());
  std::string city = dir.write("city.mmdb", city_db());
  std::string asn = dir.write("asn.mmdb", asn_db());
  std::string iplocation = dir.write("iplocation.mmdb", iplocation_db());
  std::string ipinfo = dir.write("ipinfo.mmdb", ipinfo_db());
  std::string dbip = dir.write("dbip.mmdb", country_db("DBIP-Country-Lite", "dbip-country-lite"));
};

void open_ok(GeoLookup& g, const std::string& path) {
  const auto err = g.add_database(path);
  INFO(err.value_or(""));
  REQUIRE_FALSE(err.has_value());
}

// Runs a command and returns its standard output; nullopt when it could not run.
std::optional<std::string> run(const std::string& cmd) {
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return std::nullopt;
  std::string out;
  char buf[512];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  ::pclose(p);  // mmdblookup exits non-zero when the address is not found
  return out;
}

bool have_mmdblookup() { return std::system("command -v mmdblookup >/dev/null 2>&1") == 0; }

// `mmdblookup --file F --ip A path...` prints e.g. `  "US" <utf8_string>` or `  15169 <uint32>`.
std::string mmdblookup_value(const std::string& file, const char* addr, const std::string& path) {
  const auto out = run("mmdblookup --file '" + file + "' --ip " + std::string(addr) + " " + path + " 2>/dev/null");
  if (!out) return "<error>";
  const auto lt = out->find(" <");
  if (lt == std::string::npos) return "<none>";
  std::string v = out->substr(0, lt);
  const auto first = v.find_first_not_of(" \n\t");
  v = first == std::string::npos ? "" : v.substr(first);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  return v;
}

}  // namespace

TEST_SUITE("analysis.enrich.geo_lookup") {
  TEST_CASE("IPv4 and IPv6 lookups in a MaxMind country database") {
    Fixtures fx;
    GeoLookup g;
    open_ok(g, fx.country);
    const GeoInfo v4 = g.lookup(ip("8.8.8.8"));
    CHECK(v4.country == "US");
    CHECK(v4.continent == "NA");
    CHECK(v4.city.empty());
    CHECK(v4.asn == 0);
    CHECK(v4.country_source == "country.mmdb (GeoLite2-Country)");
    CHECK(v4.asn_source.empty());
    CHECK(v4.special == SpecialRange::kNone);
    CHECK(g.lookup(ip("2001:4860:4860::8888")).country == "US");
    CHECK(g.lookup(ip("47.95.1.2")).country == "CN");
    CHECK(g.lookup(ip("47.95.1.2")).continent == "AS");
    CHECK(g.lookup(ip("2a00:1450:4001::1")).country == "IE");
    // registered_country is the fallback when a record has no country.
    CHECK(g.lookup(ip("1.1.1.1")).country == "AU");
  }

  TEST_CASE("IPv4-mapped IPv6 is looked up as IPv4") {
    Fixtures fx;
    GeoLookup g;
    open_ok(g, fx.iplocation);  // IPv4-only: a plain IPv6 lookup cannot answer
    CHECK(g.lookup(ip("::ffff:8.8.8.8")).country == "US");
    CHECK(g.lookup(ip("::ffff:8.8.8.8")) == g.lookup(ip("8.8.8.8")));
    CHECK(g.lookup(ip("2001:4860::1")).empty());
  }

  TEST_CASE("special ranges are answered without a database") {
    Fixtures fx;
    GeoLookup g;
    open_ok(g, fx.country);
    for (const char* a : {"10.1.2.3", "192.168.0.10", "100.64.1.1", "127.0.0.1", "169.254.1.1", "224.0.0.251",
                          "192.0.2.1", "fd00::1", "fe80::1", "2001:db8::1", "::ffff:10.0.0.1", "::",
                          "255.255.255.255"}) {
      const GeoInfo info = g.lookup(ip(a));
      INFO(std::string(a));
      CHECK(info.special != SpecialRange::kNone);
      CHECK(info.country.empty());
      CHECK(info.country_source.empty());
    }
    CHECK(g.lookup(ip("100.64.0.1")).special == SpecialRange::kCgnat);
    GeoLookup none;
    CHECK(none.lookup(ip("10.0.0.1")).special == SpecialRange::kPrivate);
    CHECK(none.lookup(ip("8.8.8.8")).empty());
  }

  TEST_CASE("an address the database does not have gives empty fields") {
    Fixtures fx;
    GeoLookup g;
    open_ok(g, fx.country);
    open_ok(g, fx.asn);
    const GeoInfo info = g.lookup(ip("5.6.7.8"));
    CHECK(info.empty());
    CHECK(info.country_source.empty());
    CHECK(info.asn_source.empty());
    CHECK(g.lookup(ip("2600::1")).empty());
  }

  TEST_CASE("country and ASN databases combined") {
    Fixtures fx;
    GeoLookup g;
    open_ok(g, fx.asn);
    open_ok(g, fx.country);
    const GeoInfo a = g.lookup(ip("47.92.1.1"));
    CHECK(a.country == "CN");
    CHECK(a.asn == 37963);
    CHECK(a.as_org == "Hangzhou Alibaba Advertising Co.,Ltd.");
    CHECK(a.country_source == "country.mmdb (GeoLite2-Country)");
    CHECK(a.asn_source == "asn.mmdb (GeoLite2-ASN)");
    const GeoInfo b = g.lookup(ip("2001:4860::8888"));
    CHECK(b.country == "US");
    CHECK(b.asn == 15169);
    CHECK(b.as_org == "GOOGLE");
    // Country only in one of them.
    const GeoInfo c = g.lookup(ip("2a00:1450::1"));
    CHECK(c.country == "IE");
    CHECK(c.asn == 0);
    CHECK(c.asn_source.empty());
  }

  TEST_CASE("the first database with a country answers; city comes with it") {
    Fixtures fx;
    GeoLookup g;
    open_ok(g, fx.city);
    open_ok(g, fx.country);
    const GeoInfo london = g.lookup(ip("81.2.69.160"));
    CHECK(london.country == "GB");
    CHECK(london.city == "London");
    CHECK(london.continent == "EU");
    CHECK(london.country_source == "city.mmdb (GeoLite2-City)");
    const GeoInfo berlin = g.lookup(ip("2a02:ff0::1"));
    CHECK(berlin.city == "Berlin");
    CHECK(berlin.country == "DE");
    const GeoInfo us = g.lookup(ip("8.8.8.8"));
    CHECK(us.country == "US");
    CHECK(us.city.empty());
    CHECK(us.country_source == "country.mmdb (GeoLite2-Country)");
  }

  TEST_CASE("schema, provider, build date and attribution") {
    Fixtures fx;
    GeoLookup g;
    open_ok(g, fx.country);
    open_ok(g, fx.city);
    open_ok(g, fx.asn);
    open_ok(g, fx.iplocation);
    open_ok(g, fx.ipinfo);
    open_ok(g, fx.dbip);
    const auto dbs = g.databases();
    REQUIRE(dbs.size() == 6);
    CHECK(dbs[0].schema == GeoSchema::kMaxMindCountry);
    CHECK(dbs[0].provider == GeoProvider::kMaxMind);
    CHECK(dbs[0].has_country);
    CHECK_FALSE(dbs[0].has_asn);
    CHECK(dbs[0].database_type == "GeoLite2-Country");
    CHECK(dbs[0].description == "GeoLite2 Country database");
    CHECK(dbs[0].build_epoch == 1767225600);
    CHECK(dbs[0].build_date == "2026-01-01");
    CHECK(dbs[0].ip_version == 6);
    CHECK(dbs[0].attribution.find("MaxMind") != std::string::npos);
    CHECK(dbs[1].schema == GeoSchema::kMaxMindCity);
    CHECK(dbs[1].has_city);
    CHECK(dbs[2].schema == GeoSchema::kAsn);
    CHECK(dbs[2].has_asn);
    CHECK_FALSE(dbs[2].has_country);
    CHECK(dbs[3].schema == GeoSchema::kCountryCode);
    CHECK(dbs[3].provider == GeoProvider::kIpLocationDb);
    CHECK(dbs[3].has_country);
    CHECK(dbs[3].ip_version == 4);
    CHECK(dbs[4].schema == GeoSchema::kIpinfo);
    CHECK(dbs[4].provider == GeoProvider::kIpinfo);
    CHECK(dbs[4].has_country);
    CHECK(dbs[4].has_asn);
    CHECK(dbs[5].schema == GeoSchema::kMaxMindCountry);
    CHECK(dbs[5].provider == GeoProvider::kDbIp);
    CHECK(dbs[5].attribution.find("IP Geolocation by DB-IP") != std::string::npos);
    CHECK(dbs[5].attribution.find("https://db-ip.com") != std::string::npos);
    CHECK(dbs[5].attribution.find("CC BY 4.0") != std::string::npos);
    CHECK(geo_schema_name(GeoSchema::kCountryCode) == "country-code");
    CHECK(geo_provider_name(GeoProvider::kDbIp) == "db-ip");
  }

  TEST_CASE("ip-location-db DB-IP file: recognised by shape, attributed by file name") {
    flowaudit::test::TempDir dir;
    MmdbBuilder b("country ipvAll", 6);  // what the @ip-location-db packages write
    CHECK(b.insert("8.8.8.0/24", MmdbValue::map(Map{{"country_code", MmdbValue::str("US")}})));
    CHECK(b.insert("2001:4860::/32", MmdbValue::map(Map{{"country_code", MmdbValue::str("US")}})));
    const std::string path = dir.write("dbip-country.mmdb", b.build());
    GeoLookup g;
    open_ok(g, path);
    REQUIRE(g.databases().size() == 1);
    const auto& info = g.databases()[0];
    CHECK(info.schema == GeoSchema::kCountryCode);
    CHECK(info.provider == GeoProvider::kDbIp);
    CHECK(info.description.empty());
    CHECK(info.attribution.find("https://db-ip.com") != std::string::npos);
    CHECK(g.lookup(ip("2001:4860::1")).country == "US");
    CHECK(g.lookup(ip("::ffff:8.8.8.8")).country_source == "dbip-country.mmdb (country ipvAll)");
  }

  TEST_CASE("ipinfo and ip-location-db record shapes") {
    Fixtures fx;
    GeoLookup g;
    open_ok(g, fx.ipinfo);
    open_ok(g, fx.iplocation);
    const GeoInfo q = g.lookup(ip("9.9.9.9"));
    CHECK(q.country == "CH");
    CHECK(q.continent == "EU");
    CHECK(q.asn == 19281);
    CHECK(q.as_org == "Quad9");
    const GeoInfo cn = g.lookup(ip("47.92.0.1"));
    CHECK(cn.country == "CN");
    CHECK(cn.country_source == "iplocation.mmdb (ip-location-db-asn-country)");
  }

  TEST_CASE("missing, empty, truncated and garbage files give one-line errors naming the file") {
    Fixtures fx;
    GeoLookup g;
    open_ok(g, fx.country);
    const auto good = country_db();
    const std::vector<std::uint8_t> truncated(good.begin(), good.begin() + static_cast<long>(good.size() / 2));
    std::vector<std::uint8_t> garbage(4096);
    for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<std::uint8_t>(i * 131 + 7);
    const std::vector<std::string> bad{
        (fx.dir.path() / "does-not-exist.mmdb").string(),
        fx.dir.write("empty.mmdb", {}),
        fx.dir.write("truncated.mmdb", truncated),
        fx.dir.write("garbage.mmdb", garbage),
        fx.dir.path().string(),  // a directory
    };
    for (const std::string& path : bad) {
      const auto err = g.add_database(path);
      INFO(path);
      REQUIRE(err.has_value());
      CHECK(err->find(path) != std::string::npos);
      CHECK(err->find('\n') == std::string::npos);
    }
    const auto missing = g.add_database(bad[0]);
    REQUIRE(missing.has_value());
    CHECK(missing->find("No such file") != std::string::npos);
    // The good database is still there and still answers.
    CHECK(g.databases().size() == 1);
    CHECK(g.lookup(ip("8.8.8.8")).country == "US");
  }

  TEST_CASE("a record with the wrong types is ignored, not trusted") {
    flowaudit::test::TempDir dir;
    const std::string path = dir.write("weird.mmdb", weird_db());
    GeoLookup g;
    open_ok(g, path);
    CHECK(g.lookup(ip("8.8.8.8")).empty());
    CHECK(g.lookup(ip("9.9.9.9")).empty());
    CHECK(g.lookup(ip("4.4.4.4")).empty());
    CHECK(g.lookup(ip("5.5.5.5")).as_org.size() == kMaxGeoStringBytes);
  }

  TEST_CASE("cache hit equals miss, and is bounded") {
    Fixtures fx;
    GeoLookup cached(4);
    open_ok(cached, fx.country);
    open_ok(cached, fx.asn);
    const GeoInfo first = cached.lookup(ip("8.8.8.8"));
    CHECK(cached.cache_misses() == 1);
    const GeoInfo second = cached.lookup(ip("8.8.8.8"));
    CHECK(cached.cache_hits() == 1);
    CHECK(first == second);
    CHECK(first == cached.lookup_uncached(ip("8.8.8.8")));
    // Many more addresses than slots: answers stay right.
    for (int i = 0; i < 64; ++i) {
      const IpAddress a = IpAddress::v4(static_cast<std::uint32_t>((8u << 24) | (8u << 16) | (8u << 8) | i));
      CHECK(cached.lookup(a) == cached.lookup_uncached(a));
      CHECK(cached.lookup(a).asn == 15169);
    }
    CHECK(cached.lookup(ip("47.92.0.1")).country == "CN");
    GeoLookup uncached(0);
    open_ok(uncached, fx.country);
    CHECK(uncached.lookup(ip("8.8.8.8")).country == "US");
    CHECK(uncached.cache_hits() == 0);
  }

  TEST_CASE("default database search") {
    flowaudit::test::TempDir dir;
    const auto env_dir = dir.path() / "env";
    const auto home = dir.path() / "home";
    const auto user_dir = home / ".local/share/flowaudit/geoip";
    const auto system_dir = dir.path() / "system";
    std::filesystem::create_directories(env_dir);
    std::filesystem::create_directories(user_dir);
    std::filesystem::create_directories(system_dir);
    std::ofstream(env_dir / "b.mmdb") << "x";
    std::ofstream(env_dir / "a.mmdb") << "x";
    std::ofstream(env_dir / "notes.txt") << "x";
    std::ofstream(system_dir / "s.mmdb") << "x";

    GeoipSearchEnv env;
    env.env_dir = env_dir;
    env.home = home;
    env.system_dir = system_dir;
    env.data_dir = dir.path() / "nowhere";
    const auto from_env = find_default_databases(env);
    REQUIRE(from_env.size() == 2);
    CHECK(from_env[0] == (env_dir / "a.mmdb").string());
    CHECK(from_env[1] == (env_dir / "b.mmdb").string());

    env.env_dir.reset();  // user dir is empty: the system dir answers
    const auto from_system = find_default_databases(env);
    REQUIRE(from_system.size() == 1);
    CHECK(from_system[0] == (system_dir / "s.mmdb").string());

    std::ofstream(user_dir / "u.mmdb") << "x";
    const auto from_user = find_default_databases(env);
    REQUIRE(from_user.size() == 1);
    CHECK(from_user[0] == (user_dir / "u.mmdb").string());

    env.env_dir = dir.path() / "missing";  // set but absent: nothing, no fallback
    CHECK(find_default_databases(env).empty());

    // The data directory's geoip/ comes last.
    const auto data_dir = dir.path() / "share";
    std::filesystem::create_directories(data_dir / "geoip");
    std::ofstream(data_dir / "geoip" / "d.mmdb") << "x";
    env.env_dir.reset();
    env.home = dir.path() / "nohome";
    env.system_dir = dir.path() / "nosystem";
    env.data_dir = data_dir;
    const auto from_data = find_default_databases(env);
    REQUIRE(from_data.size() == 1);
    CHECK(from_data[0] == (data_dir / "geoip" / "d.mmdb").string());
  }

  // An audit run inside an untrusted checkout (CI) must not read databases planted in it.
  TEST_CASE("databases in the working directory's data/geoip are not picked up") {
    flowaudit::test::TempDir dir;
    const auto planted = dir.path() / "data" / "geoip";
    std::filesystem::create_directories(planted);
    std::ofstream(planted / "planted-in-cwd.mmdb") << "x";
    std::filesystem::create_directories(dir.path() / "data" / "services");  // looks like a data dir too
    const auto cwd = std::filesystem::current_path();
    std::filesystem::current_path(dir.path());
    GeoipSearchEnv env = GeoipSearchEnv::from_process();
    env.env_dir.reset();
    env.home = dir.path() / "nohome";
    env.system_dir = dir.path() / "nosystem";
    const auto found = find_default_databases(env);
    std::filesystem::current_path(cwd);
    for (const auto& f : found) {
      INFO(f);
      CHECK(f.find("planted-in-cwd") == std::string::npos);
    }
  }

  TEST_CASE("lookups agree with mmdblookup") {
    if (!have_mmdblookup()) {
      MESSAGE("mmdblookup not installed; skipped");
      return;
    }
    Fixtures fx;
    GeoLookup g;
    open_ok(g, fx.country);
    open_ok(g, fx.asn);
    for (const char* a : {"8.8.8.8", "47.93.2.1", "2001:4860::1", "2a00:1450::5", "5.6.7.8"}) {
      INFO(std::string(a));
      const GeoInfo info = g.lookup(ip(a));
      const std::string cc = mmdblookup_value(fx.country, a, "country iso_code");
      CHECK((info.country.empty() ? std::string("<none>") : info.country) == cc);
      const std::string num = mmdblookup_value(fx.asn, a, "autonomous_system_number");
      CHECK((info.asn == 0 ? std::string("<none>") : std::to_string(info.asn)) == num);
      const std::string org = mmdblookup_value(fx.asn, a, "autonomous_system_organization");
      CHECK((info.as_org.empty() ? std::string("<none>") : info.as_org) == org);
    }
    CHECK(mmdblookup_value(fx.iplocation, "47.92.0.1", "country_code") == g.lookup(ip("47.92.0.1")).country);
  }

  // FLOWAUDIT_WRITE_GEO_SEEDS=DIR writes the fixture databases there (fuzz seeds).
  TEST_CASE("write fixtures as fuzz seeds when asked") {
    const char* out = std::getenv("FLOWAUDIT_WRITE_GEO_SEEDS");
    if (out == nullptr) return;
    const auto write = [&](const char* name, const std::vector<std::uint8_t>& bytes) {
      std::ofstream f(std::filesystem::path(out) / name, std::ios::binary);
      f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    };
    write("country.mmdb", country_db());
    write("city.mmdb", city_db());
    write("asn.mmdb", asn_db());
    write("iplocation.mmdb", iplocation_db());
    write("ipinfo.mmdb", ipinfo_db());
    write("weird.mmdb", weird_db());
  }
}
