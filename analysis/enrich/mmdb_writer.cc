#include "analysis/enrich/mmdb_writer.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>

namespace flowaudit::analysis::enrich {

namespace {

// Build-time tree slots: 0 = no data, 1..2^31-1 = node index + 1, high bit set = record index.
constexpr std::uint32_t kEmpty = 0;
constexpr std::uint32_t kDataBit = 0x8000'0000u;
constexpr std::uint32_t kNoId = std::numeric_limits<std::uint32_t>::max();

bool is_node(std::uint32_t slot) { return slot != kEmpty && (slot & kDataBit) == 0; }
bool is_data(std::uint32_t slot) { return (slot & kDataBit) != 0; }
std::uint32_t node_index(std::uint32_t slot) { return slot - 1; }
std::uint32_t node_slot(std::uint32_t index) { return index + 1; }

// Data section type numbers from the format spec.
enum class Type : std::uint8_t {
  kPointer = 1,
  kUtf8String = 2,
  kUint16 = 5,
  kUint32 = 6,
  kMap = 7,
  kUint64 = 9,
  kArray = 11,
  kBoolean = 14,
};

constexpr std::array<std::uint8_t, 14> kMetadataMarker = {0xAB, 0xCD, 0xEF, 'M', 'a', 'x', 'M',
                                                          'i',  'n',  'd',  '.', 'c', 'o', 'm'};
constexpr std::size_t kSeparatorBytes = 16;

std::size_t byte_length(std::uint64_t v) {
  std::size_t n = 0;
  while (v != 0) {
    ++n;
    v >>= 8;
  }
  return n;
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (s.size() - i <= extra) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    static constexpr std::uint32_t kMin[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

// Encodes values into a data section. With pointers on, a string already written (a map key in
// every record, an organisation shared by many networks) becomes a pointer to its first copy.
class Encoder {
 public:
  Encoder(std::vector<std::uint8_t>& out, bool use_pointers) : out_(out), use_pointers_(use_pointers) {}

  void value(const MmdbValue& v) {
    std::visit([this](const auto& x) { encode(x); }, v.value);
  }

 private:
  void control(Type type, std::size_t size) {
    const auto t = static_cast<std::uint8_t>(type);
    std::uint8_t code = 0;
    std::size_t extra_bytes = 0;
    std::size_t extra = 0;
    if (size < 29) {
      code = static_cast<std::uint8_t>(size);
    } else if (size < 29 + 256) {
      code = 29;
      extra = size - 29;
      extra_bytes = 1;
    } else if (size < 285 + 65536) {
      code = 30;
      extra = size - 285;
      extra_bytes = 2;
    } else {
      code = 31;
      extra = size - 65821;
      extra_bytes = 3;
    }
    if (t <= 7) {
      out_.push_back(static_cast<std::uint8_t>((t << 5) | code));
    } else {
      out_.push_back(code);
      out_.push_back(static_cast<std::uint8_t>(t - 7));
    }
    for (std::size_t i = extra_bytes; i > 0; --i) out_.push_back(static_cast<std::uint8_t>(extra >> (8 * (i - 1))));
  }

  static std::size_t pointer_length(std::uint32_t p) {
    if (p < 2048) return 2;
    if (p < 2048 + (1u << 19)) return 3;
    if (p < 526336 + (1u << 27)) return 4;
    return 5;
  }

  void pointer(std::uint32_t p) {
    const auto ptr = static_cast<std::uint8_t>(static_cast<std::uint8_t>(Type::kPointer) << 5);
    if (p < 2048) {
      out_.push_back(static_cast<std::uint8_t>(ptr | ((p >> 8) & 7)));
      out_.push_back(static_cast<std::uint8_t>(p));
    } else if (p < 2048 + (1u << 19)) {
      const std::uint32_t q = p - 2048;
      out_.push_back(static_cast<std::uint8_t>(ptr | (1u << 3) | ((q >> 16) & 7)));
      out_.push_back(static_cast<std::uint8_t>(q >> 8));
      out_.push_back(static_cast<std::uint8_t>(q));
    } else if (p < 526336 + (1u << 27)) {
      const std::uint32_t q = p - 526336;
      out_.push_back(static_cast<std::uint8_t>(ptr | (2u << 3) | ((q >> 24) & 7)));
      out_.push_back(static_cast<std::uint8_t>(q >> 16));
      out_.push_back(static_cast<std::uint8_t>(q >> 8));
      out_.push_back(static_cast<std::uint8_t>(q));
    } else {
      out_.push_back(static_cast<std::uint8_t>(ptr | (3u << 3)));
      for (int shift = 24; shift >= 0; shift -= 8) out_.push_back(static_cast<std::uint8_t>(p >> shift));
    }
  }

  void encode(const std::string& s) {
    if (use_pointers_) {
      const auto it = strings_.find(s);
      const std::size_t inline_length = 1 + (s.size() >= 29) + (s.size() >= 285) + s.size();
      if (it != strings_.end() && pointer_length(it->second) < inline_length) {
        pointer(it->second);
        return;
      }
      if (it == strings_.end() && out_.size() <= std::numeric_limits<std::uint32_t>::max()) {
        strings_.emplace(s, static_cast<std::uint32_t>(out_.size()));
      }
    }
    control(Type::kUtf8String, s.size());
    out_.insert(out_.end(), s.begin(), s.end());
  }

  void unsigned_int(Type type, std::uint64_t v) {
    const std::size_t n = byte_length(v);
    control(type, n);
    for (std::size_t i = n; i > 0; --i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * (i - 1))));
  }
  void encode(std::uint16_t v) { unsigned_int(Type::kUint16, v); }
  void encode(std::uint32_t v) { unsigned_int(Type::kUint32, v); }
  void encode(std::uint64_t v) { unsigned_int(Type::kUint64, v); }
  void encode(bool v) { control(Type::kBoolean, v ? 1 : 0); }

  void encode(const MmdbMap& m) {
    control(Type::kMap, m.size());
    for (const auto& [key, v] : m) {
      encode(key);
      value(v);
    }
  }
  void encode(const MmdbArray& a) {
    control(Type::kArray, a.size());
    for (const auto& v : a) value(v);
  }

  std::vector<std::uint8_t>& out_;
  bool use_pointers_;
  std::unordered_map<std::string, std::uint32_t> strings_;
};

std::string canonical(const MmdbValue& v) {
  std::vector<std::uint8_t> bytes;
  Encoder(bytes, false).value(v);
  return {bytes.begin(), bytes.end()};
}

// The network as 128 tree bits (IPv4 under ::/96) and its prefix length in that tree.
std::pair<std::array<std::uint8_t, 16>, unsigned> tree_bits(const core::Cidr& c) {
  std::array<std::uint8_t, 16> bits{};
  if (c.base().is_v4()) {
    for (int i = 0; i < 4; ++i) bits[12 + i] = c.base().bytes()[i];
    return {bits, c.prefix() + 96};
  }
  bits = c.base().bytes();
  return {bits, c.prefix()};
}

int bit_at(const std::array<std::uint8_t, 16>& bits, unsigned depth) {
  return (bits[depth / 8] >> (7 - depth % 8)) & 1;
}

bool host_bits_zero(const core::Cidr& c) {
  const std::size_t n = c.base().size();
  const auto& b = c.base().bytes();
  for (std::size_t bit = c.prefix(); bit < 8 * n; ++bit) {
    if (((b[bit / 8] >> (7 - bit % 8)) & 1) != 0) return false;
  }
  return true;
}

__extension__ typedef unsigned __int128 U128;

U128 to_u128(const core::IpAddress& a) {
  U128 v = 0;
  for (std::size_t i = 0; i < a.size(); ++i) v = (v << 8) | a.bytes()[i];
  return v;
}

core::IpAddress from_u128(U128 v, bool v4) {
  if (v4) return core::IpAddress::v4(static_cast<std::uint32_t>(v));
  std::array<std::uint8_t, 16> b{};
  for (int i = 15; i >= 0; --i) {
    b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v);
    v >>= 8;
  }
  return core::IpAddress::v6(std::span<const std::uint8_t, 16>(b));
}

std::string with_origin(std::string_view origin, const std::string& message) {
  return origin.empty() ? message : std::string(origin) + ": " + message;
}

}  // namespace

