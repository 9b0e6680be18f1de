#include "analysis/app/starttls/starttls_handler.h"

#include <algorithm>
#include <array>
#include <limits>

#include "core/byte_reader.h"

namespace flowaudit::analysis::starttls {
namespace {

using app::Claim;

constexpr std::size_t kClient = 0;
constexpr std::size_t kServer = 1;
constexpr std::array<std::uint8_t, 8> kSslRequest = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};  // length 8, code 80877103
constexpr std::string_view kLdapStartTlsOid = "1.3.6.1.4.1.1466.20037";

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool starts_with_ci(std::string_view s, std::string_view prefix) noexcept {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (lower(s[i]) != lower(prefix[i])) return false;
  }
  return true;
}

// A command alone on its line (trailing spaces allowed): "STARTTLS", "STLS", "AUTH TLS".
bool is_command(std::string_view line, std::string_view command) noexcept {
  if (!starts_with_ci(line, command)) return false;
  line.remove_prefix(command.size());
  return line.find_first_not_of(' ') == std::string_view::npos;
}

// Whether `p` is a prefix of `whole` or starts with it: kYes, kNeedMore or kNo.
Claim prefix_claim(std::span<const std::uint8_t> p, std::string_view whole) noexcept {
  const std::size_t n = std::min(p.size(), whole.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != static_cast<std::uint8_t>(whole[i])) return Claim::kNo;
  }
  return n == whole.size() ? Claim::kYes : Claim::kNeedMore;
}

// A reply line's code: "220 " or "220-" (multi-line continues), the code and whether it is final.
bool reply_code(std::string_view line, int& code, bool& final_line) noexcept {
  if (line.size() < 3) return false;
  code = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    if (line[i] < '0' || line[i] > '9') return false;
    code = code * 10 + (line[i] - '0');
  }
  final_line = line.size() == 3 || line[3] == ' ';
  return final_line || line[3] == '-';
}

std::string_view as_text(std::span<const std::uint8_t> b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// BER: a tag byte and a definite length (short form or 1 to 4 length bytes).
bool ber_header(core::ByteReader& r, std::uint8_t& tag, std::size_t& length) noexcept {
  std::uint8_t first = 0;
  if (!r.read_u8(tag) || !r.read_u8(first)) return false;
  if (first < 0x80) {
    length = first;
    return true;
  }
  const std::size_t n = first & 0x7f;
  if (n == 0 || n > 4) return false;
  length = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint8_t b = 0;
    if (!r.read_u8(b)) return false;
    length = length << 8 | b;
  }
  return true;
}

// LDAPMessage ::= SEQUENCE { messageID INTEGER, protocolOp CHOICE { ... }, ... }: the reader is
// left at the protocolOp's content; its tag is returned.
bool ldap_op(std::span<const std::uint8_t> message, core::ByteReader& op, std::uint8_t& op_tag) noexcept {
  core::ByteReader r(message);
  std::uint8_t tag = 0;
  std::size_t len = 0;
  if (!ber_header(r, tag, len) || tag != 0x30) return false;
  if (!ber_header(r, tag, len) || tag != 0x02 || len == 0 || len > 4 || !r.skip(len)) return false;
  if (!ber_header(r, op_tag, len)) return false;
  return r.sub_reader(std::min(len, r.remaining()), op);
}

}  // namespace

bool is_upgrade_command(Mode mode, std::string_view line, std::string* imap_tag) {
  switch (mode) {
    case Mode::kSmtp: return is_command(line, "STARTTLS");
    case Mode::kPop3: return is_command(line, "STLS");
    case Mode::kFtp: return is_command(line, "AUTH TLS") || is_command(line, "AUTH SSL") || is_command(line, "AUTH TLS-C");
    case Mode::kImap: {
      const std::size_t sp = line.find(' ');
      if (sp == 0 || sp == std::string_view::npos || sp > 64 || !is_command(line.substr(sp + 1), "STARTTLS")) return false;
      if (imap_tag != nullptr) imap_tag->assign(line.substr(0, sp));
      return true;
    }
    default: return false;
  }
}

int upgrade_answer(Mode mode, std::string_view line, std::string_view imap_tag) {
  int code = 0;
  bool final_line = false;
  switch (mode) {
    case Mode::kSmtp:
    case Mode::kFtp:
      if (!reply_code(line, code, final_line) || !final_line) return -1;
      return code == (mode == Mode::kSmtp ? 220 : 234) ? 1 : 0;
    case Mode::kPop3:
      if (starts_with_ci(line, "+OK")) return 1;
      return starts_with_ci(line, "-ERR") ? 0 : -1;
    case Mode::kImap:
      if (imap_tag.empty() || line.size() <= imap_tag.size() || line.substr(0, imap_tag.size()) != imap_tag ||
          line[imap_tag.size()] != ' ') {
        return -1;
      }
      return starts_with_ci(line.substr(imap_tag.size() + 1), "OK") ? 1 : 0;
    default: return -1;
  }
}

