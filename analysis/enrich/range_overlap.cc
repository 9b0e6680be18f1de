#include "analysis/enrich/range_overlap.h"

#include <algorithm>
#include <array>

namespace flowaudit::analysis::enrich {

RangeOverlaps::Key RangeOverlaps::key_of(const core::IpAddress& a) {
  const auto& b = a.bytes();
  Key k;
  if (a.is_v4()) {
    k.lo = (std::uint64_t{b[0]} << 24) | (std::uint64_t{b[1]} << 16) | (std::uint64_t{b[2]} << 8) | b[3];
    return k;
  }
  for (int i = 0; i < 8; ++i) k.hi = (k.hi << 8) | b[static_cast<std::size_t>(i)];
  for (int i = 8; i < 16; ++i) k.lo = (k.lo << 8) | b[static_cast<std::size_t>(i)];
  return k;
}

void RangeOverlaps::add(const core::IpAddress& first, const core::IpAddress& last, std::uint32_t file,
                        std::uint32_t line) {
  spans_.push_back(Span{key_of(first), key_of(last), file, line, first.is_v4()});
}

void RangeOverlaps::add(const core::Cidr& network, std::uint32_t file, std::uint32_t line) {
  const Key first = key_of(network.base());
  const unsigned bits = network.base().is_v4() ? 32 : 128;
  const unsigned host = network.prefix() >= bits ? 0 : bits - network.prefix();
  Key last = first;
  // Sets the host bits: the low `host` bits of the 128-bit key.
  if (host >= 64) {
    last.lo = ~std::uint64_t{0};
    last.hi |= host >= 128 ? ~std::uint64_t{0} : (std::uint64_t{1} << (host - 64)) - 1;
  } else if (host > 0) {
    last.lo |= (std::uint64_t{1} << host) - 1;
  }
  spans_.push_back(Span{first, last, file, line, network.base().is_v4()});
}

std::string RangeOverlaps::text_of(const Span& s) {
  const auto addr = [&](const Key& k) {
    if (s.v4) return core::IpAddress::v4(static_cast<std::uint32_t>(k.lo)).to_string();
    std::array<std::uint8_t, 16> b{};
    for (int i = 0; i < 8; ++i) {
      b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(k.hi >> (56 - 8 * i));
      b[static_cast<std::size_t>(8 + i)] = static_cast<std::uint8_t>(k.lo >> (56 - 8 * i));
    }
    return core::IpAddress::v6(b).to_string();
  };
  return addr(s.first) + "-" + addr(s.last);
}

RangeOverlaps::Result RangeOverlaps::check(const std::vector<std::string>& files) {
  const auto input_order = [](const Span& a, const Span& b) {
    return a.file != b.file ? a.file < b.file : a.line < b.line;
  };
  std::sort(spans_.begin(), spans_.end(), [&](const Span& a, const Span& b) {
    if (a.first != b.first) return a.first < b.first;
    return input_order(a, b);
  });
  Result r;
  // Sweep in address order; `reach` is the span, of those seen, that ends last. A span starting at
  // or before its end overlaps it.
  const Span* reach = nullptr;
  for (const Span& s : spans_) {
    if (reach != nullptr && s.first <= reach->last) {
      ++r.overlapping_rows;
      if (r.first_error.empty()) {
        const Span& earlier = input_order(*reach, s) ? *reach : s;
        const Span& later = input_order(*reach, s) ? s : *reach;
        const auto where = [&](const Span& x) {
          const std::string name = x.file < files.size() ? files[x.file] : "?";
          return name + ":" + std::to_string(x.line);
        };
        const bool same = earlier.first == later.first && earlier.last == later.last;
        r.first_error = where(later) + ": " + text_of(later) + (same ? " duplicates " : " overlaps ") +
                        where(earlier) + " (" + text_of(earlier) +
                        "); overlapping ranges are rejected (--overlap later-wins keeps the later row)";
      }
    }
    if (reach == nullptr || s.last > reach->last) reach = &s;
  }
  return r;
}

}  // namespace flowaudit::analysis::enrich
