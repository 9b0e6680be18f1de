// Writes MaxMind DB files (format 2.0): a binary search tree over address bits, a data section of
// deduplicated records, and the metadata map. The engine behind `flowaudit geodb build`, and the
// maker of the fixture databases in tests/data/geo/.
//
// Addresses live in one 128-bit tree; IPv4 networks sit at ::a.b.c.d/96+n, where libmaxminddb looks
// for IPv4 addresses in an IPv6 database. A database with only IPv4 input is written as
// ip_version 4 (the ::/96 subtree becomes the root) unless IpVersion::kV6 is asked for. In an IPv6
// database ::ffff:0:0/96 (IPv4-mapped) and 2002::/16 (6to4) are aliased to the IPv4 subtree, as
// MaxMind's own databases do, unless the input already puts data there.
//
// Overlaps: with OverlapPolicy::kReject (the default) a network overlapping one added before is an
// error naming the later one (build_geodb names both rows). With kLaterWins a network replaces, on
// the addresses they share, any network added before it: an override file given last wins, and the
// published ip-location-db ASN ranges, which overlap in places (asn-ipv4.csv has
// 214.95.0.0-215.0.255.255 and then 215.0.0.0-215.1.3.255), build as a reader would expect from the
// later, narrower row.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "core/ip_address.h"

namespace flowaudit::analysis::enrich {

// A map entry is a named struct, not std::pair: a pair naming the still-incomplete MmdbValue gets
// instantiated too early under clang's checks of the variant below.
struct MmdbValue;
struct MmdbMapEntry;
using MmdbMap = std::vector<MmdbMapEntry>;  // keys in insertion order
using MmdbArray = std::vector<MmdbValue>;

// A data-section value. Only the types the writer needs: no doubles, floats or signed ints.
struct MmdbValue {
  std::variant<std::string, std::uint16_t, std::uint32_t, std::uint64_t, bool, MmdbMap, MmdbArray> value;
};

struct MmdbMapEntry {
  std::string first;   // key
  MmdbValue second;    // value
};

enum class OverlapPolicy : std::uint8_t { kLaterWins, kReject };
enum class IpVersion : std::uint8_t { kAuto, kV4, kV6 };

struct MmdbWriterOptions {
  std::string database_type = "flowaudit";
  std::string description_en;            // metadata description {en: ...}; omitted when empty
  std::vector<std::string> languages;    // metadata languages (may be empty)
  std::optional<std::uint64_t> build_epoch;  // default: now
  OverlapPolicy overlap = OverlapPolicy::kReject;  // fail closed: later-wins is asked for
  IpVersion ip_version = IpVersion::kAuto;
  bool ipv4_aliases = true;              // ::ffff:0:0/96 and 2002::/16 in IPv6 databases
};

// Limits on what one database may hold; input beyond them is an error, never a crash or an
// unbounded allocation.
inline constexpr std::size_t kMmdbMaxNetworks = 64'000'000;   // CIDRs added (after range splitting)
inline constexpr std::size_t kMmdbMaxNodes = 100'000'000;     // tree nodes while building (8 bytes each)
inline constexpr std::size_t kMmdbMaxRecords = 16'000'000;    // distinct records
inline constexpr std::size_t kMmdbMaxStringBytes = 4096;      // one utf8_string
inline constexpr std::size_t kMmdbMaxContainerItems = 256;    // entries of one map or array
inline constexpr int kMmdbMaxDepth = 8;                       // nesting of maps and arrays
inline constexpr std::size_t kMmdbMaxDataBytes = std::size_t{1} << 30;  // data section

// The minimal list of CIDR blocks covering first..last (same family, first <= last), in order.
// Empty when the arguments are invalid.
std::vector<core::Cidr> range_to_cidrs(const core::IpAddress& first, const core::IpAddress& last);

class MmdbWriter {
 public:
  explicit MmdbWriter(MmdbWriterOptions options = {});

  // `origin` names where the network came from ("FILE:LINE") and starts every error message.
  // On failure `error` is set and the writer is unchanged for that network except under
  // kLaterWins, where nothing is ever rejected as an overlap.
  bool add_network(const core::Cidr& network, const MmdbValue& record, std::string_view origin,
                   std::string& error);
  bool add_range(const core::IpAddress& first, const core::IpAddress& last, const MmdbValue& record,
                 std::string_view origin, std::string& error);

  // The whole file. Call once, after the last add.
  std::optional<std::vector<std::uint8_t>> build(std::string& error);
  // build() and write to `path` (through a temporary file renamed over it).
  bool write_file(const std::string& path, std::string& error);

  // The database_type written by build(), when it is only known after the input was read.
  void set_database_type(std::string type) { options_.database_type = std::move(type); }
  [[nodiscard]] const MmdbWriterOptions& options() const noexcept { return options_; }

  [[nodiscard]] std::size_t network_count() const noexcept { return networks_; }
  [[nodiscard]] std::size_t record_count() const noexcept { return records_.size(); }

 private:
  struct Node {
    std::uint32_t child[2];
  };

  bool check_value(const MmdbValue& v, int depth, std::string& error) const;
  std::uint32_t intern_record(const MmdbValue& record);
  bool new_node(std::uint32_t fill, std::uint32_t& index);
  std::uint32_t collapse(std::uint32_t slot);
  std::uint32_t ipv4_root() const;
  void add_alias(const std::array<std::uint8_t, 16>& bits, unsigned prefix, std::uint32_t target);

  MmdbWriterOptions options_;
  std::vector<Node> nodes_;
  std::vector<MmdbValue> records_;
  std::unordered_map<std::string, std::uint32_t> record_index_;  // canonical encoding -> record
  std::size_t networks_ = 0;
  bool saw_v6_ = false;
};

// One call for a list of networks: the writer above, then write_file.
struct MmdbEntry {
  core::Cidr network;
  MmdbValue record;
  std::string origin;
};
bool write_mmdb(const std::vector<MmdbEntry>& entries, const MmdbWriterOptions& options,
                const std::string& path, std::string& error);

}  // namespace flowaudit::analysis::enrich
