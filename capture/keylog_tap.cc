#include "capture/keylog_tap.h"

#include <unistd.h>

#include <array>

namespace flowaudit::capture {

namespace {

bool all_hex(std::string_view s) noexcept {
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

}  // namespace

bool is_key_log_line(std::string_view line) noexcept {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return false;
  const auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) return false;
  const std::string_view label = line.substr(0, sp1);
  const std::string_view first = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view secret = line.substr(sp2 + 1);
  if (!all_hex(first) || !all_hex(secret)) return false;
  if (label == "RSA") return first.size() == 16 && secret.size() == 96;
  static constexpr std::array<std::string_view, 9> kLabels{
      "CLIENT_RANDOM",           "CLIENT_EARLY_TRAFFIC_SECRET", "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
      "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0",     "SERVER_TRAFFIC_SECRET_0",
      "EARLY_EXPORTER_SECRET",   "EXPORTER_SECRET",             "EARLY_EXPORTER_MASTER_SECRET"};
  bool known = false;
  for (const auto l : kLabels) known = known || l == label;
  return known && first.size() == 64 && secret.size() >= 32 && secret.size() <= 128 && secret.size() % 2 == 0;
}

KeyLogTap::~KeyLogTap() {
  if (fd_ >= 0) ::close(fd_);
}

std::string KeyLogTap::take_new_lines() {
  std::string out;
  if (fd_ < 0 || limit_reached_) return out;
  char buf[16384];
  for (int rounds = 0; rounds < 64; ++rounds) {
    const ssize_t n = ::pread(fd_, buf, sizeof buf, static_cast<off_t>(offset_));
    if (n <= 0) break;
    offset_ += static_cast<std::uint64_t>(n);
    for (ssize_t i = 0; i < n; ++i) {
      const char c = buf[i];
      if (c != '\n') {
        if (skipping_) continue;
        if (partial_.size() >= kMaxLine) {
          skipping_ = true;
          partial_.clear();
          continue;
        }
        partial_.push_back(c);
        continue;
      }
      if (skipping_) {
        ++malformed_;
        skipping_ = false;
      } else if (is_key_log_line(partial_)) {
        ++keys_;
        out.append(partial_);
        out.push_back('\n');
      } else if (!partial_.empty() && partial_[0] != '#') {
        ++malformed_;
      }
      partial_.clear();
    }
    if (offset_ >= kMaxBytes) {
      limit_reached_ = true;
      break;
    }
  }
  return out;
}

}  // namespace flowaudit::capture
