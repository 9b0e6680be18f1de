// The event stream to a NATS JetStream subject (--events ocsf:nats://HOST:PORT/SUBJECT, or tls://
// for TLS): the one network connection flowaudit opens, and only when asked.
//
// Delivery is at least once. Each event is published with its metadata.uid as the Nats-Msg-Id, so
// JetStream drops a copy published again within its duplicate window, and the store (docs/fleet.md:
// ReplacingMergeTree keyed by the id) collapses any later one. An event counts as delivered only
// when the server acknowledged it. What is not acknowledged (the server is unreachable, went away,
// or did not answer in time) goes to a spool file on disk, bounded in size (counted, never silently
// dropped: past the bound the run fails), and is published first by the next run to the same
// server and subject, before its own events. The library reconnects on its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "report/events/event_sink.h"

namespace flowaudit::session {

struct NatsTarget {
  bool tls = false;
  std::string host;
  int port = 4222;
  std::string subject;
  [[nodiscard]] std::string server_url() const;  // nats://HOST:PORT or tls://HOST:PORT
  [[nodiscard]] std::string text() const;        // the URL as given, with the subject
};

// nats://HOST[:PORT]/SUBJECT or tls://HOST[:PORT]/SUBJECT; the subject is dot-separated tokens of
// letters, digits, '-' and '_' (no wildcards). nullopt and a one-line reason otherwise.
std::optional<NatsTarget> parse_nats_target(std::string_view url, std::string& error);

struct NatsSettings {
  std::string creds_file;  // --nats-creds: a NATS credentials file (JWT and NKey seed)
  std::string ca_file;     // --nats-ca: CA certificates to trust for tls://
  std::string stream = "FLOWAUDIT";  // --nats-stream: created for the subject when it does not exist
  std::string spool_dir;   // --events-spool; empty: $XDG_STATE_HOME/flowaudit/spool or ~/.local/state/...
  std::uint64_t spool_max = std::uint64_t{1} << 30;  // --events-spool-max
  std::chrono::milliseconds wait{10000};  // at the end: how long to wait for acknowledgements
};

// The default spool directory (see NatsSettings::spool_dir).
std::string default_spool_dir();

class NatsSink final : public report::events::EventSink {
 public:
  // Connects (or keeps trying in the background when the server is down: events go to the spool
  // meanwhile) and publishes what an earlier run spooled. nullptr and a one-line reason only for
  // what no retry can mend: a bad credentials or CA file, a spool that cannot be opened.
  static std::unique_ptr<NatsSink> open(const NatsTarget& target, const NatsSettings& settings, std::string& error);
  ~NatsSink() override;
  NatsSink(const NatsSink&) = delete;
  NatsSink& operator=(const NatsSink&) = delete;

  bool write(std::string_view event) override;
  // Waits (NatsSettings::wait) for the acknowledgements, spools what was not acknowledged, closes.
  // "" unless events were lost (the spool was full) or the spool failed.
  std::string close() override;

  struct Stats {
    std::uint64_t published = 0;     // handed to the server
    std::uint64_t acknowledged = 0;  // stored by JetStream (duplicates included)
    std::uint64_t spooled = 0;       // written to the spool by this run
    std::uint64_t replayed = 0;      // published from an earlier run's spool
    std::uint64_t lost = 0;          // not acknowledged and not spooled (spool full or failing)
  };
  [[nodiscard]] Stats stats() const;
  [[nodiscard]] const std::string& spool_path() const noexcept;
  // One line for the user: where the events went, and what waits in the spool.
  [[nodiscard]] std::string summary() const;

 private:
  struct Impl;
  explicit NatsSink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  bool closed_ = false;
};

// The metadata.uid of an event as flowaudit writes it (the first "uid" string), or "" when none.
std::string_view event_id(std::string_view event) noexcept;

}  // namespace flowaudit::session
