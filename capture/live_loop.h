// The live capture's event loop (Boost.Asio): waits on the capture's selectable descriptor, stops
// on SIGINT or SIGTERM or after --duration, and calls back on a periodic tick (new destinations)
// and at the statistics interval. Knows nothing of the analysis: the caller passes callbacks.
#pragma once

#include <functional>
#include <string>

#include "capture/pcap_live_source.h"

namespace flowaudit::capture {

struct LoopOptions {
  double duration_seconds = 0;        // 0: until a signal
  double stats_interval_seconds = 0;  // 0: no periodic statistics
  double tick_seconds = 1.0;          // how often on_tick runs (the capture is then read too, woken or not)
  int stop_fd = -1;                   // `run`: the loop stops when this becomes readable (the command ended)
};

enum class StopReason { kSignal, kDuration, kCaptureError, kStopFd };

struct LoopResult {
  StopReason reason = StopReason::kSignal;
  int signal = 0;         // for kSignal
  std::string error;      // for kCaptureError: the interface went away, ...
};

struct LoopCallbacks {
  std::function<void(const RawPacket&)> on_packet;
  std::function<void()> on_tick;
  std::function<void()> on_stats;
  // `run`: a signal or the end of --duration is handed here instead of stopping the loop (the
  // command is told, and the loop stops when it has ended: stop_fd).
  std::function<void(int signal)> on_signal;
  std::function<void()> on_duration;
  // Before each read of the capture (`run`: the key log lines that came first).
  std::function<void()> before_read;
};

// Runs until stopped; before returning, reads every packet still waiting in the kernel's buffer so
// that stopping loses nothing that was captured.
LoopResult run_live_loop(LiveSource& source, const LoopOptions& options, const LoopCallbacks& callbacks);

}  // namespace flowaudit::capture
