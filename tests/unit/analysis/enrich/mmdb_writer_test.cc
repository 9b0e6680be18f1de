// The MMDB writer, checked by reading what it writes back through libmaxminddb (and mmdblookup,
// when installed). Also checks that the committed fixture databases are what their CSVs build.
#include "analysis/enrich/mmdb_writer.h"

#include <doctest/doctest.h>
#include <maxminddb.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "analysis/enrich/range_csv.h"
#include "unit/temp_dir.h"

namespace {

using namespace flowaudit::analysis::enrich;
using flowaudit::core::Cidr;
using flowaudit::core::IpAddress;

constexpr std::uint64_t kFixtureEpoch = 1780000000;  // fixed, so that rebuilt fixtures are byte-identical

Cidr cidr(const char* text) {
  auto c = Cidr::parse(text);
  REQUIRE(c.has_value());
  return *c;
}
IpAddress ip(const char* text) {
  auto a = IpAddress::parse(text);
  REQUIRE(a.has_value());
  return *a;
}
MmdbValue asn_record(std::uint32_t asn, const std::string& org) {
  return MmdbValue{MmdbMap{{"autonomous_system_number", MmdbValue{asn}},
                           {"autonomous_system_organization", MmdbValue{org}}}};
}
MmdbValue country_record(const std::string& cc) { return MmdbValue{MmdbMap{{"country_code", MmdbValue{cc}}}}; }

// An opened database; closed on scope exit.
class Db {
 public:
  explicit Db(const std::string& path) { ok_ = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &mmdb_) == MMDB_SUCCESS; }
  ~Db() {
    if (ok_) MMDB_close(&mmdb_);
  }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  [[nodiscard]] bool ok() const { return ok_; }
  const MMDB_metadata_s& metadata() const { return mmdb_.metadata; }

  // The entry for an address, or nullopt when the database has none.
  std::optional<MMDB_lookup_result_s> lookup(const char* address) {
    int gai = 0;
    int status = 0;
    const auto r = MMDB_lookup_string(&mmdb_, address, &gai, &status);
    REQUIRE(gai == 0);
    REQUIRE(status == MMDB_SUCCESS);
    if (!r.found_entry) return std::nullopt;
    return r;
  }
  std::string string_at(const char* address, const char* key) {
    auto r = lookup(address);
    if (!r) return "<none>";
    MMDB_entry_data_s data{};
    if (MMDB_get_value(&r->entry, &data, key, nullptr) != MMDB_SUCCESS || !data.has_data) return "<missing>";
    if (data.type != MMDB_DATA_TYPE_UTF8_STRING) return "<not a string>";
    return std::string(data.utf8_string, data.data_size);
  }
  std::int64_t uint_at(const char* address, const char* key) {
    auto r = lookup(address);
    if (!r) return -1;
    MMDB_entry_data_s data{};
    if (MMDB_get_value(&r->entry, &data, key, nullptr) != MMDB_SUCCESS || !data.has_data) return -2;
    if (data.type == MMDB_DATA_TYPE_UINT32) return data.uint32;
    if (data.type == MMDB_DATA_TYPE_UINT16) return data.uint16;
    return -3;
  }
  unsigned prefix(const char* address) {
    auto r = lookup(address);
    return r ? r->netmask : 0;
  }

 private:
  MMDB_s mmdb_{};
  bool ok_ = false;
};

std::string write(const flowaudit::test::TempDir& dir, MmdbWriter& w, const char* name = "t.mmdb") {
  std::string error;
  const std::string path = (dir.path() / name).string();
  REQUIRE_MESSAGE(w.write_file(path, error), error);
  return path;
}

std::vector<std::string> cidr_strings(const std::vector<Cidr>& v) {
  std::vector<std::string> out;
  for (const auto& c : v) out.push_back(c.to_string());
  return out;
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs mmdblookup and returns its standard output, or nullopt when it is not installed.
std::optional<std::string> mmdblookup(const std::string& file, const char* address, const char* key) {
  if (!std::filesystem::exists("/usr/bin/mmdblookup")) return std::nullopt;
  const std::string cmd = "/usr/bin/mmdblookup --file '" + file + "' --ip " + address + " " + key + " 2>&1";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return std::nullopt;
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  ::pclose(p);
  return out;
}

std::string source(const char* relative) { return std::string(FLOWAUDIT_SOURCE_DIR) + "/" + relative; }

}  // namespace