std::vector<core::Cidr> range_to_cidrs(const core::IpAddress& first, const core::IpAddress& last) {
  std::vector<core::Cidr> out;
  if (first.family() != last.family() || first.size() == 0 || last < first) return out;
  const bool v4 = first.is_v4();
  const unsigned width = v4 ? 32 : 128;
  U128 start = to_u128(first);
  const U128 end = to_u128(last);
  for (;;) {
    // The largest block aligned at `start` that does not run past `end`.
    unsigned size_bits = 0;
    while (size_bits < width) {
      const unsigned next = size_bits + 1;
      const U128 mask = next == 128 ? ~U128{0} : (U128{1} << next) - 1;
      if ((start & mask) != 0 || end - start < mask) break;
      size_bits = next;
    }
    const std::string text = from_u128(start, v4).to_string() + "/" + std::to_string(width - size_bits);
    if (auto c = core::Cidr::parse(text)) out.push_back(*c);
    const U128 span_minus_one = size_bits == 128 ? ~U128{0} : (U128{1} << size_bits) - 1;
    if (end - start == span_minus_one) break;
    start += span_minus_one + 1;
  }
  return out;
}

MmdbWriter::MmdbWriter(MmdbWriterOptions options) : options_(std::move(options)) {
  nodes_.push_back(Node{{kEmpty, kEmpty}});
}

