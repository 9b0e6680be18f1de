#include "analysis/flow/tcp_stream.h"

#include <doctest/doctest.h>

#include <string>

using flowaudit::analysis::flow::TcpStream;

namespace {

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

struct Sink {
  std::string got;
  void operator()(std::span<const std::uint8_t> b) { got.append(b.begin(), b.end()); }
};

}  // namespace

TEST_SUITE("analysis.flow.tcp_stream") {

TEST_CASE("in-order segments are delivered as they come") {
  TcpStream s;
  Sink sink;
  s.start(1000);
  s.add(1000, bytes("hello "), 1 << 20, sink);
  s.add(1006, bytes("world"), 1 << 20, sink);
  CHECK(sink.got == "hello world");
  CHECK(s.state() == TcpStream::State::kOpen);
}

TEST_CASE("early segments wait for the gap to fill, in any order") {
  TcpStream s;
  Sink sink;
  s.start(0);
  s.add(6, bytes("world"), 1 << 20, sink);
  s.add(11, bytes("!"), 1 << 20, sink);
  CHECK(sink.got.empty());
  s.add(0, bytes("hello "), 1 << 20, sink);
  CHECK(sink.got == "hello world!");
}

TEST_CASE("retransmissions and overlaps are trimmed") {
  TcpStream s;
  Sink sink;
  s.start(10);
  s.add(10, bytes("abcd"), 1 << 20, sink);
  s.add(10, bytes("abcd"), 1 << 20, sink);
  s.add(12, bytes("cdef"), 1 << 20, sink);
  CHECK(sink.got == "abcdef");
}

TEST_CASE("sequence numbers wrap around") {
  TcpStream s;
  Sink sink;
  s.start(0xFFFFFFFEu);
  s.add(0xFFFFFFFEu, bytes("ab"), 1 << 20, sink);
  s.add(0, bytes("cd"), 1 << 20, sink);
  CHECK(sink.got == "abcd");
}

TEST_CASE("a stream without a SYN starts at its first segment") {
  TcpStream s;
  Sink sink;
  s.add(500, bytes("mid"), 1 << 20, sink);
  CHECK(sink.got == "mid");
}

TEST_CASE("the byte budget ends the stream") {
  TcpStream s;
  Sink sink;
  s.start(0);
  s.add(0, bytes("0123456789"), 4, sink);
  CHECK(sink.got == "0123");
  CHECK(s.state() == TcpStream::State::kDone);
  s.add(10, bytes("more"), 4, sink);
  CHECK(sink.got == "0123");
}

TEST_CASE("too many early segments is a gap, not unbounded memory") {
  TcpStream s;
  Sink sink;
  s.start(0);
  for (std::uint32_t i = 1; i <= TcpStream::kMaxPendingSegments + 1; ++i) s.add(i * 10, bytes("x"), 1 << 20, sink);
  CHECK(s.state() == TcpStream::State::kGap);
  CHECK(sink.got.empty());
}

}  // TEST_SUITE
