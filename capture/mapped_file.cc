#include "capture/mapped_file.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>

namespace flowaudit::capture {
namespace {

// The live maps, for the signal handler: lock-free reads of plain atomics (a handler may not take
// a lock). A slot is free when its base is 0.
struct Slot {
  std::atomic<std::uintptr_t> base{0};
  std::atomic<std::size_t> size{0};
  std::atomic<bool> shrank{false};
};
Slot g_slots[MappedFile::kMaxLive];
std::mutex g_claim;  // claiming and freeing slots (never from the handler)
struct sigaction g_previous {};
bool g_installed = false;

void on_sigbus(int sig, siginfo_t* info, void* context) {
  const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
  for (Slot& s : g_slots) {
    const std::uintptr_t base = s.base.load(std::memory_order_acquire);
    if (base == 0 || addr < base || addr - base >= s.size.load(std::memory_order_relaxed)) continue;
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    void* at = reinterpret_cast<void*>(addr & ~(page - 1));
    // mmap is a system call, safe in a handler: zeros over the page that is gone.
    if (::mmap(at, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
      s.shrank.store(true, std::memory_order_relaxed);
      return;
    }
    break;
  }
  // Not ours (or the page could not be replaced): what would have happened without us.
  if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
    g_previous.sa_sigaction(sig, info, context);
    return;
  }
  if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN && g_previous.sa_handler != nullptr) {
    g_previous.sa_handler(sig);
    return;
  }
  ::signal(SIGBUS, SIG_DFL);
  ::raise(SIGBUS);
}

bool install_handler() {
  if (g_installed) return true;
  struct sigaction sa {};
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (::sigaction(SIGBUS, &sa, &g_previous) != 0) return false;
  g_installed = true;
  return true;
}

}  // namespace

std::unique_ptr<MappedFile> MappedFile::map(int fd, std::size_t size) noexcept {
  if (size == 0) return nullptr;
  std::lock_guard lock(g_claim);
  if (!install_handler()) return nullptr;
  std::size_t slot = kMaxLive;
  for (std::size_t i = 0; i < kMaxLive; ++i) {
    if (g_slots[i].base.load(std::memory_order_relaxed) == 0) {
      slot = i;
      break;
    }
  }
  if (slot == kMaxLive) return nullptr;
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return nullptr;
  // Read front to back once: the kernel reads ahead further and drops pages behind sooner.
  ::madvise(p, size, MADV_SEQUENTIAL);
  g_slots[slot].size.store(size, std::memory_order_relaxed);
  g_slots[slot].shrank.store(false, std::memory_order_relaxed);
  g_slots[slot].base.store(reinterpret_cast<std::uintptr_t>(p), std::memory_order_release);
  try {
    return std::unique_ptr<MappedFile>(new MappedFile(static_cast<const std::uint8_t*>(p), size, slot));
  } catch (...) {
    g_slots[slot].base.store(0, std::memory_order_release);
    ::munmap(p, size);
    return nullptr;
  }
}

MappedFile::~MappedFile() {
  std::lock_guard lock(g_claim);
  g_slots[slot_].base.store(0, std::memory_order_release);
  ::munmap(const_cast<std::uint8_t*>(data_), size_);
}

void MappedFile::release_before(std::size_t offset) noexcept {
  constexpr std::size_t kStep = kWindow;
  if (offset + 2 * kStep > populated_ && populated_ < size_) {
    // Map the next pages in with one call instead of a page fault every 64 KiB (a fault costs
    // microseconds under a hypervisor). MADV_POPULATE_READ is Linux 5.14; older kernels refuse
    // it and the pages fault in as they are read.
    constexpr int kPopulateRead = 22;  // MADV_POPULATE_READ, not in every libc's headers
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t from = populated_ & ~(page - 1);
    const std::size_t to = std::min(size_, std::max(populated_, offset) + 2 * kStep);
    ::madvise(const_cast<std::uint8_t*>(data_) + from, to - from, kPopulateRead);
    populated_ = to;
  }
  if (offset < released_ + kStep) return;
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t end = std::min(offset, size_) & ~(page - 1);
  if (end <= released_) return;
  // A private map of a file we never wrote: its pages are the page cache's, so dropping them
  // loses nothing (a later read maps them again).
  ::madvise(const_cast<std::uint8_t*>(data_) + released_, end - released_, MADV_DONTNEED);
  released_ = end;
}

bool MappedFile::shrank() const noexcept { return g_slots[slot_].shrank.load(std::memory_order_relaxed); }

}  // namespace flowaudit::capture
