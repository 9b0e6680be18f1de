// Test-only: a minimal MMDB (format 2.0) encoder for geolocation fixtures, so the geo tests need
// neither committed binaries nor the production writer. Data section: maps, UTF-8 strings,
// uint16/uint32/uint64, arrays; no pointers. Search tree: 24-bit records. Networks must not nest
// (a longer prefix inserted under a shorter one is not supported).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/ip_address.h"

namespace flowaudit::test {

class MmdbValue {
 public:
  enum class Kind : std::uint8_t { kMap, kString, kUint16, kUint32, kUint64, kArray };

  static MmdbValue str(std::string s) { return MmdbValue(Kind::kString, std::move(s), 0); }
  static MmdbValue u16(std::uint16_t v) { return MmdbValue(Kind::kUint16, {}, v); }
  static MmdbValue u32(std::uint32_t v) { return MmdbValue(Kind::kUint32, {}, v); }
  static MmdbValue u64(std::uint64_t v) { return MmdbValue(Kind::kUint64, {}, v); }
  static MmdbValue map(std::vector<std::pair<std::string, MmdbValue>> m) {
    MmdbValue v(Kind::kMap, {}, 0);
    v.map_ = std::move(m);
    return v;
  }
  static MmdbValue array(std::vector<MmdbValue> a) {
    MmdbValue v(Kind::kArray, {}, 0);
    v.array_ = std::move(a);
    return v;
  }

  void encode(std::vector<std::uint8_t>& out) const {
    switch (kind_) {
      case Kind::kString:
        control(out, 2, s_.size());
        out.insert(out.end(), s_.begin(), s_.end());
        break;
      case Kind::kUint16: uint(out, 5, n_); break;
      case Kind::kUint32: uint(out, 6, n_); break;
      case Kind::kUint64: uint(out, 9, n_); break;
      case Kind::kMap:
        control(out, 7, map_.size());
        for (const auto& [k, v] : map_) {
          str(k).encode(out);
          v.encode(out);
        }
        break;
      case Kind::kArray:
        control(out, 11, array_.size());
        for (const auto& v : array_) v.encode(out);
        break;
    }
  }

 private:
  MmdbValue(Kind k, std::string s, std::uint64_t n) : kind_(k), s_(std::move(s)), n_(n) {}

  static void control(std::vector<std::uint8_t>& out, unsigned type, std::size_t size) {
    const unsigned t = type <= 7 ? type : 0;
    std::uint8_t sz_bits = 0;
    std::vector<std::uint8_t> extra;
    if (size < 29) {
      sz_bits = static_cast<std::uint8_t>(size);
    } else if (size < 285) {
      sz_bits = 29;
      extra.push_back(static_cast<std::uint8_t>(size - 29));
    } else {
      sz_bits = 30;
      const std::size_t v = size - 285;
      extra.push_back(static_cast<std::uint8_t>(v >> 8));
      extra.push_back(static_cast<std::uint8_t>(v));
    }
    out.push_back(static_cast<std::uint8_t>((t << 5) | sz_bits));
    if (type > 7) out.push_back(static_cast<std::uint8_t>(type - 7));
    out.insert(out.end(), extra.begin(), extra.end());
  }

  static void uint(std::vector<std::uint8_t>& out, unsigned type, std::uint64_t v) {
    std::vector<std::uint8_t> bytes;
    for (std::uint64_t x = v; x != 0; x >>= 8) bytes.insert(bytes.begin(), static_cast<std::uint8_t>(x));
    control(out, type, bytes.size());
    out.insert(out.end(), bytes.begin(), bytes.end());
  }

  Kind kind_;
  std::string s_;
  std::uint64_t n_;
  std::vector<std::pair<std::string, MmdbValue>> map_;
  std::vector<MmdbValue> array_;
};

class MmdbBuilder {
 public:
  MmdbBuilder(std::string database_type, unsigned ip_version, std::string description = {},
              std::uint64_t build_epoch = 1767225600 /* 2026-01-01 */)
      : type_(std::move(database_type)), ip_version_(ip_version), description_(std::move(description)),
        epoch_(build_epoch) {
    nodes_.push_back({kEmpty, kEmpty});
  }

