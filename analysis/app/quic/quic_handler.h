// QUIC (RFC 9000 and drafts): the ClientHello inside the client's Initial packets, decrypted with
// the keys every observer can derive. gQUIC (Google's QUIC before IETF): the CHLO's SNI, in clear.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "analysis/app/app_context.h"
#include "analysis/app/quic/quic_initial.h"

namespace flowaudit::analysis::quic {

class QuicHandler {
 public:
  static constexpr app::AppProtocol kProtocol = app::AppProtocol::kQuic;
  static app::Claim claims(const app::ProbeInput& in) noexcept;  // a long header from the client, not gQUIC

  QuicHandler() noexcept;
  ~QuicHandler();
  QuicHandler(QuicHandler&&) noexcept;
  QuicHandler& operator=(QuicHandler&&) noexcept;

  void on_datagram(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> payload,
                   core::TimestampNs ts);
  // The flow leaves the table: what decrypting it found goes into its details.
  void on_retire(app::AppContext& ctx, flow::Flow& f);

 private:
  struct Decryption;  // the 1-RTT decryptor and the HTTP/3 reader its streams feed
  void start_decryption(app::AppContext& ctx, flow::Flow& f);
  void decrypt(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> payload);
  void finish_decryption(app::AppContext& ctx, const flow::Flow& f);
  static void record_server_start(app::AppContext& ctx, const flow::Flow& f, const ServerStart& start);
  void on_server_initial(app::AppContext& ctx, flow::Flow& f, std::span<const std::uint8_t> payload);

  std::unique_ptr<InitialAssembler> assembler_;  // large: allocated on the flow's first client datagram
  std::unique_ptr<InitialAssembler> server_;     // once the ClientHello is in: the server's Initials
  std::uint32_t datagrams_ = 0;
  std::uint32_t after_hello_ = 0;  // datagrams since the ClientHello, up to max_quic_datagrams
  std::unique_ptr<Decryption> decryption_;  // only with a key log, once the ClientHello was read
  bool decryption_over_ = false;
};

class GquicHandler {
 public:
  static constexpr app::AppProtocol kProtocol = app::AppProtocol::kGquic;
  static app::Claim claims(const app::ProbeInput& in) noexcept;  // a gQUIC version (Q0xx, T0xx) from the client

  void on_datagram(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> payload,
                   core::TimestampNs ts);

 private:
  std::uint32_t datagrams_ = 0;
};

}  // namespace flowaudit::analysis::quic
