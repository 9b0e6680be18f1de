#include "capture/pcap_file_source.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>

#include <cstdio>
#include <string>
#include <vector>

#include "unit/packet_builder.h"
#include "unit/temp_dir.h"

using flowaudit::capture::link_type_name;
using flowaudit::capture::open_capture_file;
using flowaudit::capture::OpenResult;
using flowaudit::capture::PacketSource;
using flowaudit::capture::RawPacket;
using flowaudit::capture::ReadStatus;
using flowaudit::test::Bytes;
using flowaudit::test::PcapRecord;
using flowaudit::test::TempDir;

namespace {

struct Packet {
  std::int64_t ts_ns;
  std::uint32_t link_type;
  std::uint32_t orig_len;
  std::vector<std::uint8_t> data;
};

std::vector<Packet> drain(PacketSource& s, ReadStatus& last) {
  std::vector<Packet> out;
  RawPacket p;
  while ((last = s.next(p)) == ReadStatus::kPacket) {
    out.push_back(Packet{p.ts_ns, p.link_type, p.orig_len, std::vector<std::uint8_t>(p.data.begin(), p.data.end())});
    if (out.size() > 1000) break;
  }
  return out;
}

std::vector<PcapRecord> two_records() {
  std::vector<PcapRecord> r(2);
  r[0].ts_sec = 1'700'000'000;
  r[0].ts_frac = 123'456;
  r[0].data = flowaudit::test::payload_bytes(60, 1);
  r[0].orig_len_override = 1514;
  r[1].ts_sec = 1'700'000'001;
  r[1].ts_frac = 999'999;
  r[1].data = flowaudit::test::payload_bytes(42, 2);
  return r;
}

}  // namespace

