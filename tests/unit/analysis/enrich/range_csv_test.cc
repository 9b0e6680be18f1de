// Range CSVs (ip-location-db and CIDR lists): every row shape, RFC 4180 quoting, limits, and errors
// as "FILE:LINE: message"; then build_geodb from files to a database read back by libmaxminddb.
#include "analysis/enrich/range_csv.h"

#include <doctest/doctest.h>
#include <maxminddb.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "unit/temp_dir.h"

namespace {

using namespace flowaudit::analysis::enrich;

struct Parsed {
  bool ok = false;
  std::string error;
  std::vector<RangeRow> rows;
};

Parsed parse(std::string_view text, const RangeCsvLimits& limits = {}) {
  Parsed p;
  p.ok = parse_range_csv(
      text, "t.csv",
      [&p](const RangeRow& row, std::string&) {
        p.rows.push_back(row);
        return true;
      },
      p.error, limits);
  return p;
}

std::string error_of(std::string_view text, const RangeCsvLimits& limits = {}) {
  const auto p = parse(text, limits);
  CHECK_FALSE(p.ok);
  return p.error;
}

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

TEST_SUITE("analysis.enrich.range_csv") {
  TEST_CASE("the four row shapes") {
    const auto p = parse(
        "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n"
        "2001:200::,2001:200:1b9:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project\n"
        "1.0.0.0,1.0.0.255,au\n"
        "2600:9000::/28,AS16509,AMAZON-02\n"
        "2a02:8108::/32,DE\n"
        "8.8.8.8,US\n");
    REQUIRE_MESSAGE(p.ok, p.error);
    REQUIRE(p.rows.size() == 6);
    CHECK(p.rows[0].kind == RangeRowKind::kAsnRange);
    CHECK(p.rows[0].first.to_string() == "1.0.0.0");
    CHECK(p.rows[0].last.to_string() == "1.0.0.255");
    CHECK(p.rows[0].asn == 13335);
    CHECK(p.rows[0].org == "Cloudflare, Inc.");
    CHECK(p.rows[0].line == 1);
    CHECK(p.rows[1].last.is_v6());
    CHECK(p.rows[1].org == "WIDE Project");
    CHECK(p.rows[2].kind == RangeRowKind::kCountryRange);
    CHECK(p.rows[2].country == "AU");
    CHECK(p.rows[3].kind == RangeRowKind::kCidrAsn);
    REQUIRE(p.rows[3].network.has_value());
    CHECK(p.rows[3].network->to_string() == "2600:9000::/28");
    CHECK(p.rows[3].asn == 16509);
    CHECK(p.rows[3].org == "AMAZON-02");
    CHECK(p.rows[4].kind == RangeRowKind::kCidrCountry);
    CHECK(p.rows[4].country == "DE");
    CHECK(p.rows[5].network->to_string() == "8.8.8.8/32");
    CHECK(p.rows[5].line == 6);
  }

  TEST_CASE("header, comments, blank lines, CRLF, spaces, empty organisation") {
    const auto p = parse(
        "start,end,asn,org\r\n"
        "# a comment\r\n"
        "\r\n"
        "\n"
        " 8.8.8.0 , 8.8.8.255 ,15169, Google LLC \r\n"
        "9.9.9.0,9.9.9.255,19281,\n"
        "9.9.10.0,9.9.10.255,19281,\"\"");
    REQUIRE_MESSAGE(p.ok, p.error);
    REQUIRE(p.rows.size() == 3);
    CHECK(p.rows[0].line == 5);
    CHECK(p.rows[0].org == "Google LLC");
    CHECK(p.rows[1].org.empty());
    CHECK(p.rows[2].org.empty());
    CHECK(p.rows[2].line == 7);
    CHECK(parse("").ok);
    CHECK(parse("# only a comment").ok);
  }

  TEST_CASE("RFC 4180 quoting: doubled quotes, commas and line breaks inside quotes") {
    const auto p = parse(
        "\"1.0.0.0\",\"1.0.0.255\",\"13335\",\"Say \"\"hi\"\", Inc.\"\n"
        "2.0.0.0,2.0.0.255,1,\"two\nlines\"\n"
        "3.0.0.0,3.0.0.255,3,after\n");
    REQUIRE_MESSAGE(p.ok, p.error);
    REQUIRE(p.rows.size() == 3);
    CHECK(p.rows[0].org == "Say \"hi\", Inc.");
    CHECK(p.rows[1].org == "two\nlines");
    CHECK(p.rows[1].line == 2);
    CHECK(p.rows[2].line == 4);
  }

  TEST_CASE("errors name file and line, one line each") {
    CHECK(error_of("1.0.0.0,1.0.0.255,AU\nbogus,1.0.0.255,AU\n") == "t.csv:2: bad address 'bogus' in column 1");
    CHECK(error_of("1.0.0.0,1.0.0.x,AU\n") == "t.csv:1: bad address '1.0.0.x' in column 2");
    CHECK(error_of("1.0.0.9,1.0.0.1,AU\n") == "t.csv:1: range ends before it starts (1.0.0.9 > 1.0.0.1)");
    CHECK(error_of("1.0.0.0,::1,AU\n") == "t.csv:1: range 1.0.0.0 - ::1 mixes IPv4 and IPv6");
    CHECK(error_of("1.0.0.0,1.0.0.1,A\n") == "t.csv:1: bad country code 'A' in column 3 (expected two letters)");
    CHECK(error_of("1.0.0.0,1.0.0.1,4294967296,x\n") == "t.csv:1: bad AS number '4294967296' in column 3");
    CHECK(error_of("1.0.0.0,1.0.0.1,-1,x\n") == "t.csv:1: bad AS number '-1' in column 3");
    CHECK(error_of("1.0.0.0/33,AU\n") == "t.csv:1: bad network '1.0.0.0/33' in column 1 (expected address/prefix)");
    CHECK(error_of("1.0.0.0\n") ==
          "t.csv:1: expected start,end,asn,org or start,end,country or cidr,asn,org or cidr,country; got 1 field");
    CHECK(error_of("1,2,3,4,5\n").find("t.csv:1: expected ") == 0);
    CHECK(error_of("1.0.0.0,1.0.0.1,1,\"open\n\n") == "t.csv:1: quoted field not closed before the end of the file");
    CHECK(error_of("1.0.0.0,1.0.0.1,1,\"x\"y\n") == "t.csv:1: unexpected 'y' after a closing quote");
    CHECK(error_of("1.0.0.0,1.0.0.1,1,x\"y\n") ==
          "t.csv:1: quote inside an unquoted field (quote the whole field and double the quote)");
    CHECK(error_of("1.0.0.0,1.0.0.1,1,x\ry\n") == "t.csv:1: carriage return not followed by a line feed");
    CHECK(error_of(std::string_view("1.0.0.0,1.0.0.1,1,a\0b\n", 22)) == "t.csv:1: NUL byte in field 4");
    CHECK(error_of("1.0.0.0,1.0.0.255,1,x\n1.0.0.0,\n") == "t.csv:2: bad country code '' in column 2 (expected two letters)");
    // A field shown in a message is clipped and stays on one line.
    const std::string e = error_of(std::string("1.0.0.0,1.0.0.1,\"AS\n") + std::string(200, '9') + "\",x\n");
    CHECK(e.find('\n') == std::string::npos);
    CHECK(e.find("...'") != std::string::npos);
  }

  TEST_CASE("limits") {
    RangeCsvLimits small;
    small.max_fields = 4;
    small.max_field_bytes = 16;
    small.max_record_bytes = 48;
    small.max_rows = 2;
    CHECK(error_of("1.0.0.0,1.0.0.1,1,x,y\n", small) == "t.csv:1: more than 4 fields");
    CHECK(error_of("1.0.0.0,1.0.0.1,1,xxxxxxxxxxxxxxxxxxxxxxx\n", small) == "t.csv:1: field 4 longer than 16 bytes");
    CHECK(error_of("1.0.0.0,1.0.0.1,1,\"xxxxxxxxxxxxxxxxxxxxxxx\"\n", small) ==
          "t.csv:1: field 4 longer than 16 bytes");
    CHECK(error_of("255.255.255.0,255.255.255.255,4200000000,abcdefghijklmn\n", small) ==
          "t.csv:1: record longer than 48 bytes");
    CHECK(error_of("# " + std::string(60, 'c') + "\n", small) == "t.csv:1: line longer than 48 bytes");
    CHECK(error_of("1.0.0.0/24,AU\n2.0.0.0/24,AU\n3.0.0.0/24,AU\n", small) == "t.csv:3: more than 2 rows");
    CHECK(parse("1.0.0.0/24,AU\n2.0.0.0/24,AU\n", small).ok);
  }

  TEST_CASE("the sink can stop the parse") {
    std::string error;
    int seen = 0;
    CHECK_FALSE(parse_range_csv(
        "1.0.0.0/24,AU\n2.0.0.0/24,AU\n", "t.csv",
        [&seen](const RangeRow&, std::string& e) {
          ++seen;
          e = "stop";
          return false;
        },
        error));
    CHECK(seen == 1);
    CHECK(error == "stop");
  }

  TEST_CASE("records: GeoLite2-ASN keys and ip-location-db country_code") {
    RangeRow asn;
    asn.kind = RangeRowKind::kCidrAsn;
    asn.asn = 4134;
    asn.org = "CHINANET";
    const MmdbValue asn_value = to_mmdb_record(asn);
    const auto& m = std::get<MmdbMap>(asn_value.value);
    REQUIRE(m.size() == 2);
    CHECK(m[0].first == "autonomous_system_number");
    CHECK(std::get<std::uint32_t>(m[0].second.value) == 4134);
    CHECK(m[1].first == "autonomous_system_organization");
    asn.org.clear();
    CHECK(std::get<MmdbMap>(to_mmdb_record(asn).value).size() == 1);
    RangeRow cc;
    cc.kind = RangeRowKind::kCountryRange;
    cc.country = "CN";
    const MmdbValue cc_value = to_mmdb_record(cc);
    const auto& c = std::get<MmdbMap>(cc_value.value);
    REQUIRE(c.size() == 1);
    CHECK(c[0].first == "country_code");
    CHECK(std::get<std::string>(c[0].second.value) == "CN");
  }

  TEST_CASE("build_geodb: files to a database libmaxminddb reads") {
    flowaudit::test::TempDir dir;
    REQUIRE(dir.ok());
    const std::string v4 = dir.write("asn-ipv4.csv", bytes("1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n"
                                                           "43.109.0.0,43.109.255.255,24429,Taobao\n"));
    const std::string v6 = dir.write("custom.csv", bytes("2600:9000::/28,16509,AMAZON-02\n"
                                                         "43.109.38.0/24,396986,BYTEDANCE\n"));
    const std::string out = (dir.path() / "asn.mmdb").string();
    std::string error;
    GeodbBuildStats stats;
    // The custom file's 43.109.38.0/24 overrides part of the published /16: asked for, and counted.
    CHECK_FALSE(build_geodb({v4, v6}, out, {}, error, &stats));
    CHECK(error == v6 + ":2: 43.109.38.0-43.109.38.255 overlaps " + v4 +
                       ":2 (43.109.0.0-43.109.255.255); overlapping ranges are rejected (--overlap later-wins "
                       "keeps the later row)");
    MmdbWriterOptions later_wins;
    later_wins.overlap = OverlapPolicy::kLaterWins;
    REQUIRE_MESSAGE(build_geodb({v4, v6}, out, later_wins, error, &stats), error);
    CHECK(stats.overlapping_rows == 1);
    CHECK(stats.rows == 4);
    CHECK(stats.asn_rows == 4);
    CHECK(stats.records == 4);
    MMDB_s db{};
    REQUIRE(MMDB_open(out.c_str(), MMDB_MODE_MMAP, &db) == MMDB_SUCCESS);
    CHECK(std::string(db.metadata.database_type) == "flowaudit-ASN");
    CHECK(db.metadata.ip_version == 6);
    auto asn_of = [&db](const char* a) -> long {
      int gai = 0;
      int status = 0;
      auto r = MMDB_lookup_string(&db, a, &gai, &status);
      if (gai != 0 || status != MMDB_SUCCESS || !r.found_entry) return -1;
      MMDB_entry_data_s d{};
      if (MMDB_get_value(&r.entry, &d, "autonomous_system_number", nullptr) != MMDB_SUCCESS) return -2;
      return static_cast<long>(d.uint32);
    };
    CHECK(asn_of("1.0.0.1") == 13335);
    CHECK(asn_of("43.109.38.198") == 396986);  // the later file wins where they overlap
    CHECK(asn_of("43.109.37.1") == 24429);
    CHECK(asn_of("2600:9000:2490::1") == 16509);
    CHECK(asn_of("9.9.9.9") == -1);
    MMDB_close(&db);

    const std::string cc = dir.write("cc.csv", bytes("1.0.0.0,1.0.0.255,AU\n"));
    REQUIRE(build_geodb({cc}, out, {}, error));
    REQUIRE(build_geodb({cc, v4}, (dir.path() / "mixed.mmdb").string(), later_wins, error));
    REQUIRE(MMDB_open(out.c_str(), MMDB_MODE_MMAP, &db) == MMDB_SUCCESS);
    CHECK(std::string(db.metadata.database_type) == "flowaudit-Country");
    MMDB_close(&db);
  }

  TEST_CASE("build_geodb errors") {
    flowaudit::test::TempDir dir;
    REQUIRE(dir.ok());
    const std::string out = (dir.path() / "x.mmdb").string();
    std::string error;
    CHECK_FALSE(build_geodb({}, out, {}, error));
    CHECK(error == "no CSV files given");
    const std::string missing = (dir.path() / "nope.csv").string();
    CHECK_FALSE(build_geodb({missing}, out, {}, error));
    CHECK(error == missing + ": no such file");
    const std::string empty = dir.write("empty.csv", bytes("# nothing\n"));
    CHECK_FALSE(build_geodb({empty}, out, {}, error));
    CHECK(error == "no ranges in 1 file");
    const std::string host_bits = dir.write("h.csv", bytes("1.0.0.0/24,AU\n1.1.1.1/24,AU\n"));
    CHECK_FALSE(build_geodb({host_bits}, out, {}, error));
    CHECK(error == host_bits + ":2: 1.1.1.1/24 has bits set after the prefix length");
    const std::string bad_utf8 = dir.write("u.csv", bytes("1.0.0.0/24,1,\xC3\x28\n"));
    CHECK_FALSE(build_geodb({bad_utf8}, out, {}, error));
    CHECK(error == bad_utf8 + ":1: string is not valid UTF-8");
    MmdbWriterOptions strict;
    strict.overlap = OverlapPolicy::kReject;
    const std::string overlap = dir.write("o.csv", bytes("1.0.0.0/16,AU\n\n1.0.3.0,1.0.3.255,CN\n"));
    CHECK_FALSE(build_geodb({overlap}, out, strict, error));
    CHECK(error == overlap + ":3: 1.0.3.0-1.0.3.255 overlaps " + overlap +
                       ":1 (1.0.0.0-1.0.255.255); overlapping ranges are rejected (--overlap later-wins keeps the "
                       "later row)");
    RangeCsvLimits tiny;
    tiny.max_file_bytes = 4;
    CHECK_FALSE(read_range_csv(overlap, [](const RangeRow&, std::string&) { return true; }, error, tiny));
    CHECK(error == overlap + ": is larger than 4 bytes");
  }

  TEST_CASE("build_geodb: overlapping and duplicate rows name both lines, within a file and across files") {
    flowaudit::test::TempDir dir;
    REQUIRE(dir.ok());
    const std::string out = (dir.path() / "o.mmdb").string();
    std::string error;
    const std::string dup = dir.write("dup.csv", bytes("1.0.0.0,1.0.0.255,AU\n# x\n1.0.0.0/24,AU\n"));
    CHECK_FALSE(build_geodb({dup}, out, {}, error));
    CHECK(error.rfind(dup + ":3: 1.0.0.0-1.0.0.255 duplicates " + dup + ":1 (1.0.0.0-1.0.0.255); ", 0) == 0);
    // Partial overlap, the later row starting first in address order; across two files.
    const std::string a = dir.write("a.csv", bytes("10.0.0.128,10.0.1.255,DE\n"));
    const std::string b = dir.write("b.csv", bytes("9.0.0.0/8,US\n10.0.0.0,10.0.0.128,FR\n"));
    CHECK_FALSE(build_geodb({a, b}, out, {}, error));
    CHECK(error.rfind(b + ":2: 10.0.0.0-10.0.0.128 overlaps " + a + ":1 (10.0.0.128-10.0.1.255); ", 0) == 0);
    CHECK(error.find('\n') == std::string::npos);
    // Adjacent is not overlapping; IPv6 covering ::/96 overlaps IPv4 (the writer puts IPv4 there).
    const std::string adjacent = dir.write("adj.csv", bytes("10.0.0.0,10.0.0.127,DE\n10.0.0.128/25,FR\n"));
    CHECK_MESSAGE(build_geodb({adjacent}, out, {}, error), error);
    const std::string mixed = dir.write("mixed.csv", bytes("10.0.0.0/8,DE\n::/64,FR\n"));
    CHECK_FALSE(build_geodb({mixed}, out, {}, error));
    CHECK(error.rfind(mixed + ":2: ::-::ffff:ffff:ffff:ffff overlaps " + mixed + ":1 (10.0.0.0-10.255.255.255); ", 0) == 0);
    // Three rows over one range: the count says so.
    std::filesystem::remove(out);
    const std::string many = dir.write("many.csv", bytes("1.0.0.0/8,AU\n1.2.0.0/16,AU\n1.3.0.0/16,AU\n"));
    CHECK_FALSE(build_geodb({many}, out, {}, error));
    CHECK(error.find("[2 overlapping rows in all]") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out));
  }