  // `cidr` like "8.8.8.0/24" or "2001:4860::/32". In an IPv6 database IPv4 networks go under ::/96.
  bool insert(const std::string& cidr_text, const MmdbValue& value) {
    const auto cidr = core::Cidr::parse(cidr_text);
    if (!cidr) return false;
    std::vector<std::uint8_t> bits;
    const auto& b = cidr->base().bytes();
    const bool v4 = cidr->base().is_v4();
    if (ip_version_ == 4 && !v4) return false;
    if (ip_version_ == 6 && v4) bits.assign(96, 0);
    for (unsigned i = 0; i < cidr->prefix(); ++i) bits.push_back((b[i / 8] >> (7 - i % 8)) & 1);
    if (bits.empty()) return false;
    const std::int64_t data = -static_cast<std::int64_t>(data_.size()) - 2;
    value.encode(data_);
    std::size_t node = 0;
    for (std::size_t i = 0; i + 1 < bits.size(); ++i) {
      if (nodes_[node].rec[bits[i]] == kEmpty) {
        nodes_.push_back({kEmpty, kEmpty});  // may move nodes_: no reference held across it
        nodes_[node].rec[bits[i]] = static_cast<std::int64_t>(nodes_.size() - 1);
      }
      const std::int64_t rec = nodes_[node].rec[bits[i]];
      if (rec < 0) return false;  // nested under an existing network
      node = static_cast<std::size_t>(rec);
    }
    nodes_[node].rec[bits.back()] = data;
    return true;
  }

  [[nodiscard]] std::vector<std::uint8_t> build() const {
    std::vector<std::uint8_t> out;
    const auto node_count = static_cast<std::uint64_t>(nodes_.size());
    for (const Node& n : nodes_) {
      for (std::int64_t rec : n.rec) {
        std::uint64_t v = 0;
        if (rec == kEmpty) {
          v = node_count;
        } else if (rec >= 0) {
          v = static_cast<std::uint64_t>(rec);
        } else {
          v = node_count + 16 + static_cast<std::uint64_t>(-rec - 2);
        }
        out.push_back(static_cast<std::uint8_t>(v >> 16));
        out.push_back(static_cast<std::uint8_t>(v >> 8));
        out.push_back(static_cast<std::uint8_t>(v));
      }
    }
    out.insert(out.end(), 16, 0);
    out.insert(out.end(), data_.begin(), data_.end());
    const std::string marker = "\xAB\xCD\xEFMaxMind.com";
    out.insert(out.end(), marker.begin(), marker.end());
    std::vector<std::pair<std::string, MmdbValue>> meta{
        {"binary_format_major_version", MmdbValue::u16(2)},
        {"binary_format_minor_version", MmdbValue::u16(0)},
        {"build_epoch", MmdbValue::u64(epoch_)},
        {"database_type", MmdbValue::str(type_)},
        {"ip_version", MmdbValue::u16(static_cast<std::uint16_t>(ip_version_))},
        {"languages", MmdbValue::array({MmdbValue::str("en")})},
        {"node_count", MmdbValue::u32(static_cast<std::uint32_t>(node_count))},
        {"record_size", MmdbValue::u16(24)},
    };
    // libmaxminddb's MMDB_open rejects metadata without a description map (an empty one will do).
    std::vector<std::pair<std::string, MmdbValue>> description;
    if (!description_.empty()) description.emplace_back("en", MmdbValue::str(description_));
    meta.emplace_back("description", MmdbValue::map(std::move(description)));
    MmdbValue::map(std::move(meta)).encode(out);
    return out;
  }

 private:
  static constexpr std::int64_t kEmpty = -1;
  struct Node {
    std::int64_t rec[2];
  };

  std::string type_;
  unsigned ip_version_;
  std::string description_;
  std::uint64_t epoch_;
  std::vector<Node> nodes_;
  std::vector<std::uint8_t> data_;
};

// A hand-made file for hostile-input tests: search tree bytes as given, the 16-byte separator,
// `data` bytes, the metadata marker and `metadata` (anything, for it is what is under test).
inline std::vector<std::uint8_t> raw_mmdb(const std::vector<std::uint8_t>& tree, const std::vector<std::uint8_t>& data,
                                          const std::vector<std::uint8_t>& metadata) {
  std::vector<std::uint8_t> out = tree;
  out.insert(out.end(), 16, 0);
  out.insert(out.end(), data.begin(), data.end());
  const std::string marker = "\xAB\xCD\xEFMaxMind.com";
  out.insert(out.end(), marker.begin(), marker.end());
  out.insert(out.end(), metadata.begin(), metadata.end());
  return out;
}

// Metadata as MmdbBuilder writes it, with the layout fields chosen by the test.
inline std::vector<std::uint8_t> raw_metadata(std::uint32_t node_count, std::uint16_t record_size,
                                              std::uint16_t ip_version) {
  std::vector<std::uint8_t> out;
  MmdbValue::map({
      {"binary_format_major_version", MmdbValue::u16(2)},
      {"binary_format_minor_version", MmdbValue::u16(0)},
      {"build_epoch", MmdbValue::u64(1767225600)},
      {"database_type", MmdbValue::str("hostile")},
      {"description", MmdbValue::map({})},
      {"ip_version", MmdbValue::u16(ip_version)},
      {"languages", MmdbValue::array({MmdbValue::str("en")})},
      {"node_count", MmdbValue::u32(node_count)},
      {"record_size", MmdbValue::u16(record_size)},
  }).encode(out);
  return out;
}

}  // namespace flowaudit::test
