// Hostile .mmdb files: metadata that libmaxminddb 1.7.1 trusts too far, and records built to
// exhaust its recursion. Each must give a one-line error naming the file, or empty fields; never a
// crash or a hang.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "analysis/enrich/geo_lookup.h"
#include "analysis/enrich/mmdb_check.h"
#include "unit/analysis/enrich/geo_test_mmdb.h"
#include "unit/temp_dir.h"

using namespace flowaudit::analysis::enrich;
using flowaudit::core::IpAddress;
using flowaudit::test::MmdbValue;
using flowaudit::test::raw_metadata;
using flowaudit::test::raw_mmdb;

namespace {

using Bytes = std::vector<std::uint8_t>;

// One node of 24-bit records.
Bytes node24(std::uint32_t left, std::uint32_t right) {
  return {static_cast<std::uint8_t>(left >> 16),  static_cast<std::uint8_t>(left >> 8),
          static_cast<std::uint8_t>(left),        static_cast<std::uint8_t>(right >> 16),
          static_cast<std::uint8_t>(right >> 8),  static_cast<std::uint8_t>(right)};
}

Bytes encoded(const MmdbValue& v) {
  Bytes out;
  v.encode(out);
  return out;
}

// A pointer to `offset` (< 2048) in the section it sits in.
void pointer(Bytes& out, std::uint32_t offset) {
  out.push_back(static_cast<std::uint8_t>(0x20 | ((offset >> 8) & 7)));
  out.push_back(static_cast<std::uint8_t>(offset));
}

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

std::string open_error(const std::string& path) {
  GeoLookup g;
  const auto err = g.add_database(path);
  return err.value_or("");
}

void check_one_line_naming(const std::string& err, const std::string& path, const std::string& what) {
  INFO(err);
  CHECK(err.find(path) != std::string::npos);
  CHECK(err.find(what) != std::string::npos);
  CHECK(err.find('\n') == std::string::npos);
}

// The committed tests/data/bad/mmdb-node-count-overflow.mmdb is this file (see tests/data/README.md).
Bytes node_count_overflow(std::uint16_t ip_version) {
  // node_count * 6 wraps to 0xfffffffa in 32 bits; + 16 wraps to 10, which "fits" any file. The
  // left record names node 0xffffff, 100 MB past the end: MMDB_open's IPv4 start-node walk (IPv6)
  // or the first lookup (IPv4) reads there.
  return raw_mmdb(node24(0xFFFFFF, 0xFFFFFF), encoded(MmdbValue::map({{"country_code", MmdbValue::str("US")}})),
                  raw_metadata(0xFFFFFFFFu, 24, ip_version));
}

}  // namespace