TEST_SUITE("analysis.enrich.mmdb_writer") {
  TEST_CASE("ranges become the fewest CIDR blocks") {
    CHECK(cidr_strings(range_to_cidrs(ip("1.0.0.0"), ip("1.0.0.255"))) == std::vector<std::string>{"1.0.0.0/24"});
    CHECK(cidr_strings(range_to_cidrs(ip("1.0.0.1"), ip("1.0.0.6"))) ==
          std::vector<std::string>{"1.0.0.1/32", "1.0.0.2/31", "1.0.0.4/31", "1.0.0.6/32"});
    CHECK(cidr_strings(range_to_cidrs(ip("0.0.0.0"), ip("255.255.255.255"))) == std::vector<std::string>{"0.0.0.0/0"});
    CHECK(cidr_strings(range_to_cidrs(ip("255.255.255.255"), ip("255.255.255.255"))) ==
          std::vector<std::string>{"255.255.255.255/32"});
    CHECK(cidr_strings(range_to_cidrs(ip("::"), ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))) ==
          std::vector<std::string>{"::/0"});
    CHECK(cidr_strings(range_to_cidrs(ip("2600:9000::"), ip("2600:9000:5200:ffff:ffff:ffff:ffff:ffff"))) ==
          std::vector<std::string>{"2600:9000::/34", "2600:9000:4000::/36", "2600:9000:5000::/39",
                                   "2600:9000:5200::/48"});
    CHECK(cidr_strings(range_to_cidrs(ip("::1"), ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"))).size() == 254);
    CHECK(range_to_cidrs(ip("1.0.0.2"), ip("1.0.0.1")).empty());
    CHECK(range_to_cidrs(ip("1.0.0.1"), ip("::2")).empty());
    CHECK(range_to_cidrs(IpAddress{}, IpAddress{}).empty());
  }

  TEST_CASE("IPv4-only input makes an IPv4 database with the metadata asked for") {
    flowaudit::test::TempDir dir;
    REQUIRE(dir.ok());
    MmdbWriterOptions o;
    o.database_type = "flowaudit-test";
    o.description_en = "unit test";
    o.languages = {"en", "de"};
    o.build_epoch = 1234567890;
    MmdbWriter w(o);
    std::string error;
    REQUIRE(w.add_network(cidr("3.160.0.0/11"), asn_record(16509, "Amazon.com, Inc."), "x:1", error));
    REQUIRE(w.add_range(ip("8.8.8.0"), ip("8.8.8.255"), asn_record(15169, "Google LLC"), "x:2", error));
    Db db(write(dir, w));
    REQUIRE(db.ok());
    CHECK(db.metadata().ip_version == 4);
    CHECK(db.metadata().record_size == 24);
    CHECK(db.metadata().binary_format_major_version == 2);
    CHECK(db.metadata().binary_format_minor_version == 0);
    CHECK(db.metadata().build_epoch == 1234567890);
    CHECK(std::string(db.metadata().database_type) == "flowaudit-test");
    REQUIRE(db.metadata().languages.count == 2);
    CHECK(std::string(db.metadata().languages.names[1]) == "de");
    REQUIRE(db.metadata().description.count == 1);
    CHECK(std::string(db.metadata().description.descriptions[0]->language) == "en");
    CHECK(std::string(db.metadata().description.descriptions[0]->description) == "unit test");
    CHECK(db.uint_at("3.173.21.63", "autonomous_system_number") == 16509);
    CHECK(db.string_at("3.173.21.63", "autonomous_system_organization") == "Amazon.com, Inc.");
    CHECK(db.prefix("3.173.21.63") == 11);
    CHECK(db.uint_at("8.8.8.8", "autonomous_system_number") == 15169);
    CHECK(db.prefix("8.8.8.8") == 24);
    CHECK_FALSE(db.lookup("8.8.9.1").has_value());
    CHECK_FALSE(db.lookup("0.0.0.0").has_value());
  }

  TEST_CASE("IPv6 database: IPv4 under ::/96, aliases for IPv4-mapped and 6to4") {
    flowaudit::test::TempDir dir;
    REQUIRE(dir.ok());
    MmdbWriter w;
    std::string error;
    REQUIRE(w.add_network(cidr("2600:9000::/28"), country_record("US"), "x:1", error));
    REQUIRE(w.add_network(cidr("2a02:8108::/32"), country_record("DE"), "x:2", error));
    REQUIRE(w.add_network(cidr("1.1.1.0/24"), country_record("AU"), "x:3", error));
    Db db(write(dir, w));
    REQUIRE(db.ok());
    CHECK(db.metadata().ip_version == 6);
    CHECK(db.string_at("2600:9000:2490:a00:1b:c3e3:bf40:93a1", "country_code") == "US");
    CHECK(db.prefix("2600:9000:2490:a00:1b:c3e3:bf40:93a1") == 28);
    CHECK(db.string_at("2a02:8108:1d40:5a00::23", "country_code") == "DE");
    CHECK(db.string_at("2600:900f:ffff::1", "country_code") == "US");
    CHECK_FALSE(db.lookup("2600:9010::1").has_value());
    CHECK(db.string_at("1.1.1.1", "country_code") == "AU");
    CHECK(db.prefix("1.1.1.1") == 24 + 96);  // libmaxminddb counts IPv4 in an IPv6 tree from ::/96
    CHECK(db.string_at("::1.1.1.1", "country_code") == "AU");
    CHECK(db.string_at("::ffff:1.1.1.1", "country_code") == "AU");
    CHECK(db.string_at("2002:101:101::1", "country_code") == "AU");
    CHECK_FALSE(db.lookup("1.1.2.1").has_value());
    CHECK_FALSE(db.lookup("::ffff:1.1.2.1").has_value());
  }

  TEST_CASE("aliases give way to input that covers them") {
    flowaudit::test::TempDir dir;
    REQUIRE(dir.ok());
    MmdbWriter w;
    std::string error;
    REQUIRE(w.add_network(cidr("2002::/16"), country_record("XX"), "x:1", error));
    REQUIRE(w.add_network(cidr("1.1.1.0/24"), country_record("AU"), "x:2", error));
    Db db(write(dir, w));
    REQUIRE(db.ok());
    CHECK(db.string_at("2002:101:101::1", "country_code") == "XX");
    CHECK(db.string_at("::ffff:1.1.1.1", "country_code") == "AU");
  }

  TEST_CASE("adjacent ranges keep their own records; equal neighbours merge") {
    flowaudit::test::TempDir dir;
    REQUIRE(dir.ok());
    MmdbWriter w;
    std::string error;
    REQUIRE(w.add_range(ip("10.0.0.0"), ip("10.0.0.127"), country_record("AA"), "x:1", error));
    REQUIRE(w.add_range(ip("10.0.0.128"), ip("10.0.0.255"), country_record("BB"), "x:2", error));
    REQUIRE(w.add_range(ip("10.0.1.0"), ip("10.0.1.127"), country_record("CC"), "x:3", error));
    REQUIRE(w.add_range(ip("10.0.1.128"), ip("10.0.1.255"), country_record("CC"), "x:4", error));
    CHECK(w.record_count() == 3);
    Db db(write(dir, w));
    REQUIRE(db.ok());
    CHECK(db.string_at("10.0.0.127", "country_code") == "AA");
    CHECK(db.string_at("10.0.0.128", "country_code") == "BB");
    CHECK(db.string_at("10.0.1.0", "country_code") == "CC");
    CHECK(db.string_at("10.0.1.255", "country_code") == "CC");
    CHECK(db.prefix("10.0.1.200") == 24);  // the two /25 halves became one /24
    CHECK(db.metadata().node_count == 25);  // depths 0-23 on the shared path, one for 10.0.0.0/24
  }

  TEST_CASE("nested and overlapping networks: the later one wins") {
    flowaudit::test::TempDir dir;
    REQUIRE(dir.ok());
    MmdbWriterOptions later_wins;
    later_wins.overlap = OverlapPolicy::kLaterWins;
    MmdbWriter w(later_wins);
    std::string error;
    REQUIRE(w.add_network(cidr("43.109.0.0/16"), asn_record(24429, "outer"), "x:1", error));
    REQUIRE(w.add_network(cidr("43.109.38.0/24"), asn_record(396986, "inner"), "x:2", error));
    REQUIRE(w.add_network(cidr("20.0.0.0/24"), asn_record(1, "replaced"), "x:3", error));
    REQUIRE(w.add_network(cidr("20.0.0.0/16"), asn_record(2, "wider, later"), "x:4", error));
    REQUIRE(w.add_network(cidr("2001:db8::/32"), country_record("ZZ"), "x:5", error));
    REQUIRE(w.add_network(cidr("2001:db8::/32"), country_record("YY"), "x:6", error));
    Db db(write(dir, w));
    REQUIRE(db.ok());
    CHECK(db.uint_at("43.109.38.198", "autonomous_system_number") == 396986);
    CHECK(db.uint_at("43.109.37.1", "autonomous_system_number") == 24429);
    CHECK(db.uint_at("43.109.39.0", "autonomous_system_number") == 24429);
    CHECK(db.uint_at("20.0.0.1", "autonomous_system_number") == 2);
    CHECK(db.uint_at("20.0.200.1", "autonomous_system_number") == 2);
    CHECK(db.string_at("2001:db8::1", "country_code") == "YY");
  }

  TEST_CASE("OverlapPolicy::kReject names the later network") {
    MmdbWriterOptions o;
    o.overlap = OverlapPolicy::kReject;
    MmdbWriter w(o);
    std::string error;
    REQUIRE(w.add_network(cidr("43.109.0.0/16"), country_record("SG"), "a.csv:1", error));
    REQUIRE(w.add_network(cidr("43.110.0.0/16"), country_record("SG"), "a.csv:2", error));
    CHECK_FALSE(w.add_network(cidr("43.109.38.0/24"), country_record("CN"), "a.csv:3", error));
    CHECK(error == "a.csv:3: 43.109.38.0/24 overlaps a network added before (overlapping input is rejected)");
    CHECK_FALSE(w.add_network(cidr("43.0.0.0/8"), country_record("CN"), "a.csv:4", error));
    CHECK(error.rfind("a.csv:4: 43.0.0.0/8 overlaps", 0) == 0);
    CHECK_FALSE(w.add_network(cidr("43.109.0.0/16"), country_record("SG"), "a.csv:5", error));
    CHECK_FALSE(w.add_network(cidr("::/0"), country_record("SG"), "a.csv:6", error));
    CHECK(w.add_network(cidr("43.111.0.0/16"), country_record("SG"), "a.csv:7", error));
  }

  TEST_CASE("bad networks and records are errors with their origin") {
    MmdbWriter w;
    std::string error;
    CHECK_FALSE(w.add_network(cidr("1.1.1.1/24"), country_record("AU"), "f.csv:9", error));
    CHECK(error == "f.csv:9: 1.1.1.1/24 has bits set after the prefix length");
    CHECK_FALSE(w.add_range(ip("1.1.1.9"), ip("1.1.1.1"), country_record("AU"), "f.csv:10", error));
    CHECK(error == "f.csv:10: range ends before it starts (1.1.1.9 > 1.1.1.1)");
    CHECK_FALSE(w.add_range(ip("1.1.1.1"), ip("::1"), country_record("AU"), "f.csv:11", error));
    CHECK(error == "f.csv:11: range ends are not both IPv4 or both IPv6");
    CHECK_FALSE(w.add_network(cidr("1.1.1.0/24"), MmdbValue{MmdbMap{{"org", MmdbValue{std::string("\xff")}}}}, "f:1",
                              error));
    CHECK(error == "f:1: string is not valid UTF-8");
    CHECK_FALSE(w.add_network(cidr("1.1.1.0/24"), MmdbValue{std::string(kMmdbMaxStringBytes + 1, 'a')}, "f:2", error));
    CHECK(error == "f:2: string longer than 4096 bytes");
    MmdbValue deep{std::string("x")};
    for (int i = 0; i <= kMmdbMaxDepth; ++i) deep = MmdbValue{MmdbArray{deep}};
    CHECK_FALSE(w.add_network(cidr("1.1.1.0/24"), deep, "f:3", error));
    CHECK(error == "f:3: record nested deeper than 8");
    MmdbArray wide(kMmdbMaxContainerItems + 1, MmdbValue{true});
    CHECK_FALSE(w.add_network(cidr("1.1.1.0/24"), MmdbValue{wide}, "f:4", error));
    CHECK(error == "f:4: array with more than 256 items");
    CHECK(w.network_count() == 0);

    MmdbWriterOptions v4_only;
    v4_only.ip_version = IpVersion::kV4;
    MmdbWriter w4(v4_only);
    CHECK_FALSE(w4.add_network(cidr("2001:db8::/32"), country_record("ZZ"), "f:5", error));
    CHECK(error == "f:5: 2001:db8::/32 is IPv6 but the database is IPv4-only");
  }

  TEST_CASE("every value type reads back; strings shared through pointers") {
    flowaudit::test::TempDir dir;
    REQUIRE(dir.ok());
    MmdbWriter w;
    std::string error;
    const std::string long_org(300, 'o');  // a size taking two extra bytes
    for (std::uint32_t i = 0; i < 200; ++i) {
      const std::string net = "10." + std::to_string(i) + ".0.0/16";
      MmdbValue rec{MmdbMap{{"autonomous_system_number", MmdbValue{i}},
                            {"autonomous_system_organization", MmdbValue{long_org}},
                            {"small", MmdbValue{std::uint16_t{7}}},
                            {"big", MmdbValue{std::uint64_t{0x1122334455667788ULL}}},
                            {"zero", MmdbValue{std::uint32_t{0}}},
                            {"flag", MmdbValue{i % 2 == 0}},
                            {"list", MmdbValue{MmdbArray{MmdbValue{std::string("a")}, MmdbValue{std::string("")}}}}}};
      REQUIRE(w.add_network(cidr(net.c_str()), rec, "x", error));
    }
    const std::string path = write(dir, w);
    CHECK(std::filesystem::file_size(path) < 200 * 60 + 4000);  // the long string is stored once
    Db db(path);
    REQUIRE(db.ok());
    for (const char* a : {"10.0.0.1", "10.199.255.255", "10.77.1.1"}) {
      auto r = db.lookup(a);
      REQUIRE(r.has_value());
      MMDB_entry_data_s d{};
      REQUIRE(MMDB_get_value(&r->entry, &d, "autonomous_system_organization", nullptr) == MMDB_SUCCESS);
      CHECK(std::string(d.utf8_string, d.data_size) == long_org);
      REQUIRE(MMDB_get_value(&r->entry, &d, "small", nullptr) == MMDB_SUCCESS);
      CHECK(d.type == MMDB_DATA_TYPE_UINT16);
      CHECK(d.uint16 == 7);
      REQUIRE(MMDB_get_value(&r->entry, &d, "big", nullptr) == MMDB_SUCCESS);
      CHECK(d.type == MMDB_DATA_TYPE_UINT64);
      CHECK(d.uint64 == 0x1122334455667788ULL);
      REQUIRE(MMDB_get_value(&r->entry, &d, "zero", nullptr) == MMDB_SUCCESS);
      CHECK(d.uint32 == 0);
      REQUIRE(MMDB_get_value(&r->entry, &d, "flag", nullptr) == MMDB_SUCCESS);
      CHECK(d.type == MMDB_DATA_TYPE_BOOLEAN);
      REQUIRE(MMDB_get_value(&r->entry, &d, "list", "0", nullptr) == MMDB_SUCCESS);
      CHECK(std::string(d.utf8_string, d.data_size) == "a");
      REQUIRE(MMDB_get_value(&r->entry, &d, "list", "1", nullptr) == MMDB_SUCCESS);
      CHECK(d.data_size == 0);
    }
    CHECK(db.uint_at("10.77.1.1", "autonomous_system_number") == 77);
    MMDB_s raw{};
    REQUIRE(MMDB_open(path.c_str(), MMDB_MODE_MMAP, &raw) == MMDB_SUCCESS);
    MMDB_entry_data_list_s* list = nullptr;
    CHECK(MMDB_get_metadata_as_entry_data_list(&raw, &list) == MMDB_SUCCESS);
    MMDB_free_entry_data_list(list);
    MMDB_close(&raw);
  }

  TEST_CASE("a large data section gets 28-bit records, with pointers of every size") {
    flowaudit::test::TempDir dir;
    REQUIRE(dir.ok());
    MmdbWriter w;
    std::string error;
    constexpr std::uint32_t kRecords = 4300;  // 4300 x ~4 KiB > 2^24 bytes of data
    for (std::uint32_t i = 0; i < kRecords; ++i) {
      std::string org(kMmdbMaxStringBytes, 'a');
      org.replace(0, std::to_string(i).size(), std::to_string(i));
      const std::string first = "2001:db8:" + std::to_string(i) + "::";
      const std::string last = "2001:db8:" + std::to_string(i) + ":ffff:ffff:ffff:ffff:ffff";
      REQUIRE(w.add_range(ip(first.c_str()), ip(last.c_str()), asn_record(i, org), "x", error));
    }
    const std::string path = write(dir, w);
    Db db(path);
    REQUIRE(db.ok());
    CHECK(db.metadata().record_size == 28);
    for (const std::uint32_t i : {0u, 1u, 600u, 2049u, 4299u}) {
      const std::string a = "2001:db8:" + std::to_string(i) + "::77";
      CHECK(db.uint_at(a.c_str(), "autonomous_system_number") == i);
      CHECK(db.string_at(a.c_str(), "autonomous_system_organization").rfind(std::to_string(i) + "aaa", 0) == 0);
    }
  }

  TEST_CASE("empty input still makes a readable database") {
    flowaudit::test::TempDir dir;
    REQUIRE(dir.ok());
    MmdbWriter w;
    Db db(write(dir, w));
    REQUIRE(db.ok());
    CHECK(db.metadata().ip_version == 4);
    CHECK_FALSE(db.lookup("1.2.3.4").has_value());
  }

  TEST_CASE("write_mmdb and mmdblookup agree") {
    flowaudit::test::TempDir dir;
    REQUIRE(dir.ok());
    std::vector<MmdbEntry> entries{{cidr("142.250.0.0/15"), asn_record(15169, "Google LLC"), "x:1"},
                                   {cidr("2a00:1450::/32"), asn_record(15169, "Google LLC"), "x:2"}};
    const std::string path = (dir.path() / "w.mmdb").string();
    std::string error;
    REQUIRE_MESSAGE(write_mmdb(entries, {}, path, error), error);
    const auto out = mmdblookup(path, "142.250.74.35", "autonomous_system_number");
    if (!out) {
      MESSAGE("mmdblookup not installed: skipped");
      return;
    }
    CHECK(out->find("15169 <uint32>") != std::string::npos);
    CHECK(mmdblookup(path, "2a00:1450:4001:82a::2003", "autonomous_system_organization")->find("\"Google LLC\"") !=
          std::string::npos);
    CHECK(mmdblookup(path, "::ffff:142.250.74.35", "autonomous_system_number")->find("15169") != std::string::npos);
    CHECK(mmdblookup(path, "8.8.8.8", "autonomous_system_number")->find("Could not find an entry") !=
          std::string::npos);
    CHECK_FALSE(write_mmdb(entries, {}, (dir.path() / "missing" / "w.mmdb").string(), error));
    CHECK(error.find("missing/w.mmdb.tmp: cannot create: ") != std::string::npos);
  }

  // FLOWAUDIT_WRITE_FIXTURES=1 rewrites the committed fixtures from their CSVs; otherwise this
  // checks that the committed .mmdb files are exactly what the CSVs build.
  TEST_CASE("committed fixture databases match their CSVs") {
    flowaudit::test::TempDir dir;
    REQUIRE(dir.ok());
    const char* env = std::getenv("FLOWAUDIT_WRITE_FIXTURES");
    const bool rewrite = env != nullptr && std::string(env) == "1";
    for (const char* kind : {"country", "asn"}) {
      const std::string csv = source((std::string("tests/data/geo/fixture-") + kind + ".csv").c_str());
      const std::string committed = source((std::string("tests/data/geo/fixture-") + kind + ".mmdb").c_str());
      const std::string built = rewrite ? committed : (dir.path() / "fixture.mmdb").string();
      MmdbWriterOptions o;
      o.build_epoch = kFixtureEpoch;
      o.description_en = std::string("flowaudit test fixture (") + kind + "), not authoritative data";
      o.languages = {"en"};
      std::string error;
      REQUIRE_MESSAGE(build_geodb({csv}, built, o, error), error);
      CHECK_MESSAGE(file_bytes(built) == file_bytes(committed),
                    committed << " is stale: rebuild with FLOWAUDIT_WRITE_FIXTURES=1 build/tests/flowaudit_tests "
                                 "--test-case='committed fixture*'");
    }
  }

  TEST_CASE("fixture databases answer for the addresses in the committed captures") {
    Db country(source("tests/data/geo/fixture-country.mmdb"));
    Db asn(source("tests/data/geo/fixture-asn.mmdb"));
    REQUIRE(country.ok());
    REQUIRE(asn.ok());
    CHECK(std::string(country.metadata().database_type) == "flowaudit-Country");
    CHECK(std::string(asn.metadata().database_type) == "flowaudit-ASN");
    struct Expect {
      const char* address;
      const char* country;
      std::int64_t asn;
      const char* org;
    };
    const Expect expected[] = {
        {"3.173.21.63", "US", 16509, "Amazon.com, Inc."},
        {"2600:9000:2490:a00:1b:c3e3:bf40:93a1", "GB", 16509, "Amazon.com, Inc."},
        {"43.109.38.198", "SG", 24429, "Zhejiang Taobao Network Co.,Ltd"},
        {"43.109.38.199", "SG", 24429, "Zhejiang Taobao Network Co.,Ltd"},
        {"43.109.38.200", "SG", 24429, "Zhejiang Taobao Network Co.,Ltd"},
        {"138.113.144.16", "SG", 54994, "Meteverse Limited."},
        {"142.250.74.35", "SE", 15169, "Google LLC"},
        {"2a00:1450:4001:82a::2003", "DE", 15169, "Google LLC"},
        {"8.8.8.8", "US", 15169, "Google LLC"},
        {"1.1.1.1", "AU", 13335, "Cloudflare, Inc."},
        {"47.246.2.77", "RU", 24429, "Zhejiang Taobao Network Co.,Ltd"},
        {"2a02:8108:1d40:5a00::23", "DE", 31334, "Vodafone GmbH"},
        {"::ffff:8.8.8.8", "US", 15169, "Google LLC"},
    };
    for (const auto& e : expected) {
      INFO(e.address);
      CHECK(country.string_at(e.address, "country_code") == e.country);
      CHECK(asn.uint_at(e.address, "autonomous_system_number") == e.asn);
      CHECK(asn.string_at(e.address, "autonomous_system_organization") == e.org);
    }
    CHECK_FALSE(country.lookup("192.168.1.23").has_value());
    CHECK_FALSE(asn.lookup("9.9.9.9").has_value());
    if (auto out = mmdblookup(source("tests/data/geo/fixture-asn.mmdb"), "43.109.38.198", "autonomous_system_number")) {
      CHECK(out->find("24429") != std::string::npos);
    }
  }
}
