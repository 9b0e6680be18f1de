// Fuzz target: canary matching (analysis/inspect/canaries.h).
//
// Input: [u8 n][n bytes: a canary value][the rest: a text to scan]. A value the set accepts is
// expanded and compiled; every hit in the text must lie inside it with a non-empty chain, one per
// chain, an "as is" hit must be the value's first occurrence, and the value scanned on its own must
// be found as is at 0.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/inspect/canaries.h"
#include "fuzz_check.h"

using flowaudit::analysis::inspect::CanaryHit;
using flowaudit::analysis::inspect::CanarySet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t n = std::min<std::size_t>(data[0], in.size());
  const std::string_view value = in.substr(0, n);
  const std::string_view text = in.substr(n);

  CanarySet set;
  std::string why;
  const bool accepted = set.add(value, why);
  FUZZ_CHECK(accepted == (value.size() >= CanarySet::kMinValueBytes && value.size() <= CanarySet::kMaxValueBytes));
  FUZZ_CHECK(accepted || !why.empty());
  std::string error;
  FUZZ_CHECK(set.compile(error));

  std::vector<CanaryHit> hits;
  set.scan(text, hits);
  std::set<std::string_view> chains;
  for (const CanaryHit& h : hits) {
    FUZZ_CHECK(accepted && h.canary == 0);
    FUZZ_CHECK(!h.chain.empty());
    FUZZ_CHECK(h.begin < h.end && h.end <= text.size());
    FUZZ_CHECK(chains.insert(h.chain).second);
    if (h.chain == "as is") {
      FUZZ_CHECK(text.substr(h.begin, h.end - h.begin) == value);
      FUZZ_CHECK(text.find(value) == h.begin);
    }
  }
  if (accepted) {
    FUZZ_CHECK(chains.count("as is") == (text.find(value) != std::string_view::npos ? 1u : 0u));
    std::vector<CanaryHit> self;
    set.scan(value, self);
    bool found = false;
    for (const CanaryHit& h : self) found = found || (h.chain == "as is" && h.begin == 0 && h.end == value.size());
    FUZZ_CHECK(found);
  }
  return 0;
}
