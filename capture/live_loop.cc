#include "capture/live_loop.h"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>

namespace flowaudit::capture {
namespace {

namespace asio = boost::asio;

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

// Packets read per wake-up before going back to the loop, so that timers and signals are served
// even when the interface never goes quiet.
constexpr int kBatch = 4096;

}  // namespace

LoopResult run_live_loop(LiveSource& source, const LoopOptions& options, const LoopCallbacks& callbacks) {
  LoopResult result;
  asio::io_context io;
  // The descriptor belongs to libpcap: Asio gets its own duplicate to close.
  asio::posix::stream_descriptor capture(io, ::dup(source.selectable_fd()));
  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::steady_timer duration(io);
  asio::steady_timer tick(io);
  asio::steady_timer stats(io);
  bool stopping = false;

  const auto stop = [&](StopReason reason) {
    if (stopping) return;
    stopping = true;
    result.reason = reason;
    boost::system::error_code ignored;
    capture.cancel(ignored);
    signals.cancel(ignored);
    duration.cancel();
    tick.cancel();
    stats.cancel();
  };

  std::function<void()> wait_packets = [&] {
    capture.async_wait(asio::posix::stream_descriptor::wait_read, [&](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      if (source.dispatch(kBatch, callbacks.on_packet) < 0) {
        result.error = source.info().error;
        stop(StopReason::kCaptureError);
        return;
      }
      wait_packets();
    });
  };
  wait_packets();

  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    result.signal = signal;
    stop(StopReason::kSignal);
  });
  if (options.duration_seconds > 0) {
    duration.expires_after(seconds(options.duration_seconds));
    duration.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) stop(StopReason::kDuration);
    });
  }
  std::function<void()> arm_tick = [&] {
    tick.expires_after(seconds(options.tick_seconds));
    tick.async_wait([&](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      if (callbacks.on_tick) callbacks.on_tick();
      arm_tick();
    });
  };
  if (callbacks.on_tick && options.tick_seconds > 0) arm_tick();
  std::function<void()> arm_stats = [&] {
    stats.expires_after(seconds(options.stats_interval_seconds));
    stats.async_wait([&](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      if (callbacks.on_stats) callbacks.on_stats();
      arm_stats();
    });
  };
  if (callbacks.on_stats && options.stats_interval_seconds > 0) arm_stats();

  io.run();

  // Drain: whatever the kernel still holds was captured before the stop and belongs in the report.
  if (result.reason != StopReason::kCaptureError) {
    for (int rounds = 0; rounds < 1024; ++rounds) {
      const int n = source.dispatch(kBatch, callbacks.on_packet);
      if (n <= 0) break;
    }
  }
  return result;
}

}  // namespace flowaudit::capture