TEST_SUITE("analysis.enrich.mmdb_hostile") {
  TEST_CASE("node_count that overflows libmaxminddb's size check is refused before MMDB_open") {
    flowaudit::test::TempDir dir;
    for (std::uint16_t version : {std::uint16_t{6}, std::uint16_t{4}}) {
      const auto path = dir.write("overflow-v" + std::to_string(version) + ".mmdb", node_count_overflow(version));
      check_one_line_naming(open_error(path), path, "node_count 4294967295");
    }
  }

  // FLOWAUDIT_WRITE_FIXTURES=1 rewrites the committed file; otherwise it must be what the code builds.
  TEST_CASE("committed tests/data/bad/mmdb-node-count-overflow.mmdb") {
    const std::string path = std::string(FLOWAUDIT_SOURCE_DIR "/tests/data/bad/mmdb-node-count-overflow.mmdb");
    const Bytes want = node_count_overflow(6);
    const char* env = std::getenv("FLOWAUDIT_WRITE_FIXTURES");
    if (env != nullptr && std::string(env) == "1") {
      std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(want.data()),
                                                  static_cast<std::streamsize>(want.size()));
    }
    std::ifstream in(path, std::ios::binary);
    const Bytes got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(got == want);
    check_one_line_naming(open_error(path), path, "node_count 4294967295");
  }

  TEST_CASE("a search tree larger than the file, bad record_size or ip_version") {
    flowaudit::test::TempDir dir;
    const Bytes data = encoded(MmdbValue::map({{"country_code", MmdbValue::str("US")}}));
    struct Case {
      const char* name;
      Bytes file;
      const char* what;
    };
    const std::vector<Case> cases{
        {"tree.mmdb", raw_mmdb(node24(1, 1), data, raw_metadata(1000, 24, 4)), "node_count 1000"},
        {"record.mmdb", raw_mmdb(node24(1, 1), data, raw_metadata(1, 20, 4)), "record_size 20"},
        {"version.mmdb", raw_mmdb(node24(1, 1), data, raw_metadata(1, 24, 5)), "ip_version 5"},
        {"zero.mmdb", raw_mmdb(node24(1, 1), data, raw_metadata(0, 24, 4)), "node_count 0"},
        // The tree ends inside the metadata marker: the data section would start past it.
        {"marker.mmdb", raw_mmdb(node24(1, 1), {}, raw_metadata(4, 24, 4)), "node_count 4"},
    };
    for (const Case& c : cases) {
      const auto path = dir.write(c.name, c.file);
      check_one_line_naming(open_error(path), path, c.what);
    }
  }

  TEST_CASE("self-referencing metadata (exponential under libmaxminddb) is refused") {
    // [ptr -> map] [A0] .. [A19] [map]; Ai = [ptr Ai+1, ptr Ai+1]: languages unfolds to 2^20 values.
    Bytes meta;
    pointer(meta, 0);  // patched below
    std::vector<std::uint32_t> at;
    constexpr int kLevels = 20;
    std::uint32_t next = 2;
    for (int i = 0; i < kLevels; ++i) {
      at.push_back(next);
      next += 2 + 4;  // array header (2 bytes) + two 2-byte pointers
    }
    const std::uint32_t last = next;
    for (int i = 0; i < kLevels; ++i) {
      meta.push_back(0x02);  // extended type, 2 entries
      meta.push_back(0x04);  // array
      const std::uint32_t target = i + 1 < kLevels ? at[static_cast<std::size_t>(i) + 1] : last;
      pointer(meta, target);
      pointer(meta, target);
    }
    const Bytes leaf = encoded(MmdbValue::array({MmdbValue::str("en")}));
    meta.insert(meta.end(), leaf.begin(), leaf.end());
    const auto map_at = static_cast<std::uint32_t>(meta.size());
    // Replace languages' value: the map is re-encoded with a pointer in its place.
    MmdbValue::map({{"binary_format_major_version", MmdbValue::u16(2)},
                    {"binary_format_minor_version", MmdbValue::u16(0)},
                    {"build_epoch", MmdbValue::u64(1767225600)},
                    {"database_type", MmdbValue::str("hostile")},
                    {"description", MmdbValue::map({})},
                    {"ip_version", MmdbValue::u16(4)},
                    {"node_count", MmdbValue::u32(1)},
                    {"record_size", MmdbValue::u16(24)}})
        .encode(meta);
    meta[map_at] = static_cast<std::uint8_t>(meta[map_at] + 1);  // one more entry: languages
    MmdbValue::str("languages").encode(meta);
    pointer(meta, at[0]);
    meta[0] = static_cast<std::uint8_t>(0x20 | ((map_at >> 8) & 7));
    meta[1] = static_cast<std::uint8_t>(map_at);

    flowaudit::test::TempDir dir;
    const Bytes data = encoded(MmdbValue::map({{"country_code", MmdbValue::str("US")}}));
    const auto path = dir.write("languages.mmdb", raw_mmdb(node24(17, 1), data, meta));
    check_one_line_naming(open_error(path), path, "metadata is damaged");
  }

  TEST_CASE("a record nested a million deep gives empty fields, not a stack overflow") {
    // {a: [[[... ""]]], country_code: "US"}: looking up country_code skips `a` by recursion.
    constexpr std::size_t kDepth = 1'000'000;
    Bytes data{0xE2, 0x41, 'a'};
    data.reserve(3 + 2 * kDepth + 20);
    for (std::size_t i = 0; i < kDepth; ++i) {
      data.push_back(0x01);  // extended type, 1 entry
      data.push_back(0x04);  // array
    }
    data.push_back(0x40);  // ""
    const Bytes cc = encoded(MmdbValue::str("country_code"));
    const Bytes us = encoded(MmdbValue::str("US"));
    data.insert(data.end(), cc.begin(), cc.end());
    data.insert(data.end(), us.begin(), us.end());

    flowaudit::test::TempDir dir;
    // One node: 0.0.0.0/1 -> the record (1 + 16 + 0), 128.0.0.0/1 -> empty (node_count).
    const auto path = dir.write("deep.mmdb", raw_mmdb(node24(17, 1), data, raw_metadata(1, 24, 4)));
    GeoLookup g;
    const auto err = g.add_database(path);
    REQUIRE_MESSAGE(!err.has_value(), err.value_or(""));
    CHECK(g.lookup(ip("8.8.8.8")).empty());
  }

  TEST_CASE("records with pointers outside the data section, to pointers, or in a loop give empty fields") {
    flowaudit::test::TempDir dir;
    std::vector<Bytes> records;
    // country_code -> a pointer far past the end (pointer size 3: 526336 + ...).
    records.push_back(Bytes{0xE1, 0x4C, 'c', 'o', 'u', 'n', 't', 'r', 'y', '_', 'c', 'o', 'd', 'e', 0x37, 0xFF,
                            0xFF, 0xFF});
    // A map holding a pointer to itself.
    Bytes loop{0xE2};
    MmdbValue::str("self").encode(loop);
    pointer(loop, 0);
    MmdbValue::str("country_code").encode(loop);
    MmdbValue::str("US").encode(loop);
    records.push_back(loop);
    int n = 0;
    for (const Bytes& data : records) {
      const auto path = dir.write("rec" + std::to_string(n++) + ".mmdb",
                                  raw_mmdb(node24(17, 1), data, raw_metadata(1, 24, 4)));
      GeoLookup g;
      const auto err = g.add_database(path);
      INFO(path);
      REQUIRE_MESSAGE(!err.has_value(), err.value_or(""));
      CHECK(g.lookup(ip("8.8.8.8")).empty());
      CHECK(g.lookup(ip("200.1.1.1")).empty());
    }
  }

  TEST_CASE("check_mmdb_value: limits") {
    const Bytes ok = encoded(MmdbValue::map({{"a", MmdbValue::array({MmdbValue::u32(7), MmdbValue::str("x")})}}));
    CHECK(check_mmdb_value(ok, 0));
    for (std::size_t cut = 0; cut < ok.size(); ++cut) {
      const Bytes truncated(ok.begin(), ok.begin() + static_cast<long>(cut));
      CHECK_FALSE(check_mmdb_value(truncated, 0));
    }
    CHECK_FALSE(check_mmdb_value(ok, static_cast<std::uint32_t>(ok.size())));
    Bytes wide{0xE0 | 29, 0xFF};  // a map claiming 284 entries that are not there
    CHECK_FALSE(check_mmdb_value(wide, 0));
    Bytes ptr_to_ptr;
    pointer(ptr_to_ptr, 2);
    pointer(ptr_to_ptr, 0);
    CHECK_FALSE(check_mmdb_value(ptr_to_ptr, 0));
  }
}
