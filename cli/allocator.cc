// The program's allocator: mimalloc (Debian libmimalloc-dev), tuned at start.
//
// Measured on this 2-core VM (issue 18; docs/performance.md), where a page fault costs about 10 µs,
// with 2 MiB pages (transparent huge pages, which mimalloc asks for with madvise), segments
// committed at once and freed memory kept rather than given back, interleaved runs of the same
// objects relinked: the 1 M-packet bench capture takes 0.92-1.02 s against 1.14-1.17 s with
// gperftools' tcmalloc (used until now) and 1.26-1.28 s with mimalloc's defaults; a whole audit of
// a 100-packet capture 52 ms against 64 ms (tcmalloc also zeroed a 3.5 MB page heap at every
// start). Most of the difference is page faults. The price: peak RSS rounds up to whole huge pages
// (280 MB against 266 MB on the high-churn capture, 620 bytes per live flow against 578), and
// memory once used is kept until the process ends (the audit's caps bound how much that is).
//
// The options are set by a constructor that runs before the program's own static objects; an
// option set in the environment (MIMALLOC_LARGE_OS_PAGES=0, ...) is left as the user set it.
#include <mimalloc.h>

#include <cstdlib>

namespace {

void set_unless_in_environment(mi_option_t option, const char* variable, long value) {
  if (std::getenv(variable) == nullptr) mi_option_set(option, value);
}

__attribute__((constructor(101))) void tune_allocator() {
  set_unless_in_environment(mi_option_large_os_pages, "MIMALLOC_LARGE_OS_PAGES", 1);
  set_unless_in_environment(mi_option_eager_commit_delay, "MIMALLOC_EAGER_COMMIT_DELAY", 0);
  set_unless_in_environment(mi_option_allow_decommit, "MIMALLOC_ALLOW_DECOMMIT", 0);
}

}  // namespace