std::size_t ldap_message_size(std::span<const std::uint8_t> bytes) noexcept {
  core::ByteReader r(bytes);
  std::uint8_t tag = 0;
  std::size_t len = 0;
  if (bytes.size() >= 1 && bytes[0] != 0x30) return std::numeric_limits<std::size_t>::max();
  if (!ber_header(r, tag, len)) {
    // A header that cannot be whole (more than 4 length bytes) is not LDAP; else wait.
    return bytes.size() >= 6 ? std::numeric_limits<std::size_t>::max() : 0;
  }
  if (len > kMaxPlaintextBytes) return std::numeric_limits<std::size_t>::max();
  const std::size_t size = r.offset() + len;
  return size <= bytes.size() ? size : 0;
}

bool ldap_is_starttls_request(std::span<const std::uint8_t> message) noexcept {
  core::ByteReader op;
  std::uint8_t op_tag = 0;
  if (!ldap_op(message, op, op_tag) || op_tag != 0x77) return false;  // [APPLICATION 23] ExtendedRequest
  std::uint8_t tag = 0;
  std::size_t len = 0;
  std::span<const std::uint8_t> oid;
  if (!ber_header(op, tag, len) || tag != 0x80 || !op.read_bytes(len, oid)) return false;  // requestName [0]
  return as_text(oid) == kLdapStartTlsOid;
}

int ldap_starttls_result(std::span<const std::uint8_t> message) noexcept {
  core::ByteReader op;
  std::uint8_t op_tag = 0;
  if (!ldap_op(message, op, op_tag) || op_tag != 0x78) return -1;  // [APPLICATION 24] ExtendedResponse
  std::uint8_t tag = 0;
  std::size_t len = 0;
  std::uint8_t code = 0;
  if (!ber_header(op, tag, len) || tag != 0x0a || len != 1 || !op.read_u8(code)) return -1;  // resultCode
  return code;
}

Claim StartTlsHandler::claims_banner(const app::ProbeInput& in) noexcept {
  if (in.from_client) return Claim::kNo;
  const auto p = in.payload;
  if (p.empty()) return Claim::kNeedMore;
  if (p[0] == '2') {  // SMTP or FTP greeting: "220 " or "220-"
    const Claim c = prefix_claim(p, "220");
    if (c != Claim::kYes) return c;
    if (p.size() < 4) return Claim::kNeedMore;
    return p[3] == ' ' || p[3] == '-' ? Claim::kYes : Claim::kNo;
  }
  if (p[0] == '*') {
    const Claim ok = prefix_claim(p, "* OK ");
    return ok != Claim::kNo ? ok : prefix_claim(p, "* PREAUTH ");
  }
  if (p[0] == '+') return prefix_claim(p, "+OK");
  return Claim::kNo;
}

Claim StartTlsHandler::claims_client(const app::ProbeInput& in) noexcept {
  if (!in.from_client) return Claim::kNo;
  const auto p = in.payload;
  if (p.empty()) return Claim::kNeedMore;
  if (p[0] == 0) return prefix_claim(p, as_text(kSslRequest));
  if (p[0] == '<') {
    const Claim stream = prefix_claim(p, "<stream:stream");
    if (stream != Claim::kNo) return stream;
    // An XML declaration is XMPP only on the XMPP ports (client 5222, server-to-server 5269).
    if (in.server_port != 5222 && in.server_port != 5269) return Claim::kNo;
    return prefix_claim(p, "<?xml");
  }
  if (p[0] == 0x30) {  // LDAP, and only a StartTLS request: plain LDAP is not claimed
    core::ByteReader r(p);
    std::uint8_t tag = 0;
    std::size_t len = 0;
    std::span<const std::uint8_t> id;
    if (!ber_header(r, tag, len) || !ber_header(r, tag, len)) return p.size() < 8 ? Claim::kNeedMore : Claim::kNo;
    if (tag != 0x02 || len == 0 || len > 4) return Claim::kNo;
    if (!r.read_bytes(len, id) || !ber_header(r, tag, len)) return p.size() < 12 ? Claim::kNeedMore : Claim::kNo;
    if (tag != 0x77) return Claim::kNo;
    if (!ber_header(r, tag, len)) return Claim::kNeedMore;
    if (tag != 0x80 || len != kLdapStartTlsOid.size()) return Claim::kNo;
    const std::size_t have = std::min(r.remaining(), kLdapStartTlsOid.size());
    std::span<const std::uint8_t> oid;
    if (!r.read_bytes(have, oid) || as_text(oid) != kLdapStartTlsOid.substr(0, have)) return Claim::kNo;
    return Claim::kYes;  // the header and the OID's start: decided within 16 bytes
  }
  return Claim::kNo;
}

