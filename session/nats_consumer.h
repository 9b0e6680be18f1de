// The NATS side of `flowaudit sink`: a durable JetStream pull consumer on the events subject with
// explicit acknowledgements. A message is acknowledged only once the caller says it is stored;
// one not acknowledged in time (the sink died, ClickHouse refused the batch) is delivered again.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "session/nats_sink.h"

namespace flowaudit::session {

class NatsConsumer {
 public:
  // Connects (a server that is down is retried in the background: fetch() says it is waiting).
  // nullptr and a one-line reason only for what no retry mends (a bad credentials or CA file).
  static std::unique_ptr<NatsConsumer> open(const NatsTarget& target, const NatsSettings& settings,
                                            std::string durable, std::string& error);
  ~NatsConsumer();
  NatsConsumer(const NatsConsumer&) = delete;
  NatsConsumer& operator=(const NatsConsumer&) = delete;

  enum class Fetch { kMessages, kNone, kWaiting };
  // Settles nothing: the previous batch must have been acknowledged, refused or handed back. Takes
  // up to `max` messages, waiting at most `wait`. kNone: none came; kWaiting: not connected or the
  // consumer could not be had yet (`why` says what).
  Fetch fetch(int max, std::chrono::milliseconds wait, std::string& why);

  [[nodiscard]] std::size_t size() const noexcept;
  [[nodiscard]] std::string_view data(std::size_t i) const noexcept;

  // Settling the batch. ack_all() acknowledges every message not refused (the last one
  // synchronously: the acknowledgements reached the server, or the messages come again); refuse(i)
  // ends message i's delivery for good (NATS Term); hand_back() asks for the batch again after
  // `delay` (NATS Nak).
  void refuse(std::size_t i);
  bool ack_all();
  void hand_back(std::chrono::milliseconds delay);

  [[nodiscard]] bool connected() const;

 private:
  struct Impl;
  explicit NatsConsumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace flowaudit::session