  TEST_CASE("build_geodb: --out naming an input, however spelled, is refused before anything is written") {
    flowaudit::test::TempDir dir;
    REQUIRE(dir.ok());
    const std::string csv = dir.write("in.csv", bytes("1.0.0.0/24,AU\n"));
    const std::string text = "1.0.0.0/24,AU\n";
    std::string error;
    const auto parent = dir.path().filename().string();
    std::filesystem::create_symlink(csv, dir.path() / "link.csv");
    std::filesystem::create_hard_link(csv, dir.path() / "hard.csv");
    const std::vector<std::string> spellings{
        csv,
        (dir.path() / "." / "in.csv").string(),
        (dir.path() / ".." / parent / "in.csv").string(),
        (dir.path() / "link.csv").string(),
        (dir.path() / "hard.csv").string(),
    };
    for (const auto& out : spellings) {
      INFO(out);
      CHECK_FALSE(build_geodb({csv}, out, {}, error));
      CHECK(error == out + ": is the input " + csv + " (--out must name another file)");
      std::ifstream in(csv);
      const std::string kept((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      CHECK(kept == text);
    }
    // OUT.tmp would be written, then renamed: it must not be an input either.
    const std::string tmp_input = dir.write("x.mmdb.tmp", bytes(text));
    CHECK_FALSE(build_geodb({tmp_input}, (dir.path() / "x.mmdb").string(), {}, error));
    CHECK(error.find("is the input " + tmp_input) != std::string::npos);
    // Another file is fine.
    CHECK_MESSAGE(build_geodb({csv}, (dir.path() / "new.mmdb").string(), {}, error), error);
  }
}
