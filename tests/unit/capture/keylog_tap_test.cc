// The key log follower of `flowaudit run`: which lines are key lines, and lines read as the app
// appends them (a line still being written waits for its newline; a malformed or overlong line is
// counted and left out).
#include <doctest/doctest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "capture/keylog_tap.h"

namespace flowaudit::capture {
namespace {

const std::string kRandom(64, '0');
const std::string kSecret32(64, 'a');  // 32 bytes
const std::string kSecret48(96, 'b');  // 48 bytes

void append(int fd, const std::string& text) { REQUIRE(::write(fd, text.data(), text.size()) == ssize_t(text.size())); }

TEST_CASE("key log lines: the labels of TLS 1.2, TLS 1.3 and QUIC stacks, with fields of the right size") {
  CHECK(is_key_log_line("CLIENT_RANDOM " + kRandom + " " + kSecret48));
  CHECK(is_key_log_line("CLIENT_HANDSHAKE_TRAFFIC_SECRET " + kRandom + " " + kSecret32));
  CHECK(is_key_log_line("SERVER_TRAFFIC_SECRET_0 " + kRandom + " " + kSecret48));
  CHECK(is_key_log_line("CLIENT_TRAFFIC_SECRET_0 " + kRandom + " " + kSecret32 + "\r"));
  CHECK(is_key_log_line("RSA 0011223344556677 " + kSecret48));
  CHECK_FALSE(is_key_log_line(""));
  CHECK_FALSE(is_key_log_line("# SSL/TLS secrets log file"));
  CHECK_FALSE(is_key_log_line("CLIENT_RANDOM " + kRandom.substr(2) + " " + kSecret48));     // short random
  CHECK_FALSE(is_key_log_line("CLIENT_RANDOM " + kRandom + " " + kSecret48 + "0"));         // odd length
  CHECK_FALSE(is_key_log_line("CLIENT_RANDOM " + kRandom + " zz" + kSecret48.substr(2)));   // not hex
  CHECK_FALSE(is_key_log_line("UNKNOWN_LABEL " + kRandom + " " + kSecret32));
  CHECK_FALSE(is_key_log_line("CLIENT_RANDOM " + kRandom + " " + kSecret48 + " extra"));
  CHECK_FALSE(is_key_log_line("CLIENT_RANDOM " + kRandom + " " + std::string(130, 'c')));  // secret too long
}

TEST_CASE("the key log is read as it grows: whole lines only, malformed ones counted") {
  const int fd = ::memfd_create("keylog", MFD_CLOEXEC);
  REQUIRE(fd >= 0);
  KeyLogTap tap(fd);
  CHECK(tap.take_new_lines().empty());
  const std::string one = "CLIENT_HANDSHAKE_TRAFFIC_SECRET " + kRandom + " " + kSecret32;
  append(fd, "# comment\n" + one.substr(0, 20));
  CHECK(tap.take_new_lines().empty());  // the line is still being written
  append(fd, one.substr(20) + "\nnot a key line\n");
  CHECK(tap.take_new_lines() == one + "\n");
  CHECK(tap.keys() == 1);
  CHECK(tap.malformed() == 1);
  // A line past the limit is skipped to its newline, and the next line is read again.
  append(fd, std::string(KeyLogTap::kMaxLine * 3, 'x') + "\n" + one + "\n");
  CHECK(tap.take_new_lines() == one + "\n");
  CHECK(tap.keys() == 2);
  CHECK(tap.malformed() == 2);
}

}  // namespace
}  // namespace flowaudit::capture