TEST_SUITE("capture.pcap_file") {
  TEST_CASE("classic pcap made in the test, both byte orders") {
    TempDir dir;
    REQUIRE(dir.ok());
    for (const bool be : {false, true}) {
      CAPTURE(be);
      const std::string path = dir.write(be ? "be.pcap" : "le.pcap", flowaudit::test::pcap_file(1, two_records(), false, be).span());
      OpenResult o = open_capture_file(path);
      REQUIRE(o.source != nullptr);
      CHECK(o.info.error.empty());
      ReadStatus last{};
      const auto pkts = drain(*o.source, last);
      CHECK(last == ReadStatus::kEnd);
      REQUIRE(pkts.size() == 2);
      CHECK(pkts[0].ts_ns == 1'700'000'000'123'456'000LL);
      CHECK(pkts[0].link_type == 1);
      CHECK(pkts[0].orig_len == 1514);
      CHECK(pkts[0].data == flowaudit::test::payload_bytes(60, 1).vec());
      CHECK(pkts[1].ts_ns == 1'700'000'001'999'999'000LL);
      CHECK(pkts[1].orig_len == 42);
      const auto& info = o.source->info();
      CHECK(info.path == path);
      CHECK(info.format == "pcap");
      CHECK(info.link_types == std::vector<std::uint32_t>{1});
      CHECK(info.packets == 2);
      CHECK(info.bytes == 102);
      CHECK(info.complete);
      CHECK(info.error.empty());
      RawPacket p;
      CHECK(o.source->next(p) == ReadStatus::kEnd);  // stays at the end
    }
  }

  TEST_CASE("pcap with nanosecond timestamps") {
    TempDir dir;
    std::vector<PcapRecord> recs(1);
    recs[0].ts_sec = 1'700'000'000;
    recs[0].ts_frac = 987'654'321;
    recs[0].data = flowaudit::test::payload_bytes(20, 0);
    const std::string path = dir.write("ns.pcap", flowaudit::test::pcap_file(1, recs, true).span());
    OpenResult o = open_capture_file(path);
    REQUIRE(o.source != nullptr);
    CHECK(o.source->info().format == "pcap-nsec");
    ReadStatus last{};
    const auto pkts = drain(*o.source, last);
    REQUIRE(pkts.size() == 1);
    CHECK(pkts[0].ts_ns == 1'700'000'000'987'654'321LL);
    CHECK(o.source->info().complete);
  }

  TEST_CASE("link types are reported as LINKTYPE values") {
    TempDir dir;
    for (const std::uint32_t lt : {101u, 0u, 108u, 113u, 228u, 229u, 276u}) {
      CAPTURE(lt);
      const std::string path = dir.write("lt.pcap", flowaudit::test::pcap_file(lt, two_records()).span());
      OpenResult o = open_capture_file(path);
      REQUIRE(o.source != nullptr);
      CHECK(o.source->info().link_types == std::vector<std::uint32_t>{lt});
      RawPacket p;
      REQUIRE(o.source->next(p) == ReadStatus::kPacket);
      CHECK(p.link_type == lt);
    }
  }

  TEST_CASE("a header with no records is a complete, empty capture") {
    TempDir dir;
    const std::string path = dir.write("hdr.pcap", flowaudit::test::pcap_file(1, {}).span());
    OpenResult o = open_capture_file(path);
    REQUIRE(o.source != nullptr);
    RawPacket p;
    CHECK(o.source->next(p) == ReadStatus::kEnd);
    CHECK(o.source->info().complete);
    CHECK(o.source->info().packets == 0);
  }

  TEST_CASE("pcapng files go to the pcapng reader") {
    TempDir dir;
    flowaudit::test::Pcapng f;
    f.section_header();
    f.interface(1);
    f.interface(229);
    f.enhanced_packet(1, 5'000'000, flowaudit::test::payload_bytes(40, 0));
    const std::string path = dir.write("a.pcapng", f.out.span());
    OpenResult o = open_capture_file(path);
    REQUIRE(o.source != nullptr);
    CHECK(o.source->info().format == "pcapng");
    RawPacket p;
    REQUIRE(o.source->next(p) == ReadStatus::kPacket);
    CHECK(p.interface_id == 1);
    CHECK(p.link_type == 229);
    CHECK(p.ts_ns == 5'000'000'000LL);
    CHECK(o.source->next(p) == ReadStatus::kEnd);
    CHECK(o.source->info().link_types == std::vector<std::uint32_t>{1, 229});
    CHECK(o.source->info().complete);
  }

  TEST_CASE("missing file") {
    TempDir dir;
    const std::string path = (dir.path() / "nope.pcap").string();
    const OpenResult o = open_capture_file(path);
    CHECK(o.source == nullptr);
    CHECK_FALSE(o.info.complete);
    CHECK(o.info.path == path);
    CHECK(o.info.error == path + ": No such file or directory");
  }

  TEST_CASE("directory") {
    TempDir dir;
    const std::string path = dir.path().string();
    const OpenResult o = open_capture_file(path);
    CHECK(o.source == nullptr);
    CHECK(o.info.error == path + ": is a directory, not a capture file");
  }

  TEST_CASE("empty file and too-short file") {
    TempDir dir;
    const std::string empty = dir.write("empty.pcap", {});
    const OpenResult o = open_capture_file(empty);
    CHECK(o.source == nullptr);
    CHECK(o.info.error == empty + ": empty file, not a capture");
    const std::string two = dir.write("two.pcap", Bytes{0xD4, 0xC3}.span());
    const OpenResult t = open_capture_file(two);
    CHECK(t.source == nullptr);
    CHECK(t.info.error == two + ": only 2 bytes long, not a capture");
  }

  TEST_CASE("not-a-capture text") {
    TempDir dir;
    const std::string path = dir.write("notes.txt", Bytes{}.text("hello, this is not a capture\n").span());
    const OpenResult o = open_capture_file(path);
    CHECK(o.source == nullptr);
    CHECK_FALSE(o.info.complete);
    CHECK(o.info.error == path + ": not a pcap or pcapng file (starts with 0x68656c6c) at offset 0");
  }

  TEST_CASE("pcap magic with a cut-off file header") {
    TempDir dir;
    Bytes b = flowaudit::test::pcap_file(1, {});
    Bytes cut;
    cut.append(b.prefix(14));
    const std::string path = dir.write("short.pcap", cut.span());
    const OpenResult o = open_capture_file(path);
    CHECK(o.source == nullptr);
    CHECK(o.info.error.find(path + ": bad pcap header at offset 0: ") == 0);
  }

  TEST_CASE("truncated mid-record: incomplete, error names the file and the record's offset") {
    TempDir dir;
    const Bytes full = flowaudit::test::pcap_file(1, two_records());
    // Second record starts at 24 + 16 + 60 = 100; cut in its header and in its data.
    for (const std::size_t cut_at : {std::size_t{108}, std::size_t{130}}) {
      CAPTURE(cut_at);
      Bytes cut;
      cut.append(full.prefix(cut_at));
      const std::string path = dir.write("cut.pcap", cut.span());
      OpenResult o = open_capture_file(path);
      REQUIRE(o.source != nullptr);
      ReadStatus last{};
      const auto pkts = drain(*o.source, last);
      CHECK(pkts.size() == 1);
      CHECK(last == ReadStatus::kError);
      const auto& info = o.source->info();
      CHECK_FALSE(info.complete);
      CHECK(info.packets == 1);
      CHECK(info.error.find(path + ": bad or cut-off packet record at offset 100: ") == 0);
      RawPacket p;
      CHECK(o.source->next(p) == ReadStatus::kError);  // stays failed
    }
  }

  TEST_CASE("truncated at every length never crashes") {
    TempDir dir;
    const Bytes full = flowaudit::test::pcap_file(1, two_records());
    for (std::size_t n = 0; n <= full.size(); ++n) {
      CAPTURE(n);
      Bytes cut;
      cut.append(full.prefix(n));
      const std::string path = dir.write("cut.pcap", cut.span());
      OpenResult o = open_capture_file(path);
      if (n < 24) {
        CHECK(o.source == nullptr);
        CHECK_FALSE(o.info.error.empty());
        continue;
      }
      REQUIRE(o.source != nullptr);
      ReadStatus last{};
      drain(*o.source, last);
      const bool whole = n == 24 || n == 100 || n == full.size();
      CHECK(o.source->info().complete == whole);
      CHECK((last == ReadStatus::kEnd) == whole);
    }
  }

  TEST_CASE("garbage after the file header") {
    TempDir dir;
    Bytes b = flowaudit::test::pcap_file(1, {});
    b.fill(40, 0xEE);  // a record header claiming a huge captured length
    const std::string path = dir.write("garbage.pcap", b.span());
    OpenResult o = open_capture_file(path);
    REQUIRE(o.source != nullptr);
    ReadStatus last{};
    const auto pkts = drain(*o.source, last);
    CHECK(pkts.empty());
    CHECK(last == ReadStatus::kError);
    CHECK_FALSE(o.source->info().complete);
    CHECK(o.source->info().error.find(path + ": bad or cut-off packet record at offset 24: ") == 0);
  }

  TEST_CASE("Kuznetzov's patched pcap format is read") {
    TempDir dir;
    // 24-byte record headers: the usual 16 plus ifindex, protocol, packet type and a pad byte.
    Bytes b;
    b.u32le(0xA1B2CD34u).u16le(2).u16le(4).u32le(0).u32le(0).u32le(65535).u32le(1);
    for (std::uint32_t i = 0; i < 2; ++i) {
      b.u32le(100 + i).u32le(0).u32le(20).u32le(20).u32le(2).u16le(0x0800).u8(0).u8(0);
      b.append(flowaudit::test::payload_bytes(20, static_cast<std::uint8_t>(i)));
    }
    const std::string path = dir.write("kuz.pcap", b.span());
    OpenResult o = open_capture_file(path);
    REQUIRE(o.source != nullptr);
    CHECK(o.source->info().format == "pcap");
    ReadStatus last{};
    const auto pkts = drain(*o.source, last);
    CHECK(last == ReadStatus::kEnd);
    REQUIRE(pkts.size() == 2);
    CHECK(pkts[1].ts_ns == 101'000'000'000LL);
  }

  // Regression: the patched format has 24-byte record headers; error offsets must count them.
  TEST_CASE("Kuznetzov's patched pcap: a cut-off record's offset counts 24-byte headers") {
    TempDir dir;
    Bytes b;
    b.u32le(0xA1B2CD34u).u16le(2).u16le(4).u32le(0).u32le(0).u32le(65535).u32le(1);
    b.u32le(100).u32le(0).u32le(20).u32le(20).u32le(2).u16le(0x0800).u8(0).u8(0);
    b.append(flowaudit::test::payload_bytes(20, 0));
    b.u32le(101).u32le(0).u32le(20).u32le(20).u32le(2).u16le(0x0800).u8(0).u8(0);
    b.append(flowaudit::test::payload_bytes(5, 0));  // the second record is cut off
    const std::string path = dir.write("kuz-cut.pcap", b.span());
    OpenResult o = open_capture_file(path);
    REQUIRE(o.source != nullptr);
    ReadStatus last{};
    CHECK(drain(*o.source, last).size() == 1);
    CHECK(last == ReadStatus::kError);
    INFO(o.source->info().error);
    CHECK(o.source->info().error.find(path + ": bad or cut-off packet record at offset 68: ") == 0);
  }

  TEST_CASE("standard input through a pipe") {
    const Bytes file = flowaudit::test::pcap_file(1, two_records(), true);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    REQUIRE(::write(fds[1], file.vec().data(), file.size()) == static_cast<ssize_t>(file.size()));
    ::close(fds[1]);
    std::fflush(stdin);
    const int saved = ::dup(0);
    REQUIRE(saved >= 0);
    REQUIRE(::dup2(fds[0], 0) == 0);
    ::close(fds[0]);
    std::clearerr(stdin);
    std::size_t count = 0;
    std::string format;
    bool complete = false;
    {
      OpenResult o = open_capture_file("-");
      if (o.source != nullptr) {
        ReadStatus last{};
        count = drain(*o.source, last).size();
        format = o.source->info().format;
        complete = o.source->info().complete;
      }
    }
    ::dup2(saved, 0);
    ::close(saved);
    std::clearerr(stdin);
    CHECK(count == 2);
    CHECK(format == "pcap-nsec");
    CHECK(complete);
  }

  // The memory-mapped reader (issue 18) is written by hand: it must read what libpcap reads, and
  // fail where and as libpcap fails, on every variant and every cut.
  TEST_CASE("the memory map and libpcap read the same packets and fail the same way") {
    TempDir dir;
    REQUIRE(dir.ok());
    std::vector<std::pair<std::string, Bytes>> files;
    for (const bool be : {false, true}) {
      for (const bool nsec : {false, true}) {
        for (const std::uint32_t snaplen : {262144u, 50u, 0u}) {
          files.emplace_back(fmt::format("be={} nsec={} snaplen={}", be, nsec, snaplen),
                             flowaudit::test::pcap_file(1, two_records(), nsec, be, snaplen));
        }
      }
    }
    Bytes garbage = flowaudit::test::pcap_file(1, {});
    garbage.fill(40, 0xEE);
    files.emplace_back("garbage", garbage);
    Bytes huge = flowaudit::test::pcap_file(1, {});
    huge.u32le(1).u32le(0).u32le(300000).u32le(300000);  // past libpcap's largest captured length
    huge.fill(64, 0);
    files.emplace_back("huge", huge);
    // Pseudo-headers libpcap rewrites when the file's byte order is not the machine's (NFLOG's TLV
    // lengths, Linux cooked netlink headers): those files stay with libpcap.
    for (const std::uint32_t lt : {239u, 113u, 276u, 117u, 220u}) {
      std::vector<PcapRecord> r(1);
      r[0].ts_sec = 1;
      // NFLOG: version 0, family, resource id, then TLVs whose lengths libpcap swaps.
      r[0].data = Bytes().u8(2).u8(0).u16be(0).u16le(8).u16le(9).u32le(0x11223344).u16le(5).u16le(1).u32le(0);
      files.emplace_back(fmt::format("pseudo-header {} big-endian", lt), flowaudit::test::pcap_file(lt, r, false, true));
    }
    files.emplace_back("negative time", [] {
      std::vector<PcapRecord> r = two_records();
      r[0].ts_sec = 0xFFFFFFF0u;  // unsigned: 2106, whatever the byte order (libpcap differs by byte order)
      r[1].ts_frac = 0xFFFF0500u;
      return flowaudit::test::pcap_file(101, r);
    }());
    std::size_t compared = 0;
    for (const auto& file : files) {
      // Not a structured binding: clang 14 cannot capture one in doctest's INFO.
      const std::string& name = file.first;
      const Bytes& full = file.second;
      for (std::size_t n = 24; n <= full.size(); ++n) {
        Bytes cut;
        cut.append(full.prefix(n));
        const std::string path = dir.write("same.pcap", cut.span());
        OpenResult mapped = open_capture_file(path, true);
        OpenResult streamed = open_capture_file(path, false);
        REQUIRE(mapped.source != nullptr);
        REQUIRE(streamed.source != nullptr);
        ReadStatus mapped_last{};
        ReadStatus streamed_last{};
        const auto a = drain(*mapped.source, mapped_last);
        const auto b = drain(*streamed.source, streamed_last);
        INFO(name, " cut at ", n);
        INFO("map: ", mapped.source->info().error);
        INFO("libpcap: ", streamed.source->info().error);
        CHECK(mapped_last == streamed_last);
        REQUIRE(a.size() == b.size());
        for (std::size_t i = 0; i < a.size(); ++i) {
          CHECK(a[i].ts_ns == b[i].ts_ns);
          CHECK(a[i].link_type == b[i].link_type);
          CHECK(a[i].orig_len == b[i].orig_len);
          CHECK(a[i].data == b[i].data);
        }
        CHECK(mapped.source->info().error == streamed.source->info().error);
        CHECK(mapped.source->info().complete == streamed.source->info().complete);
        CHECK(mapped.source->info().bytes == streamed.source->info().bytes);
        CHECK(mapped.source->info().link_types == streamed.source->info().link_types);
        ++compared;
      }
    }
    CHECK(compared > 500);
  }

  // Regression (pcap_file_fuzz, map-vs-libpcap-negative-fraction): libpcap 1.10 reads a record's
  // seconds and fraction as signed in a file of the machine's byte order and as unsigned in the
  // other; the format says unsigned, and both readers now read them so in either order.
  TEST_CASE("record times are unsigned 32-bit values in both byte orders and both readers") {
    TempDir dir;
    std::vector<PcapRecord> r(1);
    r[0].ts_sec = 0xFFFFFFF0u;
    r[0].ts_frac = 0xFFFF0500u;
    r[0].data = flowaudit::test::payload_bytes(20, 1);
    for (const bool be : {false, true}) {
      for (const bool nsec : {false, true}) {
        for (const bool map : {false, true}) {
          CAPTURE(be);
          CAPTURE(nsec);
          CAPTURE(map);
          const std::string path = dir.write("t.pcap", flowaudit::test::pcap_file(1, r, nsec, be).span());
          OpenResult o = open_capture_file(path, map);
          REQUIRE(o.source != nullptr);
          RawPacket p;
          REQUIRE(o.source->next(p) == ReadStatus::kPacket);
          CHECK(p.ts_ns == 4'294'967'280LL * 1'000'000'000LL + 4'294'903'040LL * (nsec ? 1 : 1000));
        }
      }
    }
  }

  // Another program truncates the file while it is mapped: without the SIGBUS handler the process
  // would die on the first read past the new end.
  TEST_CASE("a file that shrinks while it is read is an error, not a crash") {
    TempDir dir;
    REQUIRE(dir.ok());
    for (const bool ng : {false, true}) {
      CAPTURE(ng);
      std::vector<PcapRecord> records(4000);
      for (std::size_t i = 0; i < records.size(); ++i) {
        records[i].ts_sec = 1'700'000'000 + static_cast<std::uint32_t>(i);
        records[i].data = flowaudit::test::payload_bytes(1000, static_cast<std::uint8_t>(i));
      }
      Bytes file;
      if (ng) {
        flowaudit::test::Pcapng b;
        b.section_header().interface(1);
        for (const PcapRecord& r : records) b.enhanced_packet(0, std::uint64_t{r.ts_sec} * 1'000'000, r.data);
        file = b.out;
      } else {
        file = flowaudit::test::pcap_file(1, records);
      }
      const std::string path = dir.write(ng ? "shrink.pcapng" : "shrink.pcap", file.span());
      OpenResult o = open_capture_file(path);
      REQUIRE(o.source != nullptr);
      RawPacket p;
      REQUIRE(o.source->next(p) == ReadStatus::kPacket);
      std::filesystem::resize_file(path, 8192);
      ReadStatus last{};
      const auto rest = drain(*o.source, last);
      CHECK(last == ReadStatus::kError);
      CHECK(rest.size() < 10);
      INFO(o.source->info().error);
      CHECK(o.source->info().error.find("file shrank while it was read") != std::string::npos);
      CHECK_FALSE(o.source->info().complete);
    }
  }

  TEST_CASE("link type names") {
    CHECK(link_type_name(0) == "null");
    CHECK(link_type_name(1) == "ethernet");
    CHECK(link_type_name(101) == "raw");
    CHECK(link_type_name(108) == "loop");
    CHECK(link_type_name(113) == "linux-sll");
    CHECK(link_type_name(228) == "ipv4");
    CHECK(link_type_name(229) == "ipv6");
    CHECK(link_type_name(276) == "linux-sll2");
    CHECK(link_type_name(105) == "ieee802.11");
    CHECK(link_type_name(239) == "nflog");
    CHECK(link_type_name(147).find("linktype-147") == 0);
    CHECK(link_type_name(4'000'000) == "linktype-4000000");
  }
}
