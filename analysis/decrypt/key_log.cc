#include "analysis/decrypt/key_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace flowaudit::analysis::decrypt {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool decode_hex(std::string_view hex, std::span<std::uint8_t> out) noexcept {
  if (hex.size() != out.size() * 2) return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return true;
}

struct Label {
  std::string_view name;
  int kind;  // SecretKind, or -1 for a valid label that decrypts nothing here
};

constexpr Label kLabels[] = {
    {"CLIENT_RANDOM", static_cast<int>(SecretKind::kMaster)},
    {"CLIENT_EARLY_TRAFFIC_SECRET", static_cast<int>(SecretKind::kClientEarly)},
    {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", static_cast<int>(SecretKind::kClientHandshake)},
    {"SERVER_HANDSHAKE_TRAFFIC_SECRET", static_cast<int>(SecretKind::kServerHandshake)},
    {"CLIENT_TRAFFIC_SECRET_0", static_cast<int>(SecretKind::kClientTraffic)},
    {"SERVER_TRAFFIC_SECRET_0", static_cast<int>(SecretKind::kServerTraffic)},
    {"EXPORTER_SECRET", -1},
    {"EARLY_EXPORTER_SECRET", -1},
    {"EARLY_EXPORTER_MASTER_SECRET", -1},
    // OpenSSL 3 logs the secrets after a KeyUpdate under these: flowaudit derives them itself.
    {"CLIENT_TRAFFIC_SECRET_N", -1},
    {"SERVER_TRAFFIC_SECRET_N", -1},
};

}  // namespace

std::size_t KeyLog::RandomHash::operator()(const ClientRandom& r) const noexcept {
  // A client random is random (RFC 8446 §4.1.2): eight of its bytes are a good hash. Crafted
  // randoms can only slow lookups of their own key log.
  std::uint64_t h = 0;
  for (std::size_t i = 0; i < 8; ++i) h = (h << 8) | r[i];
  return static_cast<std::size_t>(h ^ (h >> 29));
}

KeyLog::LineResult KeyLog::parse_line(std::string_view line, const char** why) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    *why = "not three fields (LABEL CLIENT_RANDOM SECRET)";
    return LineResult::kMalformed;
  }
  const std::string_view label = line.substr(0, sp1);
  const std::string_view random_hex = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view secret_hex = line.substr(sp2 + 1);
  if (label == "RSA") {  // keyed by encrypted premaster: needs the RSA key exchange, not supported
    return LineResult::kIgnored;
  }
  int kind = -2;
  for (const auto& l : kLabels) {
    if (l.name == label) kind = l.kind;
  }
  if (kind == -2) {
    *why = "unknown label";
    return LineResult::kMalformed;
  }
  ClientRandom random{};
  if (!decode_hex(random_hex, random)) {
    *why = "client random is not 32 bytes of hex";
    return LineResult::kMalformed;
  }
  Secret s;
  const std::size_t n = secret_hex.size() / 2;
  const bool size_ok = kind == static_cast<int>(SecretKind::kMaster) ? n == 48 : (n == 32 || n == 48 || n == 64);
  if (secret_hex.size() % 2 != 0 || !size_ok || !decode_hex(secret_hex, std::span(s.bytes.data(), n))) {
    *why = "secret is not hex of a valid size";
    return LineResult::kMalformed;
  }
  if (kind < 0) return LineResult::kIgnored;
  s.size = static_cast<std::uint8_t>(n);
  auto it = table_.find(random);
  if (it == table_.end()) {
    if (table_.size() >= kMaxSessions) return LineResult::kFull;
    it = table_.emplace(random, TlsSecrets{}).first;
  }
  it->second.secret[static_cast<std::size_t>(kind)] = s;
  return LineResult::kStored;
}

bool KeyLog::add_line(std::string_view line) {
  const char* why = nullptr;
  return parse_line(line, &why) == LineResult::kStored;
}

KeyLogLoad KeyLog::add_text(std::string_view text) {
  KeyLogLoad load;
  if (text.size() > kMaxBytes) {
    text = text.substr(0, kMaxBytes);
    load.limit_reached = true;
  }
  std::uint64_t line_no = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    ++load.lines;
    std::string_view trimmed = line;
    while (!trimmed.empty() && (trimmed.back() == '\r' || trimmed.back() == ' ' || trimmed.back() == '\t'))
      trimmed.remove_suffix(1);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    const char* why = "line longer than 1024 bytes";
    LineResult r = LineResult::kMalformed;
    if (trimmed.size() <= kMaxLine) r = parse_line(trimmed, &why);
    switch (r) {
      case LineResult::kStored: ++load.keys; break;
      case LineResult::kIgnored: ++load.ignored; break;
      case LineResult::kFull: load.limit_reached = true; return load;
      case LineResult::kMalformed:
        ++load.malformed;
        if (load.problems.size() < kMaxProblems)
          load.problems.push_back("line " + std::to_string(line_no) + ": " + why);
        break;
    }
  }
  return load;
}

const TlsSecrets* KeyLog::find(std::span<const std::uint8_t> client_random) const noexcept {
  if (client_random.size() != 32 || table_.empty()) return nullptr;
  ClientRandom r{};
  std::memcpy(r.data(), client_random.data(), r.size());
  const auto it = table_.find(r);
  return it == table_.end() ? nullptr : &it->second;
}

bool load_key_log_file(const std::string& path, KeyLog& log, KeyLogLoad& load, bool& world_readable,
                       std::string& error) {
  world_readable = false;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = path + ": not a regular file";
    ::close(fd);
    return false;
  }
  world_readable = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
  std::string text;
  bool truncated = false;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = path + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    const std::size_t room = static_cast<std::size_t>(KeyLog::kMaxBytes) - text.size();
    text.append(buf, std::min(room, static_cast<std::size_t>(n)));
    if (static_cast<std::size_t>(n) > room) {
      truncated = true;
      break;
    }
  }
  ::close(fd);
  load = log.add_text(text);
  load.limit_reached = load.limit_reached || truncated;
  return true;
}

}  // namespace flowaudit::analysis::decrypt