bool MmdbWriter::check_value(const MmdbValue& v, int depth, std::string& error) const {
  if (depth > kMmdbMaxDepth) {
    error = "record nested deeper than " + std::to_string(kMmdbMaxDepth);
    return false;
  }
  auto check_string = [&error](const std::string& s) {
    if (s.size() > kMmdbMaxStringBytes) {
      error = "string longer than " + std::to_string(kMmdbMaxStringBytes) + " bytes";
      return false;
    }
    if (!valid_utf8(s)) {
      error = "string is not valid UTF-8";
      return false;
    }
    return true;
  };
  if (const auto* s = std::get_if<std::string>(&v.value)) return check_string(*s);
  if (const auto* m = std::get_if<MmdbMap>(&v.value)) {
    if (m->size() > kMmdbMaxContainerItems) {
      error = "map with more than " + std::to_string(kMmdbMaxContainerItems) + " entries";
      return false;
    }
    for (const auto& [key, item] : *m) {
      if (!check_string(key) || !check_value(item, depth + 1, error)) return false;
    }
  }
  if (const auto* a = std::get_if<MmdbArray>(&v.value)) {
    if (a->size() > kMmdbMaxContainerItems) {
      error = "array with more than " + std::to_string(kMmdbMaxContainerItems) + " items";
      return false;
    }
    for (const auto& item : *a) {
      if (!check_value(item, depth + 1, error)) return false;
    }
  }
  return true;
}

std::uint32_t MmdbWriter::intern_record(const MmdbValue& record) {
  auto key = canonical(record);
  const auto [it, inserted] = record_index_.emplace(std::move(key), static_cast<std::uint32_t>(records_.size()));
  if (inserted) records_.push_back(record);
  return it->second;
}

bool MmdbWriter::new_node(std::uint32_t fill, std::uint32_t& index) {
  if (nodes_.size() >= kMmdbMaxNodes) return false;
  index = static_cast<std::uint32_t>(nodes_.size());
  nodes_.push_back(Node{{fill, fill}});
  return true;
}

