// Our own checks of an MMDB file before and while libmaxminddb reads it.
//
// libmaxminddb 1.7.1 trusts its metadata more than a hostile file deserves: it multiplies
// node_count by the record size in 32 bits (node_count 0xffffffff wraps to a tiny search tree that
// passes its size check, and the first node walk in MMDB_open already reads outside the mapping),
// follows pointers in the metadata languages array with only a depth limit (a few self-referencing
// arrays grow exponentially), and skips unwanted map values by unbounded recursion (a record nested
// deep enough overflows the stack). So the metadata is decoded here, with limits, before MMDB_open
// sees the file, the layout it describes must fit the file, and a data record must pass a bounded
// structural check before any MMDB_aget_value on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace flowaudit::analysis::enrich {

inline constexpr std::size_t kMmdbMetadataMaxBytes = 128 * 1024;  // libmaxminddb looks no further back
inline constexpr int kMmdbCheckMaxDepth = 32;                      // maps/arrays/pointers nested
inline constexpr std::size_t kMmdbCheckMaxValues = 4096;           // values visited in one check

struct MmdbLayout {
  std::uint64_t file_size = 0;
  std::uint32_t node_count = 0;
  std::uint16_t record_size = 0;  // bits per record: 24, 28 or 32
  std::uint16_t ip_version = 0;
  std::uint16_t major_version = 0;
  std::uint64_t tree_bytes = 0;       // node_count * record_size * 2 / 8
  std::uint64_t metadata_offset = 0;  // first byte after the last metadata marker
};

// Decodes the metadata found in `tail`, the last bytes of a file of `file_size` bytes (at least
// min(file_size, kMmdbMetadataMaxBytes) of them), and checks that the layout it describes fits the
// file. Returns what is wrong, as a phrase without the file name, or nullopt.
[[nodiscard]] std::optional<std::string> check_mmdb_metadata(std::span<const std::uint8_t> tail,
                                                             std::uint64_t file_size, MmdbLayout& out);

// The layout checks alone: the search tree and the 16-byte separator end before the metadata
// marker, so the data section lies inside the file, before the metadata.
[[nodiscard]] std::optional<std::string> check_mmdb_layout(const MmdbLayout& layout);

// Bounded structural check of the value at `offset` in `section` (a data section, or a metadata
// section): every control byte and payload inside the section, pointers inside it and not to
// pointers, nesting at most kMmdbCheckMaxDepth, at most kMmdbCheckMaxValues values visited
// (pointers followed), map keys strings, fixed-size types of their size.
[[nodiscard]] bool check_mmdb_value(std::span<const std::uint8_t> section, std::uint32_t offset);

}  // namespace flowaudit::analysis::enrich