void StartTlsHandler::set_mode(app::AppContext& ctx, const flow::Flow& f, Mode m) {
  mode_ = m;
  static constexpr std::array<app::AppProtocol, 8> kApp = {
      app::AppProtocol::kUnknown, app::AppProtocol::kSmtp, app::AppProtocol::kFtp,  app::AppProtocol::kImap,
      app::AppProtocol::kPop3,    app::AppProtocol::kXmpp, app::AppProtocol::kLdap, app::AppProtocol::kPostgres};
  ctx.details_for(f).app = kApp[static_cast<std::size_t>(m)];
}

void StartTlsHandler::upgrade(app::AppContext& ctx, flow::Flow& f, std::size_t server_consumed) {
  std::vector<std::uint8_t> client;
  std::vector<std::uint8_t> server;
  client.swap(buf_[kClient]);
  server.swap(buf_[kServer]);
  server.erase(server.begin(), server.begin() + static_cast<std::ptrdiff_t>(std::min(server_consumed, server.size())));
  tls_ = std::make_unique<proxy::Tunnel>(true);
  if (!client.empty()) tls_->on_stream(ctx, f, f.client, client);
  if (!server.empty() && !app::is_done(f)) tls_->on_stream(ctx, f, f.server(), server);
}

// Complete client lines, until the upgrade command.
bool StartTlsHandler::client_lines(app::AppContext& ctx, flow::Flow& f) {
  std::vector<std::uint8_t>& b = buf_[kClient];
  bool progress = false;
  while (!asked_) {
    const auto nl = std::find(b.begin(), b.end(), std::uint8_t{'\n'});
    if (nl == b.end()) {
      if (b.size() > kMaxLineBytes) b.clear();  // a line this long is no command of interest
      break;
    }
    std::string_view line = as_text(std::span<const std::uint8_t>(b.data(), static_cast<std::size_t>(nl - b.begin())));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (mode_ == Mode::kSmtp && (starts_with_ci(line, "AUTH TLS") || starts_with_ci(line, "AUTH SSL") ||
                                 starts_with_ci(line, "USER ") || starts_with_ci(line, "FEAT"))) {
      set_mode(ctx, f, Mode::kFtp);  // a "220" greeting on a port other than 21
    }
    ++commands_;
    if (is_upgrade_command(mode_, line, &tag_)) {
      asked_ = true;
      answer_at_ = commands_;
    }
    b.erase(b.begin(), nl + 1);
    progress = true;
  }
  return progress;
}

// Complete server lines; after the client asked, the answer that allows the upgrade.
bool StartTlsHandler::server_lines(app::AppContext& ctx, flow::Flow& f) {
  std::vector<std::uint8_t>& b = buf_[kServer];
  for (;;) {
    const auto nl = std::find(b.begin(), b.end(), std::uint8_t{'\n'});
    if (nl == b.end()) {
      if (b.size() > kMaxLineBytes) b.clear();
      return false;
    }
    const std::size_t end = static_cast<std::size_t>(nl - b.begin()) + 1;
    std::string_view line = as_text(std::span<const std::uint8_t>(b.data(), end - 1));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    bool counted = false;
    if (mode_ == Mode::kSmtp || mode_ == Mode::kFtp) {
      int code = 0;
      bool final_line = false;
      if (reply_code(line, code, final_line) && final_line) {
        if (!greeted_) {
          greeted_ = true;
        } else {
          ++replies_;
          counted = true;
        }
      }
    }
    if (asked_ && ((mode_ != Mode::kSmtp && mode_ != Mode::kFtp) || (counted && replies_ == answer_at_))) {
      const int answer = upgrade_answer(mode_, line, tag_);
      if (answer == 1) {
        upgrade(ctx, f, end);
        return false;
      }
      if (answer == 0) {
        asked_ = false;  // refused: the session goes on in plaintext, the client may ask again
        b.erase(b.begin(), nl + 1);
        return true;
      }
    }
    b.erase(b.begin(), nl + 1);
  }
}

