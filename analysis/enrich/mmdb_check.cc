#include "analysis/enrich/mmdb_check.h"

#include <string_view>

#include "core/byte_reader.h"

namespace flowaudit::analysis::enrich {

namespace {

// MaxMind DB format 2.0 data types.
enum : std::uint8_t {
  kPointer = 1,
  kString = 2,
  kDouble = 3,
  kBytes = 4,
  kUint16 = 5,
  kUint32 = 6,
  kMap = 7,
  kInt32 = 8,
  kUint64 = 9,
  kUint128 = 10,
  kArray = 11,
  kBoolean = 14,
  kFloat = 15,
};

constexpr std::string_view kMarker = "\xAB\xCD\xEFMaxMind.com";
constexpr std::uint64_t kSeparator = 16;

struct Item {
  std::uint8_t type = 0;
  std::uint32_t size = 0;     // payload bytes; entries for maps and arrays; the value for booleans
  std::size_t payload = 0;    // offset of the payload (of the first child for maps and arrays)
  std::size_t next = 0;       // offset after this item (after its header for maps and arrays)
  std::uint32_t pointer = 0;  // pointers: the target offset
};

// One control byte and what it covers, all inside `s`.
bool decode(std::span<const std::uint8_t> s, std::size_t offset, Item& it) {
  core::ByteReader r(s);
  std::uint8_t ctrl = 0;
  if (!r.skip(offset) || !r.read_u8(ctrl)) return false;
  it = Item{};
  it.type = static_cast<std::uint8_t>(ctrl >> 5);
  if (it.type == 0) {
    std::uint8_t ext = 0;
    if (!r.read_u8(ext) || ext < 1 || ext > 8) return false;
    it.type = static_cast<std::uint8_t>(ext + 7);
    if (it.type == 12 || it.type == 13) return false;  // data cache container, end marker: never in a record
  }
  if (it.type == kPointer) {
    const unsigned ss = (ctrl >> 3) & 3u;
    std::uint32_t v = ss == 3 ? 0 : (ctrl & 7u);
    for (unsigned i = 0; i <= ss; ++i) {
      std::uint8_t b = 0;
      if (!r.read_u8(b)) return false;
      v = (v << 8) | b;
    }
    static constexpr std::uint32_t kBias[4] = {0, 2048, 526336, 0};
    it.pointer = v + kBias[ss];  // at most 0x7ffffff + 526336: no overflow below ss 3
    it.next = r.offset();
    return true;
  }
  std::uint32_t size = ctrl & 31u;
  if (size >= 29) {
    const unsigned extra = size - 28;
    std::uint32_t v = 0;
    for (unsigned i = 0; i < extra; ++i) {
      std::uint8_t b = 0;
      if (!r.read_u8(b)) return false;
      v = (v << 8) | b;
    }
    static constexpr std::uint32_t kBase[4] = {0, 29, 285, 65821};
    size = kBase[extra] + v;
  }
  it.size = size;
  it.payload = r.offset();
  switch (it.type) {
    case kMap:
    case kArray: it.next = r.offset(); return true;
    case kBoolean: it.next = r.offset(); return size <= 1;
    case kUint16: if (size > 2) return false; break;
    case kUint32:
    case kInt32: if (size > 4) return false; break;
    case kUint64: if (size > 8) return false; break;
    case kUint128: if (size > 16) return false; break;
    case kDouble: if (size != 8) return false; break;
    case kFloat: if (size != 4) return false; break;
    default: break;  // strings and bytes: any size that fits
  }
  if (!r.skip(size)) return false;
  it.next = r.offset();
  return true;
}

std::uint64_t uint_of(std::span<const std::uint8_t> s, const Item& it) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < it.size && i < 8; ++i) v = (v << 8) | s[it.payload + i];
  return v;
}

// Depth-first walk; `budget` counts values visited across the whole check.
class Walker {
 public:
  explicit Walker(std::span<const std::uint8_t> s) : s_(s) {}

  // Checks the value at `offset`; `next` is where the item after it starts.
  bool walk(std::size_t offset, int depth, std::size_t& next, bool want_string = false) {
    if (depth > kMmdbCheckMaxDepth || budget_ == 0) return false;
    --budget_;
    Item it;
    if (!decode(s_, offset, it)) return false;
    next = it.next;
    if (it.type == kPointer) {
      Item target;
      if (!decode(s_, it.pointer, target) || target.type == kPointer) return false;
      std::size_t ignored = 0;
      return walk(it.pointer, depth + 1, ignored, want_string);
    }
    if (want_string) return it.type == kString;
    std::size_t at = it.next;
    if (it.type == kMap) {
      for (std::uint32_t i = 0; i < it.size; ++i) {
        if (!walk(at, depth + 1, at, true) || !walk(at, depth + 1, at)) return false;
      }
      next = at;
    } else if (it.type == kArray) {
      for (std::uint32_t i = 0; i < it.size; ++i) {
        if (!walk(at, depth + 1, at)) return false;
      }
      next = at;
    }
    return true;
  }

 private:
  std::span<const std::uint8_t> s_;
  std::size_t budget_ = kMmdbCheckMaxValues;
};

// Resolves one pointer level (the walk has already checked the target).
Item resolved(std::span<const std::uint8_t> s, std::size_t offset) {
  Item it;
  (void)decode(s, offset, it);
  if (it.type == kPointer) {
    const std::size_t target = it.pointer;
    (void)decode(s, target, it);
  }
  return it;
}

