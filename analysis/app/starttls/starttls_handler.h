// Plaintext protocols that upgrade to TLS in the same connection: SMTP (STARTTLS, RFC 3207), IMAP
// (STARTTLS, RFC 9051), POP3 (STLS, RFC 2595), FTP (AUTH TLS, RFC 4217), XMPP (<starttls/>,
// RFC 6120), LDAP (the StartTLS extended operation, RFC 4511) and PostgreSQL (SSLRequest). The
// plaintext before the upgrade is read up to kMaxPlaintextBytes per direction; after the server's
// go-ahead both directions go to the TLS handler (through a Tunnel), so SNI and fingerprints are
// recorded as for direct TLS while the flow stays e.g. "smtp".
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "analysis/app/app_context.h"
#include "analysis/app/proxy/tunnel.h"

namespace flowaudit::analysis::starttls {

// Plaintext read per direction before the upgrade. A server's greeting and capability list (SMTP
// EHLO, IMAP CAPABILITY, XMPP stream features) are a few hundred bytes to a few KiB; more than
// this before STARTTLS is a session that is not upgrading, and past it the flow is an
// inspection-limit blind spot (starttls-plaintext): whatever it does later is not read.
inline constexpr std::size_t kMaxPlaintextBytes = 16 * 1024;
inline constexpr std::size_t kMaxLineBytes = 2048;  // one command or reply line

enum class Mode : std::uint8_t { kUnset, kSmtp, kFtp, kImap, kPop3, kXmpp, kLdap, kPostgres };

// The pure part, for the handler and the fuzz target: one client line / server line.
bool is_upgrade_command(Mode mode, std::string_view line, std::string* imap_tag);
// 1: the server agreed (TLS follows this line), 0: it refused, -1: not the answer (yet).
int upgrade_answer(Mode mode, std::string_view line, std::string_view imap_tag);
// LDAP: whether a whole BER message is the StartTLS extended request / a success response to it;
// the message's size (0: not a whole message yet, SIZE_MAX: not LDAP).
std::size_t ldap_message_size(std::span<const std::uint8_t> bytes) noexcept;
bool ldap_is_starttls_request(std::span<const std::uint8_t> message) noexcept;
int ldap_starttls_result(std::span<const std::uint8_t> message) noexcept;  // resultCode, or -1

class StartTlsHandler {
 public:
  static constexpr app::AppProtocol kProtocol = app::AppProtocol::kSmtp;  // refined on the first bytes
  static app::Claim claims_banner(const app::ProbeInput& in) noexcept;  // server first: 220, * OK, +OK
  static app::Claim claims_client(const app::ProbeInput& in) noexcept;  // XMPP, LDAP StartTLS, SSLRequest

  void on_stream(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, std::span<const std::uint8_t> bytes);
  void on_stream_stopped(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender, app::InspectionLimit which);

 private:
  void set_mode(app::AppContext& ctx, const flow::Flow& f, Mode m);
  void advance(app::AppContext& ctx, flow::Flow& f);
  bool client_lines(app::AppContext& ctx, flow::Flow& f);
  bool server_lines(app::AppContext& ctx, flow::Flow& f);
  bool binary_step(app::AppContext& ctx, flow::Flow& f, std::size_t side);
  void upgrade(app::AppContext& ctx, flow::Flow& f, std::size_t server_consumed);

  std::vector<std::uint8_t> buf_[2];  // 0 client, 1 server: plaintext not consumed yet
  std::size_t read_[2] = {0, 0};      // plaintext bytes read, for the limit
  std::string tag_;                   // IMAP: the tag of the client's STARTTLS
  std::unique_ptr<proxy::Tunnel> tls_;
  Mode mode_ = Mode::kUnset;
  bool asked_ = false;  // the client sent its upgrade command; its later bytes wait for the answer
  // SMTP and FTP: a client may pipeline commands before STARTTLS (RFC 2920: STARTTLS ends a
  // group), so the answer is the reply whose number is the command's; the greeting is no reply.
  bool greeted_ = false;
  std::uint32_t commands_ = 0;
  std::uint32_t replies_ = 0;
  std::uint32_t answer_at_ = 0;
};

}  // namespace flowaudit::analysis::starttls
