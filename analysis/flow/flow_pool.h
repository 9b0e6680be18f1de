// The flow table's flows, in fixed chunks (issue 18, memory per live flow). A std::vector that
// doubled held the old and the new array at once while it grew, and up to half of the new one
// empty after: on the high-churn bench capture the growth from 262,144 to 524,288 flows was the
// process's memory peak (massif: 46 + 92 MB for 425,725 live flows, 75 MB of them used).
// Chunks never move, so growing copies nothing; a chunk's memory is touched only as its flows are
// first used, so a small capture pays for the flows it has, not for a whole chunk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#include "analysis/flow/flow.h"

namespace flowaudit::analysis::flow {

class FlowPool {
 public:
  static constexpr std::size_t kChunkBits = 12;  // 4,096 flows, about 700 KiB
  static constexpr std::size_t kChunk = std::size_t{1} << kChunkBits;

  Flow& operator[](std::size_t i) noexcept { return chunks_[i >> kChunkBits].get()[i & (kChunk - 1)]; }
  const Flow& operator[](std::size_t i) const noexcept { return chunks_[i >> kChunkBits].get()[i & (kChunk - 1)]; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  // A new default flow at the end; returns its index. Throws only std::bad_alloc.
  std::uint32_t push() {
    if (size_ == chunks_.size() * kChunk) {
      // Raw storage: the pages are not touched (nor counted in the resident set) until used.
      chunks_.emplace_back(static_cast<Flow*>(::operator new(kChunk * sizeof(Flow))));
    }
    ::new (&(*this)[size_]) Flow{};
    return static_cast<std::uint32_t>(size_++);
  }

  // Gives every chunk back.
  void release() noexcept {
    std::vector<std::unique_ptr<Flow, Free>>().swap(chunks_);
    size_ = 0;
  }

 private:
  // Flows are plain data: a chunk is freed without running destructors, and a slot is reused by
  // assignment.
  static_assert(std::is_trivially_destructible_v<Flow> && std::is_trivially_copyable_v<Flow>);
  static_assert(alignof(Flow) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
  struct Free {
    void operator()(Flow* p) const noexcept { ::operator delete(p); }
  };
  std::vector<std::unique_ptr<Flow, Free>> chunks_;
  std::size_t size_ = 0;
};

}  // namespace flowaudit::analysis::flow
