// Fuzz target: the personal-data detectors (analysis/inspect/detectors.h) and mask().
//
// Input: a flags byte, then the field name up to the first '\n', then the value. Flags: bit 0 gives
// the context a device region ("US"), bit 1 two device addresses. The value is scanned under its
// name, and also read as an object: lines "name=value" become the members given to scan_object.
// Checks: every hit lies within the value it was reported for (scan_object: within its member's
// value), hits are ordered, at most kMaxHitsPerValue per call, every detector is named, and mask()
// of every hit and of the whole value stays within its size bound.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/inspect/detectors.h"
#include "fuzz_check.h"

namespace {

using namespace flowaudit::analysis::inspect;

const Detectors& detectors() {
  static const Detectors d;
  return d;
}

void check_mask(PiiType type, std::string_view v) {
  const std::string m = mask(type, v);
  FUZZ_CHECK(m.size() <= v.size() + 8 || m.size() <= 4096);
  FUZZ_CHECK(m.size() <= 4096);
  for (const char c : m) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7F);
}

void check_hit(const Hit& h, std::string_view value) {
  FUZZ_CHECK(h.begin < h.end && h.end <= value.size());
  FUZZ_CHECK(h.detector != nullptr && *h.detector != '\0');
  FUZZ_CHECK(to_string(h.type) != nullptr);
  check_mask(h.type, value.substr(h.begin, h.end - h.begin));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t nl = in.find('\n');
  const std::string_view name = nl == std::string_view::npos ? std::string_view() : in.substr(0, nl);
  const std::string_view value = nl == std::string_view::npos ? in : in.substr(nl + 1);

  static const std::vector<std::string> kAddresses = {"10.0.0.2", "fd00::2"};
  DetectContext ctx;
  if (flags & 1) ctx.device_region = "US";
  if (flags & 2) ctx.device_addresses = kAddresses;

  std::vector<Hit> hits;
  detectors().scan(name, value, ctx, hits);
  FUZZ_CHECK(hits.size() <= kMaxHitsPerValue);
  for (std::size_t i = 0; i < hits.size(); ++i) {
    check_hit(hits[i], value);
    FUZZ_CHECK(hits[i].member == 0);
    if (i > 0) {
      FUZZ_CHECK(hits[i - 1].begin < hits[i].begin ||
                 (hits[i - 1].begin == hits[i].begin && hits[i - 1].end <= hits[i].end));
    }
  }
  // Scanning again appends the same hits.
  std::vector<Hit> again = hits;
  detectors().scan(name, value, ctx, again);
  FUZZ_CHECK(again.size() == 2 * hits.size());
  for (std::size_t i = 0; i < hits.size(); ++i) {
    FUZZ_CHECK(again[hits.size() + i].begin == hits[i].begin && again[hits.size() + i].end == hits[i].end &&
               again[hits.size() + i].type == hits[i].type);
  }

  std::vector<NamedScalar> members;
  std::string_view rest = value;
  while (!rest.empty() && members.size() < 300) {
    const std::size_t eol = rest.find('\n');
    const std::string_view line = rest.substr(0, eol);
    const std::size_t eq = line.find('=');
    members.push_back(eq == std::string_view::npos ? NamedScalar{line, {}}
                                                   : NamedScalar{line.substr(0, eq), line.substr(eq + 1)});
    if (eol == std::string_view::npos) break;
    rest.remove_prefix(eol + 1);
  }
  std::vector<Hit> object_hits;
  detectors().scan_object(members, object_hits);
  FUZZ_CHECK(object_hits.size() <= kMaxHitsPerValue);
  for (std::size_t i = 0; i < object_hits.size(); ++i) {
    const Hit& h = object_hits[i];
    FUZZ_CHECK(h.member < members.size() && h.member < kMaxObjectMembers);
    check_hit(h, members[h.member].value);
    if (i > 0) FUZZ_CHECK(object_hits[i - 1].member <= h.member);
  }

  for (int t = 0; t <= static_cast<int>(PiiType::kFingerprint); ++t) check_mask(static_cast<PiiType>(t), value);
  return 0;
}