bool MmdbWriter::add_network(const core::Cidr& network, const MmdbValue& record, std::string_view origin,
                             std::string& error) {
  const std::string name = network.to_string();
  if (!network.base().is_v4() && !network.base().is_v6()) {
    error = with_origin(origin, "not an IP network");
    return false;
  }
  if (!host_bits_zero(network)) {
    error = with_origin(origin, name + " has bits set after the prefix length");
    return false;
  }
  if (network.base().is_v6() && options_.ip_version == IpVersion::kV4) {
    error = with_origin(origin, name + " is IPv6 but the database is IPv4-only");
    return false;
  }
  if (networks_ >= kMmdbMaxNetworks) {
    error = with_origin(origin, "more than " + std::to_string(kMmdbMaxNetworks) + " networks");
    return false;
  }
  if (std::string why; !check_value(record, 0, why)) {
    error = with_origin(origin, why);
    return false;
  }
  const auto [bits, prefix] = tree_bits(network);

  if (options_.overlap == OverlapPolicy::kReject) {
    bool overlap = false;
    if (prefix == 0) {
      overlap = nodes_[0].child[0] != kEmpty || nodes_[0].child[1] != kEmpty;
    } else {
      std::uint32_t node = 0;
      for (unsigned depth = 0; depth < prefix; ++depth) {
        const std::uint32_t slot = nodes_[node].child[bit_at(bits, depth)];
        if (depth + 1 == prefix) {
          overlap = slot != kEmpty;  // data here, or a node with data below it
        } else if (is_data(slot)) {
          overlap = true;
        } else if (is_node(slot)) {
          node = node_index(slot);
          continue;
        }
        break;
      }
    }
    if (overlap) {
      error = with_origin(origin, name + " overlaps a network added before (overlapping input is rejected)");
      return false;
    }
  }

  if (records_.size() >= kMmdbMaxRecords && record_index_.find(canonical(record)) == record_index_.end()) {
    error = with_origin(origin, "more than " + std::to_string(kMmdbMaxRecords) + " distinct records");
    return false;
  }
  const std::uint32_t leaf = kDataBit | intern_record(record);
  if (prefix == 0) {
    nodes_[0] = Node{{leaf, leaf}};
  } else {
    std::uint32_t node = 0;
    for (unsigned depth = 0; depth + 1 < prefix; ++depth) {
      const int b = bit_at(bits, depth);
      const std::uint32_t slot = nodes_[node].child[b];
      if (is_node(slot)) {
        node = node_index(slot);
        continue;
      }
      std::uint32_t created = 0;
      if (!new_node(slot, created)) {  // an earlier network's data (or nothing) goes to both halves
        error = with_origin(origin, "more than " + std::to_string(kMmdbMaxNodes) + " tree nodes");
        return false;
      }
      nodes_[node].child[b] = node_slot(created);
      node = created;
    }
    nodes_[node].child[bit_at(bits, prefix - 1)] = leaf;
  }
  if (network.base().is_v6()) saw_v6_ = true;
  ++networks_;
  return true;
}

bool MmdbWriter::add_range(const core::IpAddress& first, const core::IpAddress& last, const MmdbValue& record,
                           std::string_view origin, std::string& error) {
  if (first.family() != last.family() || first.size() == 0) {
    error = with_origin(origin, "range ends are not both IPv4 or both IPv6");
    return false;
  }
  if (last < first) {
    error = with_origin(origin, "range ends before it starts (" + first.to_string() + " > " + last.to_string() + ")");
    return false;
  }
  for (const auto& c : range_to_cidrs(first, last)) {
    if (!add_network(c, record, origin, error)) return false;
  }
  return true;
}

std::uint32_t MmdbWriter::collapse(std::uint32_t slot) {
  if (!is_node(slot)) return slot;
  const std::uint32_t i = node_index(slot);
  const std::uint32_t l = collapse(nodes_[i].child[0]);
  const std::uint32_t r = collapse(nodes_[i].child[1]);
  nodes_[i].child[0] = l;
  nodes_[i].child[1] = r;
  return (l == r && !is_node(l)) ? l : slot;
}

