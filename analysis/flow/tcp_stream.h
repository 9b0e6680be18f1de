// One direction of a TCP connection as an in-order byte stream, for the application-layer parsers.
// Segments that arrive early are kept (copied) within small limits until the gap before them is
// filled; retransmissions and overlaps are trimmed. Only the start of a stream is ever needed, so
// the stream stops after a byte budget.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace flowaudit::analysis::flow {

class TcpStream {
 public:
  static constexpr std::size_t kMaxPendingBytes = 32 * 1024;
  static constexpr std::size_t kMaxPendingSegments = 32;

  enum class State { kOpen, kGap, kDone };

  // The sequence number of the first payload byte (ISN + 1 after a SYN).
  void start(std::uint32_t first_seq) noexcept {
    next_ = first_seq;
    started_ = true;
  }
  [[nodiscard]] bool started() const noexcept { return started_; }
  [[nodiscard]] State state() const noexcept { return state_; }
  [[nodiscard]] std::uint64_t delivered() const noexcept { return delivered_; }

  // Adds a segment; calls deliver(span) for every run of bytes that became contiguous, in order,
  // until `budget` bytes were delivered in total. Returns the state afterwards.
  template <typename F>
  State add(std::uint32_t seq, std::span<const std::uint8_t> payload, std::uint64_t budget, F&& deliver) {
    if (state_ != State::kOpen || payload.empty()) return state_;
    if (!started_) start(seq);
    if (!place(seq, payload, budget, deliver)) return state_;
    drain(budget, deliver);
    return state_;
  }

  void give_up() noexcept {
    state_ = State::kDone;
    pending_.clear();
    pending_.shrink_to_fit();
    pending_bytes_ = 0;
  }

 private:
  struct Pending {
    std::uint32_t seq;
    std::vector<std::uint8_t> data;
  };

  static std::int32_t diff(std::uint32_t a, std::uint32_t b) noexcept {
    return static_cast<std::int32_t>(a - b);  // serial number arithmetic (RFC 1982)
  }

  template <typename F>
  bool deliver_in_order(std::uint32_t seq, std::span<const std::uint8_t> payload, std::uint64_t budget, F& deliver) {
    // `seq` is at or before next_: skip what was delivered already.
    // Unsigned, so a distance of exactly 2^31 does not overflow a negation (fuzz regression).
    const std::uint32_t already = next_ - seq;
    if (already >= payload.size()) return true;
    auto fresh = payload.subspan(already);
    if (delivered_ + fresh.size() >= budget) {
      fresh = fresh.first(static_cast<std::size_t>(budget - delivered_));
      deliver(fresh);
      delivered_ += fresh.size();
      give_up();
      return false;
    }
    deliver(fresh);
    delivered_ += fresh.size();
    next_ += static_cast<std::uint32_t>(fresh.size());
    return true;
  }

  template <typename F>
  bool place(std::uint32_t seq, std::span<const std::uint8_t> payload, std::uint64_t budget, F& deliver) {
    if (diff(seq, next_) <= 0) return deliver_in_order(seq, payload, budget, deliver);
    // Early segment: keep a copy while the limits allow.
    if (pending_.size() >= kMaxPendingSegments || pending_bytes_ + payload.size() > kMaxPendingBytes) {
      state_ = State::kGap;
      pending_.clear();
      pending_bytes_ = 0;
      return false;
    }
    pending_.push_back(Pending{seq, std::vector<std::uint8_t>(payload.begin(), payload.end())});
    pending_bytes_ += payload.size();
    return true;
  }

  template <typename F>
  void drain(std::uint64_t budget, F& deliver) {
    bool progress = true;
    while (progress && state_ == State::kOpen && !pending_.empty()) {
      progress = false;
      for (std::size_t i = 0; i < pending_.size(); ++i) {
        if (diff(pending_[i].seq, next_) > 0) continue;
        Pending p = std::move(pending_[i]);
        pending_[i] = std::move(pending_.back());
        pending_.pop_back();
        pending_bytes_ -= p.data.size();
        if (!deliver_in_order(p.seq, p.data, budget, deliver)) return;
        progress = true;
        break;
      }
    }
  }

  std::uint32_t next_ = 0;
  bool started_ = false;
  State state_ = State::kOpen;
  std::uint64_t delivered_ = 0;
  std::vector<Pending> pending_;
  std::size_t pending_bytes_ = 0;
};

}  // namespace flowaudit::analysis::flow
