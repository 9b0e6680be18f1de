// Where the event stream goes (--events ocsf[:DEST]): standard output, or an NDJSON file (one
// event per line, mode 0600, appended to, never written through a symbolic link) that can be
// rotated by size or age (--events-rotate). NATS JetStream is session/nats_sink.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace flowaudit::report::events {

struct EventsTarget {
  enum class Kind { kStdout, kFile, kNats };
  Kind kind = Kind::kStdout;
  std::string path;  // kFile: the file; kNats: the whole nats:// URL
};

// "ocsf" (standard output), "ocsf:-", "ocsf:PATH", "ocsf:nats://HOST:PORT/SUBJECT". nullopt and a
// one-line reason for anything else.
std::optional<EventsTarget> parse_events_target(std::string_view spec, std::string& error);

// --events-rotate: a size ("100M", "1G", "500k", bytes without a unit) or an age ("30s", "15m",
// "1h", "1d"). Sizes are at least 4 KiB, ages at least 1 s.
struct Rotation {
  std::uint64_t max_bytes = 0;        // 0: no size limit
  std::chrono::seconds max_age{0};    // 0: no age limit
  [[nodiscard]] bool any() const noexcept { return max_bytes != 0 || max_age.count() != 0; }
};
std::optional<Rotation> parse_rotation(std::string_view spec, std::string& error);

class EventSink {
 public:
  virtual ~EventSink() = default;
  // One event (a JSON object without its newline). False once the sink has failed: error() says why.
  virtual bool write(std::string_view event) = 0;
  // Flushes and closes; "" or a one-line reason naming the destination.
  virtual std::string close() = 0;
  // Hands what was written on (a capture that tells as it goes, after each part): a file's buffer
  // to the kernel. False once the sink has failed.
  virtual bool flush() { return error_.empty(); }
  [[nodiscard]] const std::string& error() const noexcept { return error_; }
  [[nodiscard]] std::uint64_t events() const noexcept { return events_; }
  [[nodiscard]] std::uint64_t files() const noexcept { return files_; }  // files written (rotation)

 protected:
  std::string error_;
  std::uint64_t events_ = 0;
  std::uint64_t files_ = 0;
};

// Standard output, or the file at target.path with `rotation`: when the file would pass max_bytes, or
// is older than max_age, it is closed and renamed to PATH.<UTC time>[.N] (never over an existing
// file), and a new PATH is started. nullptr and a one-line reason when the file cannot be opened.
std::unique_ptr<EventSink> open_file_sink(const EventsTarget& target, const Rotation& rotation, std::string& error);

}  // namespace flowaudit::report::events