std::uint32_t MmdbWriter::ipv4_root() const {
  std::uint32_t slot = node_slot(0);
  for (unsigned depth = 0; depth < 96 && is_node(slot); ++depth) slot = nodes_[node_index(slot)].child[0];
  return slot;
}

void MmdbWriter::add_alias(const std::array<std::uint8_t, 16>& bits, unsigned prefix, std::uint32_t target) {
  std::uint32_t node = 0;
  for (unsigned depth = 0; depth + 1 < prefix; ++depth) {
    const int b = bit_at(bits, depth);
    const std::uint32_t slot = nodes_[node].child[b];
    if (is_node(slot)) {
      node = node_index(slot);
      continue;
    }
    std::uint32_t created = 0;
    if (slot != kEmpty || !new_node(kEmpty, created)) return;  // the input covers it already
    nodes_[node].child[b] = node_slot(created);
    node = created;
  }
  std::uint32_t& last = nodes_[node].child[bit_at(bits, prefix - 1)];
  if (last == kEmpty) last = target;
}

std::optional<std::vector<std::uint8_t>> MmdbWriter::build(std::string& error) {
  const bool v6 = options_.ip_version == IpVersion::kV6 || (options_.ip_version == IpVersion::kAuto && saw_v6_);
  for (auto& c : nodes_[0].child) c = collapse(c);

  std::uint32_t root = 0;
  if (v6) {
    const std::uint32_t v4 = ipv4_root();
    if (options_.ipv4_aliases && v4 != kEmpty && is_node(nodes_[0].child[0])) {
      std::array<std::uint8_t, 16> mapped{};
      mapped[10] = mapped[11] = 0xFF;
      add_alias(mapped, 96, v4);
      std::array<std::uint8_t, 16> six_to_four{};
      six_to_four[0] = 0x20;
      six_to_four[1] = 0x02;
      add_alias(six_to_four, 16, v4);
    }
  } else {
    const std::uint32_t v4 = ipv4_root();
    if (is_node(v4)) {
      root = node_index(v4);
    } else if (!new_node(v4, root)) {
      error = "more than " + std::to_string(kMmdbMaxNodes) + " tree nodes";
      return std::nullopt;
    }
  }

  // Number the reachable nodes breadth-first (root is 0) and lay out the records they reach.
  std::vector<std::uint32_t> ids(nodes_.size(), kNoId);
  std::vector<std::uint32_t> order{root};
  ids[root] = 0;
  std::vector<std::uint32_t> offsets(records_.size(), kNoId);
  std::vector<std::uint8_t> data;
  Encoder encoder(data, true);
  for (std::size_t i = 0; i < order.size(); ++i) {
    for (const std::uint32_t slot : nodes_[order[i]].child) {
      if (is_node(slot) && ids[node_index(slot)] == kNoId) {
        ids[node_index(slot)] = static_cast<std::uint32_t>(order.size());
        order.push_back(node_index(slot));
      } else if (is_data(slot) && offsets[slot & ~kDataBit] == kNoId) {
        offsets[slot & ~kDataBit] = static_cast<std::uint32_t>(data.size());
        encoder.value(records_[slot & ~kDataBit]);
        if (data.size() > kMmdbMaxDataBytes) {
          error = "data section larger than " + std::to_string(kMmdbMaxDataBytes) + " bytes";
          return std::nullopt;
        }
      }
    }
  }

  const std::uint64_t node_count = order.size();
  const std::uint64_t max_value = node_count + kSeparatorBytes + data.size();
  if (max_value > std::numeric_limits<std::uint32_t>::max()) {
    error = "database too large for 32-bit records";
    return std::nullopt;
  }
  const unsigned record_size = max_value < (1u << 24) ? 24 : max_value < (1u << 28) ? 28 : 32;
  auto record_value = [&](std::uint32_t slot) -> std::uint32_t {
    if (slot == kEmpty) return static_cast<std::uint32_t>(node_count);
    if (is_node(slot)) return ids[node_index(slot)];
    return static_cast<std::uint32_t>(node_count + kSeparatorBytes + offsets[slot & ~kDataBit]);
  };

  std::vector<std::uint8_t> out;
  out.reserve(node_count * record_size / 4 + kSeparatorBytes + data.size() + 512);
  for (const std::uint32_t n : order) {
    const std::uint32_t l = record_value(nodes_[n].child[0]);
    const std::uint32_t r = record_value(nodes_[n].child[1]);
    auto put24 = [&out](std::uint32_t v) {
      out.push_back(static_cast<std::uint8_t>(v >> 16));
      out.push_back(static_cast<std::uint8_t>(v >> 8));
      out.push_back(static_cast<std::uint8_t>(v));
    };
    if (record_size == 24) {
      put24(l);
      put24(r);
    } else if (record_size == 28) {
      put24(l);
      out.push_back(static_cast<std::uint8_t>(((l >> 24) & 0x0F) << 4 | ((r >> 24) & 0x0F)));
      put24(r);
    } else {
      out.push_back(static_cast<std::uint8_t>(l >> 24));
      put24(l);
      out.push_back(static_cast<std::uint8_t>(r >> 24));
      put24(r);
    }
  }
  out.insert(out.end(), kSeparatorBytes, 0);
  out.insert(out.end(), data.begin(), data.end());
  out.insert(out.end(), kMetadataMarker.begin(), kMetadataMarker.end());

  const std::uint64_t epoch =
      options_.build_epoch.value_or(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                                                   std::chrono::system_clock::now().time_since_epoch())
                                                                   .count()));
  MmdbMap description;
  if (!options_.description_en.empty()) description.push_back({"en", MmdbValue{options_.description_en}});
  MmdbArray languages;
  for (const auto& l : options_.languages) languages.push_back(MmdbValue{l});
  const MmdbValue metadata{MmdbMap{
      {"binary_format_major_version", MmdbValue{std::uint16_t{2}}},
      {"binary_format_minor_version", MmdbValue{std::uint16_t{0}}},
      {"build_epoch", MmdbValue{epoch}},
      {"database_type", MmdbValue{options_.database_type}},
      {"description", MmdbValue{std::move(description)}},
      {"ip_version", MmdbValue{std::uint16_t{static_cast<std::uint16_t>(v6 ? 6 : 4)}}},
      {"languages", MmdbValue{std::move(languages)}},
      {"node_count", MmdbValue{static_cast<std::uint32_t>(node_count)}},
      {"record_size", MmdbValue{static_cast<std::uint16_t>(record_size)}},
  }};
  if (std::string why; !check_value(metadata, 0, why)) {
    error = "metadata: " + why;
    return std::nullopt;
  }
  Encoder(out, false).value(metadata);
  return out;
}

bool MmdbWriter::write_file(const std::string& path, std::string& error) {
  auto bytes = build(error);
  if (!bytes) {
    error = path + ": " + error;
    return false;
  }
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    error = tmp + ": cannot create: " + std::strerror(errno);
    return false;
  }
  const bool wrote = std::fwrite(bytes->data(), 1, bytes->size(), f) == bytes->size();
  const bool closed = std::fclose(f) == 0;
  if (!wrote || !closed) {
    error = tmp + ": cannot write: " + std::strerror(errno);
    std::remove(tmp.c_str());
    return false;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = path + ": cannot rename " + tmp + " over it: " + std::strerror(errno);
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

bool write_mmdb(const std::vector<MmdbEntry>& entries, const MmdbWriterOptions& options, const std::string& path,
                std::string& error) {
  MmdbWriter writer(options);
  for (const auto& e : entries) {
    if (!writer.add_network(e.network, e.record, e.origin, error)) return false;
  }
  return writer.write_file(path, error);
}

}  // namespace flowaudit::analysis::enrich
