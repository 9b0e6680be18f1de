// RawPacket::data_offset, what the SARIF report's regions point at: for each packet, where its
// captured bytes are in the file. Checked against offsets found by walking the files' records here,
// independently of the readers, and against what PcapngWriter says it wrote.
#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "capture/pcap_file_source.h"
#include "capture/pcapng_writer.h"
#include "unit/temp_dir.h"

namespace {

using flowaudit::capture::RawPacket;
using flowaudit::capture::ReadStatus;

struct Seen {
  std::uint64_t offset;
  std::vector<std::uint8_t> data;
};

std::vector<std::uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::uint32_t le32(const std::vector<std::uint8_t>& b, std::size_t at) {
  return std::uint32_t(b[at]) | std::uint32_t(b[at + 1]) << 8 | std::uint32_t(b[at + 2]) << 16 |
         std::uint32_t(b[at + 3]) << 24;
}

std::vector<Seen> read_all(const std::string& path) {
  auto opened = flowaudit::capture::open_capture_file(path);
  REQUIRE(opened.source);
  std::vector<Seen> out;
  RawPacket p;
  while (opened.source->next(p) == ReadStatus::kPacket) out.push_back({p.data_offset, {p.data.begin(), p.data.end()}});
  CHECK(opened.source->info().error.empty());
  return out;
}

std::string source_path(const std::string& relative) { return std::string(FLOWAUDIT_SOURCE_DIR) + "/" + relative; }

}  // namespace

TEST_SUITE("capture.data_offset") {

TEST_CASE("pcap: each packet's data follows its 16-byte record header") {
  const std::string path = source_path("tests/data/trackers-mix.pcap");
  const auto bytes = file_bytes(path);
  const auto seen = read_all(path);
  REQUIRE(!seen.empty());
  std::size_t at = 24;  // the file header
  for (const auto& s : seen) {
    REQUIRE(at + 16 <= bytes.size());
    const std::uint32_t caplen = le32(bytes, at + 8);
    CHECK(s.offset == at + 16);
    CHECK(s.data.size() == caplen);
    CHECK(std::equal(s.data.begin(), s.data.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at + 16)));
    at += 16 + caplen;
  }
  CHECK(at == bytes.size());
}

TEST_CASE("pcapng: each packet's data is 28 bytes into its enhanced packet block") {
  const std::string path = source_path("tests/data/deepseek-session.pcapng");
  const auto bytes = file_bytes(path);
  const auto seen = read_all(path);
  std::size_t packet = 0;
  for (std::size_t at = 0; at + 12 <= bytes.size();) {
    const std::uint32_t type = le32(bytes, at);
    const std::uint32_t len = le32(bytes, at + 4);
    REQUIRE(len >= 12);
    if (type == 6) {
      REQUIRE(packet < seen.size());
      CHECK(seen[packet].offset == at + 28);
      CHECK(seen[packet].data.size() == le32(bytes, at + 20));
      ++packet;
    }
    at += len;
  }
  CHECK(packet == seen.size());
  CHECK(packet > 50);
}

TEST_CASE("pcapng writer: next_data_offset is where the reader finds the packet, comments or not") {
  flowaudit::test::TempDir dir;
  REQUIRE(dir.ok());
  const std::string path = (dir.path() / "kept.pcapng").string();
  flowaudit::capture::PcapngWriter writer;
  std::string error;
  REQUIRE(writer.open(path, 1, 65535, "eth0", error));
  std::vector<std::uint64_t> offsets;
  std::vector<std::vector<std::uint8_t>> packets;
  for (std::size_t i = 0; i < 6; ++i) {
    std::vector<std::uint8_t> data(14 + i * 7, static_cast<std::uint8_t>(i + 1));  // sizes that need padding
    offsets.push_back(writer.next_data_offset());
    REQUIRE(writer.write(static_cast<flowaudit::core::TimestampNs>(i) * 1000, static_cast<std::uint32_t>(data.size()),
                         data, i % 2 == 0 ? "flowaudit.process pid=1 name=x" : ""));
    packets.push_back(std::move(data));
  }
  const std::uint64_t written = writer.bytes();
  writer.close();
  CHECK(written == file_bytes(path).size());
  const auto seen = read_all(path);
  REQUIRE(seen.size() == packets.size());
  for (std::size_t i = 0; i < seen.size(); ++i) {
    CHECK(seen[i].offset == offsets[i]);
    CHECK(seen[i].data == packets[i]);
  }
}

}  // TEST_SUITE