// XMPP, LDAP and PostgreSQL: the upgrade request and answer are not lines.
bool StartTlsHandler::binary_step(app::AppContext& ctx, flow::Flow& f, std::size_t side) {
  std::vector<std::uint8_t>& b = buf_[side];
  const bool client = side == kClient;
  if (client && asked_) return false;
  if (!client && !asked_) {
    // Only the answer to the request matters; what the server sent before it is not kept
    // (XMPP stream features, LDAP has nothing before).
    if (mode_ == Mode::kXmpp && b.size() > 64) b.erase(b.begin(), b.end() - 64);
    if (mode_ != Mode::kXmpp) b.clear();
    return false;
  }
  if (mode_ == Mode::kPostgres) {
    if (client) {
      if (b.size() < kSslRequest.size()) return false;
      if (!std::equal(kSslRequest.begin(), kSslRequest.end(), b.begin())) {
        ++ctx.stats.starttls_malformed;
        app::done(f);
        return false;
      }
      b.erase(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(kSslRequest.size()));
      asked_ = true;
      return true;
    }
    if (b.empty()) return false;
    if (b[0] == 'S') {
      upgrade(ctx, f, 1);
    } else {
      app::done(f);  // 'N': the session goes on in plaintext (or an error message)
    }
    return false;
  }
  if (mode_ == Mode::kLdap) {
    const std::size_t size = ldap_message_size(b);
    if (size == std::numeric_limits<std::size_t>::max()) {
      ++ctx.stats.starttls_malformed;
      app::done(f);
      return false;
    }
    if (size == 0) return false;
    const std::span<const std::uint8_t> message(b.data(), size);
    if (client) {
      asked_ = ldap_is_starttls_request(message);
    } else {
      const int result = ldap_starttls_result(message);
      if (result == 0) {
        upgrade(ctx, f, size);
        return false;
      }
      if (result > 0) asked_ = false;
    }
    b.erase(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(size));
    return true;
  }
  // XMPP: <starttls .../> from the client, then <proceed .../> (or <failure/>) from the server.
  const std::string_view text = as_text(b);
  const std::string_view element = client ? "<starttls" : "<proceed";
  const std::size_t at = text.find(element);
  if (at == std::string_view::npos) {
    if (!client && text.find("<failure") != std::string_view::npos) app::done(f);
    if (b.size() > 64) b.erase(b.begin(), b.end() - 64);  // a tag cut between segments is kept
    return false;
  }
  const std::size_t close = text.find('>', at);
  if (close == std::string_view::npos) return false;
  if (client) {
    asked_ = true;
    b.erase(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(close + 1));
    return true;
  }
  upgrade(ctx, f, close + 1);
  return false;
}

void StartTlsHandler::advance(app::AppContext& ctx, flow::Flow& f) {
  for (int i = 0; i < 64 && !tls_ && !app::is_done(f); ++i) {
    bool progress = false;
    if (mode_ == Mode::kXmpp || mode_ == Mode::kLdap || mode_ == Mode::kPostgres) {
      progress = binary_step(ctx, f, kClient);
      if (!tls_ && !app::is_done(f)) progress = binary_step(ctx, f, kServer) || progress;
    } else {
      progress = client_lines(ctx, f);
      if (!tls_ && !app::is_done(f)) progress = server_lines(ctx, f) || progress;
    }
    if (!progress) break;
  }
}

void StartTlsHandler::on_stream(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender,
                                std::span<const std::uint8_t> bytes) {
  const std::size_t side = sender == f.client ? kClient : kServer;
  if (tls_) {
    tls_->on_stream(ctx, f, sender, bytes);
    return;
  }
  if (bytes.empty()) return;
  if (mode_ == Mode::kUnset) {
    switch (bytes[0]) {
      case '2': set_mode(ctx, f, f.key.port[f.server()] == 21 ? Mode::kFtp : Mode::kSmtp); break;
      case '*': set_mode(ctx, f, Mode::kImap); break;
      case '+': set_mode(ctx, f, Mode::kPop3); break;
      case '<': set_mode(ctx, f, Mode::kXmpp); break;
      case 0x30: set_mode(ctx, f, Mode::kLdap); break;
      default: set_mode(ctx, f, Mode::kPostgres); break;
    }
  }
  read_[side] += bytes.size();
  if (read_[side] > kMaxPlaintextBytes) {
    ctx.inspection_limit(f, app::InspectionLimit::kStartTlsPlaintext);
    app::done(f);
    return;
  }
  buf_[side].insert(buf_[side].end(), bytes.begin(), bytes.end());
  advance(ctx, f);
}

void StartTlsHandler::on_stream_stopped(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender,
                                        app::InspectionLimit which) {
  if (tls_) {
    tls_->on_stream_stopped(ctx, f, sender, which);
  } else if (asked_) {
    ctx.inspection_limit(f, which);  // it asked to upgrade: the handshake that follows was not read
  }
}

}  // namespace flowaudit::analysis::starttls
