// What the workers of one audit share with --threads N (analysis/parallel_audit.h): how far each
// has read, the DNS name cache, and the budgets that are one for the whole audit.
//
// Every worker reads every packet (decoding and the audit clock are cheap next to the flows) and
// tracks only the flows whose key hashes to it. The name cache is the one thing a worker's flows
// need from the others' (an answer on one worker names flows on another), and what it holds
// depends on the order of its insertions (runs of one answer, names per address, eviction). So a
// worker does not insert: it queues what each response names, with the packet's number, and the
// queues are merged into the cache in packet order, up to the packet every worker has passed
// (nothing earlier can come any more). The cache then sees the answers exactly as with one
// thread, whatever N and the timing, and no worker waits for another on the packet path.
//
// The cache is read only to name flows: at the end, once every worker is done, and while a worker
// folds records past --max-flow-records (read_names(): it waits for the others to reach its packet,
// so that every answer before it is in). No deadlock: a worker only ever waits for the others to
// reach a packet at or before its own, so the one furthest behind never waits.
#pragma once

#include <atomic>
#include <algorithm>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "analysis/app/dns/name_cache.h"

namespace flowaudit::analysis::app {

class ShardSync {
 public:
  static constexpr std::uint64_t kDone = std::numeric_limits<std::uint64_t>::max();

  ShardSync(std::size_t workers, std::size_t max_names) : progress_(workers), queues_(workers), names_(max_names) {}
  ShardSync(const ShardSync&) = delete;
  ShardSync& operator=(const ShardSync&) = delete;

  [[nodiscard]] std::size_t workers() const noexcept { return progress_.size(); }

  // Worker `w` is at packet `n` (1-based): it has done every packet before it.
  void at(std::size_t w, std::uint64_t n) noexcept { progress_[w].value.store(n, std::memory_order_release); }
  // Worker `w` has read all its input (or stopped): nobody waits for it any more.
  void done(std::size_t w) noexcept { at(w, kDone); }

  // Returns once every worker but `w` has reached packet `n`.
  void wait_for_others(std::size_t w, std::uint64_t n) const noexcept {
    for (std::size_t k = 0; k < progress_.size(); ++k) {
      if (k == w) continue;
      for (unsigned spins = 0; progress_[k].value.load(std::memory_order_acquire) < n; ++spins) {
        // Busy for a moment (the other is usually a few packets behind), then give the core away
        // (with more workers than cores the one waited for may need this one).
        if (spins > 1024) std::this_thread::yield();
      }
    }
  }

  // The answers of a DNS response in packet `n`, read by worker `w`: queued, merged in order later.
  void add_response(std::size_t w, std::uint64_t n, const dns::Message& m, core::TimestampNs ts) {
    Queue& q = queues_[w];
    std::vector<dns::NamedAddress>& found = q.scratch;  // only worker w touches its scratch
    found.clear();
    dns::NameCache::collect(m, ts, found);
    if (found.empty()) return;
    std::size_t queued = 0;
    {
      const std::lock_guard lock(q.mutex);
      for (dns::NamedAddress& a : found) q.items.push_back(Queued{n, std::move(a)});
      queued = q.items.size();
    }
    // Now and then into the cache, so that the queues stay short.
    if (queued >= kDrainAt) {
      const std::lock_guard lock(mutex_);
      drain(final_before());
    }
  }

  // The name cache, complete up to packet `n` of worker `w` (every answer before it, from every
  // worker), held still for as long as the lock is.
  [[nodiscard]] std::unique_lock<std::mutex> read_names(std::size_t w, std::uint64_t n) {
    wait_for_others(w, n);
    std::unique_lock lock(mutex_);
    drain(final_before());
    return lock;
  }

  // After every worker is done: every queued answer into the cache.
  void drain_all() {
    const std::lock_guard lock(mutex_);
    drain(kDone);
  }
  // The cache: read it after drain_all(), or while holding read_names().
  [[nodiscard]] const dns::NameCache& cache() const noexcept { return names_; }

  // One DNS log budget for all workers (--max-dns-records): false once `max` records are taken.
  [[nodiscard]] bool take_dns_record(std::size_t max) noexcept {
    std::size_t n = dns_records_.load(std::memory_order_relaxed);
    do {
      if (n >= max) return false;
    } while (!dns_records_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
    return true;
  }
  // The string pools' budget (core::StringPool::share_budget).
  [[nodiscard]] const std::shared_ptr<std::atomic<std::size_t>>& string_bytes() const noexcept { return strings_; }

 private:
  static constexpr std::size_t kDrainAt = 4096;
  struct alignas(64) Progress {  // one cache line each: workers write theirs on every packet
    std::atomic<std::uint64_t> value{0};
  };
  struct Queued {
    std::uint64_t packet;
    dns::NamedAddress address;
  };
  struct alignas(64) Queue {
    std::mutex mutex;
    std::deque<Queued> items;  // in packet order: one worker fills it
    std::vector<dns::NamedAddress> scratch;
  };

  // Answers from packets before this one can no longer come: every worker has passed it.
  [[nodiscard]] std::uint64_t final_before() const noexcept {
    std::uint64_t low = kDone;
    for (const Progress& p : progress_) low = std::min(low, p.value.load(std::memory_order_acquire));
    return low;
  }

  // Moves the queued answers of packets before `before` into the cache, in packet order (a packet's
  // answers are all in one queue, in their order). Holds mutex_.
  void drain(std::uint64_t before) {
    std::vector<std::deque<Queued>> taken(queues_.size());
    for (std::size_t k = 0; k < queues_.size(); ++k) {
      const std::lock_guard lock(queues_[k].mutex);
      std::deque<Queued>& items = queues_[k].items;
      while (!items.empty() && (before == kDone || items.front().packet < before)) {
        taken[k].push_back(std::move(items.front()));
        items.pop_front();
      }
    }
    for (;;) {
      std::size_t best = taken.size();
      for (std::size_t k = 0; k < taken.size(); ++k) {
        if (!taken[k].empty() && (best == taken.size() || taken[k].front().packet < taken[best].front().packet)) best = k;
      }
      if (best == taken.size()) return;
      const std::uint64_t packet = taken[best].front().packet;
      while (!taken[best].empty() && taken[best].front().packet == packet) {
        names_.add(taken[best].front().address);
        taken[best].pop_front();
      }
    }
  }

  std::vector<Progress> progress_;
  std::vector<Queue> queues_;
  std::mutex mutex_;  // the cache, and draining into it
  dns::NameCache names_;
  std::atomic<std::size_t> dns_records_{0};
  std::shared_ptr<std::atomic<std::size_t>> strings_ = std::make_shared<std::atomic<std::size_t>>(0);
};

}  // namespace flowaudit::analysis::app
