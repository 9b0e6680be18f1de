#include "capture/live_loop.h"

#include <poll.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <optional>

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
  // `run`: the caller's descriptor, duplicated like the capture's.
  std::optional<asio::posix::stream_descriptor> stop_watch;
  if (options.stop_fd >= 0) stop_watch.emplace(io, ::dup(options.stop_fd));
  bool duration_expired = false;

  const auto stop = [&](StopReason reason) {
    if (stopping) return;
    stopping = true;
    result.reason = reason == StopReason::kStopFd && duration_expired ? StopReason::kDuration : reason;
    boost::system::error_code ignored;
    capture.cancel(ignored);
    signals.cancel(ignored);
    if (stop_watch) stop_watch->cancel(ignored);
    duration.cancel();
    tick.cancel();
    stats.cancel();
  };

  // Reads what has arrived; false (and the loop stops) when the capture failed.
  const auto read_packets = [&] {
    if (callbacks.before_read) callbacks.before_read();
    if (source.dispatch(kBatch, callbacks.on_packet) >= 0) return true;
    result.error = source.info().error;
    stop(StopReason::kCaptureError);
    return false;
  };
  std::function<void()> wait_packets = [&] {
    capture.async_wait(asio::posix::stream_descriptor::wait_read, [&](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      if (read_packets()) wait_packets();
    });
  };
  wait_packets();

  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int signal) {
      if (ec || stopping) return;
      result.signal = signal;
      if (!callbacks.on_signal) return stop(StopReason::kSignal);
      callbacks.on_signal(signal);
      wait_signal();
    });
  };
  wait_signal();
  if (options.duration_seconds > 0) {
    duration.expires_after(seconds(options.duration_seconds));
    duration.async_wait([&](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      if (!callbacks.on_duration) return stop(StopReason::kDuration);
      duration_expired = true;
      callbacks.on_duration();
    });
  }
  if (options.stop_fd >= 0) {
    stop_watch->async_wait(asio::posix::stream_descriptor::wait_read, [&](const boost::system::error_code& ec) {
      if (!ec) stop(StopReason::kStopFd);
    });
  }
  // The tick also reads the capture: Asio watches descriptors edge-triggered (epoll EPOLLET), so a
  // wake-up spent while a batch was being read (more than kBatch waiting, or the error of an
  // interface that went away arriving with a block of packets) would otherwise not come again
  // until the next packet, and a vanished interface sends none.
  std::function<void()> arm_tick = [&] {
    tick.expires_after(seconds(options.tick_seconds));
    tick.async_wait([&](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      if (!read_packets()) return;
      if (callbacks.on_tick) callbacks.on_tick();
      arm_tick();
    });
  };
  if (options.tick_seconds > 0) arm_tick();
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
  // The last block is handed over only when its timeout expires, so wait for the descriptor (twice
  // the timeout) until it stays quiet; bounded, for an interface that never goes quiet.
  if (result.reason != StopReason::kCaptureError) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (int rounds = 0; rounds < 1024 && std::chrono::steady_clock::now() < deadline; ++rounds) {
      if (callbacks.before_read) callbacks.before_read();
      const int n = source.dispatch(kBatch, callbacks.on_packet);
      if (n < 0) break;
      if (n > 0) continue;
      pollfd pfd{source.selectable_fd(), POLLIN, 0};
      const int ready = ::poll(&pfd, 1, 2 * LiveSource::kBlockTimeoutMs);
      if (ready <= 0 && !(ready < 0 && errno == EINTR)) break;
    }
  }
  return result;
}

}  // namespace flowaudit::capture