std::size_t find_last_marker(std::span<const std::uint8_t> tail) {
  const std::string_view hay(reinterpret_cast<const char*>(tail.data()), tail.size());
  const std::size_t at = hay.rfind(kMarker);
  return at == std::string_view::npos ? at : at + kMarker.size();
}

}  // namespace

bool check_mmdb_value(std::span<const std::uint8_t> section, std::uint32_t offset) {
  Walker w(section);
  std::size_t next = 0;
  return w.walk(offset, 0, next);
}

std::optional<std::string> check_mmdb_layout(const MmdbLayout& m) {
  if (m.major_version != 2) {
    return "binary_format_major_version " + std::to_string(m.major_version) + " (only 2 is read)";
  }
  if (m.record_size != 24 && m.record_size != 28 && m.record_size != 32) {
    return "record_size " + std::to_string(m.record_size) + " (must be 24, 28 or 32)";
  }
  if (m.ip_version != 4 && m.ip_version != 6) {
    return "ip_version " + std::to_string(m.ip_version) + " (must be 4 or 6)";
  }
  if (m.node_count == 0) return "node_count 0";
  if (m.file_size > 0xFFFFFFFFu) return "file larger than 4 GiB (libmaxminddb reads 32-bit offsets)";
  if (m.metadata_offset < kMarker.size() || m.metadata_offset > m.file_size) return "metadata outside the file";
  const std::uint64_t marker_at = m.metadata_offset - kMarker.size();
  // 64-bit: node_count < 2^32 and 8 bytes a node at most.
  const std::uint64_t tree = std::uint64_t{m.node_count} * m.record_size * 2 / 8;
  if (tree + kSeparator > marker_at) {
    return "node_count " + std::to_string(m.node_count) + " x " + std::to_string(m.record_size) +
           "-bit records needs a search tree of " + std::to_string(tree) + " bytes and the " +
           std::to_string(kSeparator) + "-byte separator, more than the " + std::to_string(marker_at) +
           " bytes before the metadata";
  }
  return std::nullopt;
}

std::optional<std::string> check_mmdb_metadata(std::span<const std::uint8_t> tail, std::uint64_t file_size,
                                               MmdbLayout& out) {
  out = MmdbLayout{};
  out.file_size = file_size;
  if (tail.size() > file_size) return "internal: more tail than file";
  const std::size_t window = tail.size() > kMmdbMetadataMaxBytes ? kMmdbMetadataMaxBytes : tail.size();
  const auto search = tail.subspan(tail.size() - window);
  const std::size_t meta_at = find_last_marker(search);
  if (meta_at == std::string_view::npos) return "no metadata marker in the last 128 KiB (not an MMDB file)";
  const auto meta = search.subspan(meta_at);
  out.metadata_offset = file_size - (search.size() - meta_at);

  Walker w(meta);
  std::size_t end = 0;
  if (!w.walk(0, 0, end)) {
    return "metadata is damaged (truncated value, bad pointer, or nested or repeated beyond the limits)";
  }
  const Item top = resolved(meta, 0);
  if (top.type != kMap) return "metadata is not a map";
  bool have_nodes = false;
  bool have_record = false;
  bool have_version = false;
  bool have_major = false;
  std::size_t at = top.next;
  for (std::uint32_t i = 0; i < top.size; ++i) {
    const Item key = resolved(meta, at);
    Item raw;
    (void)decode(meta, at, raw);
    const std::size_t value_at = raw.next;  // after the key, or after the pointer to it
    const Item value = resolved(meta, value_at);
    const std::string_view name(reinterpret_cast<const char*>(meta.data() + key.payload), key.size);
    // The first of a repeated key counts, as in libmaxminddb's map lookup.
    if (name == "node_count" && !have_nodes) {
      have_nodes = true;
      if (value.type != kUint32) return "node_count is not a uint32";
      out.node_count = static_cast<std::uint32_t>(uint_of(meta, value));
    } else if (name == "record_size" && !have_record) {
      have_record = true;
      if (value.type != kUint16) return "record_size is not a uint16";
      out.record_size = static_cast<std::uint16_t>(uint_of(meta, value));
    } else if (name == "ip_version" && !have_version) {
      have_version = true;
      if (value.type != kUint16) return "ip_version is not a uint16";
      out.ip_version = static_cast<std::uint16_t>(uint_of(meta, value));
    } else if (name == "binary_format_major_version" && !have_major) {
      have_major = true;
      if (value.type != kUint16) return "binary_format_major_version is not a uint16";
      out.major_version = static_cast<std::uint16_t>(uint_of(meta, value));
    }
    // On to the next key: after the value, or after the pointer to it.
    Walker skip(meta);
    if (!skip.walk(value_at, 0, at)) return "metadata is damaged";
  }
  if (!have_nodes) return "metadata has no node_count";
  if (!have_record) return "metadata has no record_size";
  if (!have_version) return "metadata has no ip_version";
  if (!have_major) return "metadata has no binary_format_major_version";
  out.tree_bytes = std::uint64_t{out.node_count} * out.record_size * 2 / 8;
  return check_mmdb_layout(out);
}

}  // namespace flowaudit::analysis::enrich
