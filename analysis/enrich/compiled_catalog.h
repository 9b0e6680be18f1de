// The built-in catalog in a compiled form, for a fast start.
//
// The YAML files stay the product users read and edit. At build time flowaudit-catalog-compile
// (tools/catalog_compile.cc) loads and validates them and writes the result, with a SHA-256 of the
// YAML files it came from, to catalog.bin (installed beside them in share/flowaudit). At run time
// load_builtin_catalog() uses catalog.bin only while that digest still matches the YAML files; an
// outdated or unreadable catalog.bin is a warning and the YAML is loaded instead. Users' --catalog
// files always go through YAML. Why: yaml-cpp needs ~40 ms for the ~400 KB of the imported catalog,
// the compiled form ~1 ms (digest included).
//
// The compiled file is untrusted input like any other: every read is bounds-checked (ByteReader),
// every count and length has the limits of the YAML loader, every name, id, country code, category
// and CIDR is validated again, and an error is one line naming the file and the offset.
//
// Layout (integers little-endian; str = u16 length + bytes):
//   magic "FACATLG\0", u32 version (1), 32-byte SHA-256 (see catalog_digest),
//   u32 file count, u32 company count, then companies:
//     str id, name, jurisdiction, incorporated, parent, source, group, group_jurisdiction; u32 file; u32 line
//   u32 service count, then services:
//     str id, name; u8 category; str company, operator, jurisdiction, parent, parent_jurisdiction, source;
//     u32 file; u32 line; u32 n + n str domains; u32 n + n str hosts; u32 n + n str cidrs
//   and nothing after. `file` is an index into the built-in files (catalog_files order).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "analysis/enrich/service_catalog.h"

namespace flowaudit::analysis::enrich {

using CatalogDigest = std::array<std::uint8_t, 32>;

inline constexpr std::string_view kCompiledCatalogName = "catalog.bin";
inline constexpr std::size_t kMaxCompiledCatalogBytes = 64u << 20;
inline constexpr std::size_t kMaxCatalogFiles = 1024;

// SHA-256 over every file's path relative to data_dir, its size and its bytes, in the given order.
// nullopt (and `error`) if a file cannot be read.
[[nodiscard]] std::optional<CatalogDigest> catalog_digest(const std::filesystem::path& data_dir,
                                                          const std::vector<std::filesystem::path>& files,
                                                          std::string& error);

// The compiled form of a catalog loaded from `files` (built-in layer only).
[[nodiscard]] std::string write_compiled_catalog(const ServiceCatalog& catalog, const CatalogDigest& digest,
                                                 const std::vector<std::filesystem::path>& files);

// Reads a compiled catalog. `files` are the built-in files (entries get their paths back from them);
// with `expected`, a different digest is an error. On error: nullopt and a one-line `error`
// naming `name` and the offset.
[[nodiscard]] std::optional<ServiceCatalog> read_compiled_catalog(std::span<const std::uint8_t> bytes,
                                                                  const std::string& name,
                                                                  const std::vector<std::filesystem::path>& files,
                                                                  const CatalogDigest* expected, std::string& error);

// The built-in catalog of data_dir: compiled when a catalog.bin with the YAML files' digest is found
// (data_dir/catalog.bin, or the build tree's when data_dir is the source tree's data), else the YAML
// files (`warnings` says why when a catalog.bin was there but not used). `used` names the file the
// catalog came from (catalog.bin's path, or empty for YAML).
[[nodiscard]] std::optional<ServiceCatalog> load_builtin_catalog(const std::filesystem::path& data_dir,
                                                                 const std::vector<std::filesystem::path>& files,
                                                                 std::vector<CatalogError>& errors,
                                                                 std::vector<std::string>& warnings,
                                                                 std::string* used = nullptr);

}  // namespace flowaudit::analysis::enrich
