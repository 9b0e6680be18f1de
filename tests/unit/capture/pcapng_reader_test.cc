#include "capture/pcapng_reader.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "unit/packet_builder.h"

using flowaudit::capture::PcapngReader;
using flowaudit::capture::RawPacket;
using flowaudit::capture::ReadStatus;
using flowaudit::capture::SourceInfo;
using flowaudit::test::Bytes;
using flowaudit::test::Pcapng;

namespace {

struct Packet {
  std::int64_t ts_ns;
  std::uint32_t link_type;
  std::uint32_t interface_id;
  std::uint32_t orig_len;
  std::vector<std::uint8_t> data;
};

struct Result {
  std::vector<Packet> packets;
  SourceInfo info;
  ReadStatus last = ReadStatus::kPacket;
};

// Runs the reader over `bytes` through a stdio memory stream.
Result read_pcapng(const Bytes& bytes) {
  std::vector<std::uint8_t> buf = bytes.vec();
  buf.push_back(0);  // fmemopen needs a valid pointer even for an empty stream
  std::FILE* f = fmemopen(buf.data(), bytes.size(), "r");
  REQUIRE(f != nullptr);
  Result res;
  SourceInfo info;
  info.path = "mem.pcapng";
  info.format = "pcapng";
  PcapngReader reader(f, info);
  RawPacket p;
  for (int guard = 0; guard < 100000; ++guard) {
    res.last = reader.next(p);
    if (res.last != ReadStatus::kPacket) break;
    res.packets.push_back(
        Packet{p.ts_ns, p.link_type, p.interface_id, p.orig_len, std::vector<std::uint8_t>(p.data.begin(), p.data.end())});
  }
  // Once finished, the reader keeps saying so.
  CHECK(reader.next(p) == res.last);
  res.info = reader.info();
  return res;
}

Bytes frame(std::size_t n, std::uint8_t seed) { return flowaudit::test::payload_bytes(n, seed); }

Pcapng two_interfaces(bool be) {
  Pcapng f;
  f.be = be;
  f.section_header();
  f.interface(1);                   // Ethernet, microseconds (default)
  f.interface(101, 0, 9);           // raw IP, nanoseconds
  f.enhanced_packet(0, 1'700'000'000'123'456ull, frame(60, 1));
  f.enhanced_packet(1, 1'700'000'001'987'654'321ull, frame(41, 2), 1500);
  f.enhanced_packet(0, 1'700'000'002'000'001ull, frame(3, 3));
  return f;
}

void check_two_interfaces(const Result& r) {
  CHECK(r.last == ReadStatus::kEnd);
  CHECK(r.info.complete);
  CHECK(r.info.error.empty());
  REQUIRE(r.packets.size() == 3);
  CHECK(r.info.packets == 3);
  CHECK(r.info.bytes == 60 + 41 + 3);
  CHECK(r.info.link_types == std::vector<std::uint32_t>{1, 101});

  CHECK(r.packets[0].link_type == 1);
  CHECK(r.packets[0].interface_id == 0);
  CHECK(r.packets[0].ts_ns == 1'700'000'000'123'456'000LL);
  CHECK(r.packets[0].orig_len == 60);
  CHECK(r.packets[0].data == frame(60, 1).vec());

  CHECK(r.packets[1].link_type == 101);
  CHECK(r.packets[1].interface_id == 1);
  CHECK(r.packets[1].ts_ns == 1'700'000'001'987'654'321LL);
  CHECK(r.packets[1].orig_len == 1500);
  CHECK(r.packets[1].data == frame(41, 2).vec());

  CHECK(r.packets[2].ts_ns == 1'700'000'002'000'001'000LL);
  CHECK(r.packets[2].data.size() == 3);
}

}  // namespace

TEST_SUITE("capture.pcapng") {
  TEST_CASE("several interfaces with different link types and resolutions") {
    check_two_interfaces(read_pcapng(two_interfaces(false).out));
  }

  TEST_CASE("big-endian section reads the same") { check_two_interfaces(read_pcapng(two_interfaces(true).out)); }

  TEST_CASE("power-of-two timestamp resolution") {
    Pcapng f;
    f.section_header();
    f.interface(1, 0, 0x80 | 10);  // 1/1024 s
    f.interface(1, 0, 0x80 | 0);   // whole seconds
    f.interface(1, 0, 0x80 | 30);  // 2^-30 s
    f.enhanced_packet(0, 5 * 1024 + 512, frame(10, 0));
    f.enhanced_packet(1, 7, frame(10, 0));
    f.enhanced_packet(2, (3ull << 30) + (1ull << 29), frame(10, 0));
    const Result r = read_pcapng(f.out);
    REQUIRE(r.packets.size() == 3);
    CHECK(r.packets[0].ts_ns == 5'500'000'000LL);
    CHECK(r.packets[1].ts_ns == 7'000'000'000LL);
    CHECK(r.packets[2].ts_ns == 3'500'000'000LL);
    CHECK(r.info.link_types == std::vector<std::uint32_t>{1});  // listed once
  }

  TEST_CASE("decimal resolutions coarser and finer than nanoseconds, and if_tsoffset") {
    Pcapng f;
    f.section_header();
    f.interface(1, 0, 3);           // milliseconds
    f.interface(1, 0, 12);          // picoseconds
    f.interface(1, 0, -1, 1000);    // microseconds, offset 1000 s
    f.enhanced_packet(0, 1234, frame(4, 0));
    f.enhanced_packet(1, 2'000'000'000'777ull, frame(4, 0));
    f.enhanced_packet(2, 5, frame(4, 0));
    const Result r = read_pcapng(f.out);
    REQUIRE(r.packets.size() == 3);
    CHECK(r.packets[0].ts_ns == 1'234'000'000LL);
    CHECK(r.packets[1].ts_ns == 2'000'000'000LL);
    CHECK(r.packets[2].ts_ns == 1000LL * 1'000'000'000LL + 5000);
  }

  TEST_CASE("timestamp resolution out of range is an error") {
    Pcapng f;
    f.section_header();
    f.interface(1, 0, 19);
    const Result r = read_pcapng(f.out);
    CHECK(r.last == ReadStatus::kError);
    CHECK_FALSE(r.info.complete);
    CHECK(r.info.error.find("resolution") != std::string::npos);
    CHECK(r.info.error.find("mem.pcapng") == 0);
  }

  TEST_CASE("simple packet block: interface 0, no timestamp, snaplen caps the data") {
    Pcapng f;
    f.section_header();
    f.interface(1, 64);
    f.simple_packet(frame(60, 9), 100);  // 60 of 100 bytes captured
    f.simple_packet(frame(80, 9), 80);   // snaplen 64 wins
    f.simple_packet(frame(61, 9));       // padded block: the original length marks the end
    const Result r = read_pcapng(f.out);
    CHECK(r.last == ReadStatus::kEnd);
    REQUIRE(r.packets.size() == 3);
    CHECK(r.packets[0].ts_ns == 0);
    CHECK(r.packets[0].interface_id == 0);
    CHECK(r.packets[0].link_type == 1);
    CHECK(r.packets[0].data == frame(60, 9).vec());
    CHECK(r.packets[0].orig_len == 100);
    CHECK(r.packets[1].data.size() == 64);
    CHECK(r.packets[1].orig_len == 80);
    CHECK(r.packets[2].data == frame(61, 9).vec());
  }

  // Regression (issue 13): a simple packet block read as 1970, a clock jump back in an audit.
  TEST_CASE("simple packet block between enhanced ones takes the previous packet's timestamp") {
    Pcapng f;
    f.section_header();
    f.interface(1, 0, 9);
    f.enhanced_packet(0, 1'700'000'000'000'000'000ull, frame(20, 1));
    f.simple_packet(frame(20, 2));
    f.enhanced_packet(0, 1'700'000'000'000'000'005ull, frame(20, 3));
    const Result r = read_pcapng(f.out);
    REQUIRE(r.packets.size() == 3);
    CHECK(r.packets[1].ts_ns == 1'700'000'000'000'000'000LL);
    CHECK(r.packets[2].ts_ns == 1'700'000'000'000'000'005LL);
  }

  TEST_CASE("a negative if_tsoffset: a device whose clock counts from before the epoch") {
    Pcapng f;
    f.section_header();
    f.interface(1, 0, 9, -3600);
    f.enhanced_packet(0, 1'700'003'600'000'000'000ull, frame(4, 0));
    const Result r = read_pcapng(f.out);
    REQUIRE(r.packets.size() == 1);
    CHECK(r.packets[0].ts_ns == 1'700'000'000'000'000'000LL);
  }

  TEST_CASE("packet naming an undescribed interface") {
    SUBCASE("enhanced packet, interface 2 of 2") {
      Pcapng f;
      f.section_header();
      f.interface(1);
      f.interface(1);
      f.enhanced_packet(2, 0, frame(10, 0));
      const Result r = read_pcapng(f.out);
      CHECK(r.last == ReadStatus::kError);
      CHECK(r.info.error == "mem.pcapng: packet names interface 2 which was not described at offset 68");
    }
    SUBCASE("simple packet without any interface") {
      Pcapng f;
      f.section_header();
      f.simple_packet(frame(10, 0));
      const Result r = read_pcapng(f.out);
      CHECK(r.last == ReadStatus::kError);
      CHECK(r.info.error.find("interface 0 which was not described") != std::string::npos);
    }
    SUBCASE("a new section forgets the interfaces of the last") {
      Pcapng f;
      f.section_header();
      f.interface(1);
      f.enhanced_packet(0, 0, frame(10, 0));
      f.section_header();
      f.enhanced_packet(0, 0, frame(10, 0));
      const Result r = read_pcapng(f.out);
      CHECK(r.packets.size() == 1);
      CHECK(r.last == ReadStatus::kError);
      CHECK(r.info.packets == 1);
    }
  }

  TEST_CASE("sections of different byte order in one file") {
    Pcapng le;
    le.section_header();
    le.interface(1);
    le.enhanced_packet(0, 1'000'000, frame(20, 1));
    Pcapng be;
    be.be = true;
    be.section_header();
    be.interface(229, 0, 9, 5);  // nanoseconds, if_tsoffset 5 s, both big-endian
    be.enhanced_packet(0, 2'000'000'000, frame(24, 2));
    Bytes all = le.out;
    all.append(be.out);
    const Result r = read_pcapng(all);
    CHECK(r.last == ReadStatus::kEnd);
    REQUIRE(r.packets.size() == 2);
    CHECK(r.packets[0].ts_ns == 1'000'000'000LL);
    CHECK(r.packets[1].ts_ns == 7'000'000'000LL);
    CHECK(r.packets[1].link_type == 229);
    CHECK(r.info.link_types == std::vector<std::uint32_t>{1, 229});
  }

  TEST_CASE("unknown and statistics blocks are skipped") {
    Pcapng f;
    f.section_header();
    f.interface(1);
    f.block(5, Bytes{}.zeros(12));         // interface statistics
    f.block(0x00000BADu, Bytes{}.text("custom"));
    f.block(4, Bytes{}.zeros(4));          // name resolution
    f.enhanced_packet(0, 0, frame(8, 0));
    const Result r = read_pcapng(f.out);
    CHECK(r.last == ReadStatus::kEnd);
    CHECK(r.packets.size() == 1);
  }

  TEST_CASE("obsolete packet block") {
    Pcapng f;
    f.section_header();
    f.interface(1);
    Bytes body;
    body.u16le(0).u16le(0).u32le(0).u32le(2'000'000).u32le(12).u32le(12).append(frame(12, 4));
    f.block(2, body);
    const Result r = read_pcapng(f.out);
    REQUIRE(r.packets.size() == 1);
    CHECK(r.packets[0].ts_ns == 2'000'000'000LL);
    CHECK(r.packets[0].data.size() == 12);
  }

  TEST_CASE("empty file") {
    const Result r = read_pcapng(Bytes{});
    CHECK(r.last == ReadStatus::kError);
    CHECK_FALSE(r.info.complete);
    CHECK(r.info.error == "mem.pcapng: empty pcapng file at offset 0");
  }

  TEST_CASE("a section header alone is a complete, empty capture") {
    Pcapng f;
    f.section_header();
    const Result r = read_pcapng(f.out);
    CHECK(r.last == ReadStatus::kEnd);
    CHECK(r.info.complete);
    CHECK(r.packets.empty());
  }

  TEST_CASE("file not starting with a section header") {
    Pcapng f;
    f.interface(1);
    const Result r = read_pcapng(f.out);
    CHECK(r.last == ReadStatus::kError);
    CHECK(r.info.error.find("no section header") != std::string::npos);
  }

  TEST_CASE("bad byte-order magic") {
    Pcapng f;
    f.section_header();
    f.out.set_u32(8, 0x11223344u, false);
    const Result r = read_pcapng(f.out);
    CHECK(r.last == ReadStatus::kError);
    CHECK(r.info.error == "mem.pcapng: bad pcapng byte-order magic at offset 8");
  }

  TEST_CASE("bad section header length") {
    for (const std::uint32_t len : {0u, 24u, 30u, (16u << 20) + 4u}) {
      CAPTURE(len);
      Pcapng f;
      f.section_header();
      f.out.set_u32(4, len, false);
      const Result r = read_pcapng(f.out);
      CHECK(r.last == ReadStatus::kError);
      CHECK(r.info.error.find("bad section header length") != std::string::npos);
    }
  }

  TEST_CASE("bad block length") {
    for (const std::uint32_t len : {0u, 8u, 13u, 0xFFFFFFFCu, PcapngReader::kMaxBlockLength + 4}) {
      CAPTURE(len);
      Pcapng f;
      f.section_header();
      f.interface(1);
      const std::size_t at = f.out.size();
      f.enhanced_packet(0, 0, frame(16, 0));
      f.out.set_u32(at + 4, len, false);
      const Result r = read_pcapng(f.out);
      CHECK(r.last == ReadStatus::kError);
      CHECK(r.info.error.find("bad block length " + std::to_string(len)) != std::string::npos);
      CHECK(r.info.error.find("at offset " + std::to_string(at)) != std::string::npos);
    }
  }

  TEST_CASE("block lengths that disagree") {
    Pcapng f;
    f.section_header();
    f.interface(1);
    const std::size_t at = f.out.size();
    f.enhanced_packet(0, 0, frame(16, 0));
    f.enhanced_packet(0, 0, frame(16, 0));
    f.out.set_u32(at + 44, 0, false);  // the first packet block is 48 bytes: its trailer
    const Result r = read_pcapng(f.out);
    CHECK(r.last == ReadStatus::kError);
    CHECK(r.packets.empty());
    CHECK(r.info.error == "mem.pcapng: block lengths disagree (corrupt block) at offset " + std::to_string(at));

    Pcapng s;
    s.section_header();
    s.out.set_u32(s.out.size() - 4, 32, false);
    const Result rs = read_pcapng(s.out);
    CHECK(rs.info.error.find("section header lengths disagree") != std::string::npos);
  }

  TEST_CASE("captured length larger than the block") {
    Pcapng f;
    f.section_header();
    f.interface(1);
    const std::size_t at = f.out.size();
    f.enhanced_packet(0, 0, frame(16, 0));
    f.out.set_u32(at + 8 + 12, 17, false);  // captured length field
    const Result r = read_pcapng(f.out);
    CHECK(r.last == ReadStatus::kError);
    CHECK(r.info.error.find("claims 17 captured bytes") != std::string::npos);
  }

  TEST_CASE("blocks too short for their fixed fields") {
    Pcapng f;
    f.section_header();
    f.block(1, Bytes{}.zeros(4));  // interface description needs 8
    CHECK(read_pcapng(f.out).info.error.find("interface description block too short") != std::string::npos);
    Pcapng g;
    g.section_header();
    g.interface(1);
    g.block(6, Bytes{}.zeros(16));  // enhanced packet needs 20
    CHECK(read_pcapng(g.out).info.error.find("enhanced packet block too short") != std::string::npos);
    Pcapng h;
    h.section_header();
    h.interface(1);
    h.block(3, Bytes{});
    CHECK(read_pcapng(h.out).info.error.find("simple packet block too short") != std::string::npos);
  }

  TEST_CASE("interface option running past its block") {
    Pcapng f;
    f.section_header();
    Bytes body;
    body.u16le(1).u16le(0).u32le(0).u16le(9).u16le(40).u8(6).zeros(3);
    f.block(1, body);
    const Result r = read_pcapng(f.out);
    CHECK(r.last == ReadStatus::kError);
    CHECK(r.info.error.find("interface option runs past its block") != std::string::npos);
  }

  TEST_CASE("truncated at every length: no crash, error unless cut at a block boundary") {
    const Pcapng f = two_interfaces(false);
    // Block boundaries: 28 (SHB), 48 (IDB), 80 (IDB with tsresol), then three packets.
    std::vector<std::size_t> boundaries;
    {
      std::size_t at = 0;
      while (at < f.out.size()) {
        const std::uint32_t len = static_cast<std::uint32_t>(f.out[at + 4]) |
                                  static_cast<std::uint32_t>(f.out[at + 5]) << 8 |
                                  static_cast<std::uint32_t>(f.out[at + 6]) << 16 |
                                  static_cast<std::uint32_t>(f.out[at + 7]) << 24;
        at += len;
        boundaries.push_back(at);
      }
    }
    REQUIRE(boundaries.size() == 6);
    CHECK(boundaries[0] == 28);
    for (std::size_t n = 0; n < f.out.size(); ++n) {
      CAPTURE(n);
      Bytes cut;
      cut.append(f.out.prefix(n));
      const Result r = read_pcapng(cut);
      const bool at_boundary = std::find(boundaries.begin(), boundaries.end(), n) != boundaries.end();
      if (at_boundary) {
        CHECK(r.last == ReadStatus::kEnd);
        CHECK(r.info.complete);
      } else {
        CHECK(r.last == ReadStatus::kError);
        CHECK_FALSE(r.info.complete);
        CHECK(r.info.error.find("mem.pcapng: ") == 0);
        CHECK(r.info.error.find(" at offset ") != std::string::npos);
      }
      CHECK(r.packets.size() <= 3);
    }
    // Cut mid-packet: the packets before it are delivered and the error names the block's offset.
    Bytes cut;
    cut.append(f.out.prefix(boundaries[4] + 10));
    const Result r = read_pcapng(cut);
    CHECK(r.packets.size() == 2);
    CHECK(r.info.error ==
          "mem.pcapng: capture cut off in the middle of a block at offset " + std::to_string(boundaries[4]));
  }

  TEST_CASE("too many interfaces in one section") {
    Pcapng f;
    f.section_header();
    for (std::size_t i = 0; i < PcapngReader::kMaxInterfaces; ++i) f.interface(1);
    f.enhanced_packet(static_cast<std::uint32_t>(PcapngReader::kMaxInterfaces - 1), 0, frame(4, 0));
    const Result ok = read_pcapng(f.out);
    CHECK(ok.last == ReadStatus::kEnd);
    CHECK(ok.packets.size() == 1);
    f.interface(1);
    const Result r = read_pcapng(f.out);
    CHECK(r.last == ReadStatus::kError);
    CHECK(r.info.error.find("too many interfaces in one section") != std::string::npos);
  }

  TEST_CASE("read_all calls back once per packet") {
    const Pcapng f = two_interfaces(true);
    std::vector<std::uint8_t> buf = f.out.vec();
    std::FILE* file = fmemopen(buf.data(), buf.size(), "r");
    REQUIRE(file != nullptr);
    SourceInfo in;
    in.path = "x";
    int n = 0;
    const SourceInfo out = PcapngReader::read_all(file, in, [&](const RawPacket&) { ++n; });
    CHECK(n == 3);
    CHECK(out.complete);
    CHECK(out.packets == 3);
  }
}
