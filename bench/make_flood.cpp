// make_flood: writes a pcap with many short, distinct flows, for the memory bench (bench/flood).
//
//   make_flood --out FILE --flows N [--destinations D] [--udp-percent P] [--rate R]
//
// Flow i goes from client 10.0.0.0/8 + i / 50000, port 10000 + i % 50000 (all distinct) to
// destination d = mix(i) % D: address 100.64.0.0/10 + d % 2^22, port 443 + d / 2^22 (so any D up to
// millions gives distinct destinations). The flows to P percent of the destinations (spread evenly)
// are one UDP datagram each (8 bytes of payload, an unknown protocol); the others are a TCP SYN
// answered by RST+ACK, so each
// closes at once, as a refused connection or a port scan would. Flow i starts at i / R seconds
// (default R = 10000 flows per second) after 2023-11-14; the RST follows 50 us later, so the
// packets are in time order. IPv4 header checksums are right; TCP checksums are left 0 (flowaudit
// does not verify them) and UDP checksums are 0 (none, as RFC 768 allows).
//
// Written by hand for this project, without libpcap: the format is the classic pcap one
// (microsecond timestamps, Ethernet link type). stdout: flows=N destinations=D packets=P bytes=B
// Exit: 0 success, 1 write error, 2 bad usage.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

class Writer {
 public:
  explicit Writer(std::FILE* f) : f_(f) { buf_.reserve(1 << 20); }
  void u8(std::uint32_t v) { buf_.push_back(static_cast<std::uint8_t>(v)); }
  void be16(std::uint32_t v) {
    u8(v >> 8);
    u8(v & 0xFF);
  }
  void be32(std::uint32_t v) {
    be16(v >> 16);
    be16(v & 0xFFFF);
  }
  void le32(std::uint32_t v) {
    u8(v & 0xFF);
    u8((v >> 8) & 0xFF);
    u8((v >> 16) & 0xFF);
    u8(v >> 24);
  }
  [[nodiscard]] std::size_t size() const { return buf_.size(); }
  std::uint8_t* at(std::size_t off) { return buf_.data() + off; }
  bool flush_if_full() { return buf_.size() < (1u << 20) - 256 || flush(); }
  bool flush() {
    const bool ok = buf_.empty() || std::fwrite(buf_.data(), 1, buf_.size(), f_) == buf_.size();
    written_ += buf_.size();
    buf_.clear();
    return ok;
  }
  [[nodiscard]] std::uint64_t written() const { return written_; }

 private:
  std::FILE* f_;
  std::vector<std::uint8_t> buf_;
  std::uint64_t written_ = 0;
};

std::uint64_t mix(std::uint64_t x) {  // splitmix64 finaliser: destinations interleave like real traffic
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// One Ethernet/IPv4 packet with a TCP (flags) or UDP (payload) header.
void packet(Writer& w, std::uint64_t ts_us, std::uint32_t src, std::uint16_t sport, std::uint32_t dst,
            std::uint16_t dport, bool tcp, std::uint8_t flags) {
  const std::uint32_t l4 = tcp ? 20 : 8 + 8;
  const std::uint32_t ip_len = 20 + l4;
  const std::uint32_t frame = 14 + ip_len;
  w.le32(static_cast<std::uint32_t>(ts_us / 1000000));
  w.le32(static_cast<std::uint32_t>(ts_us % 1000000));
  w.le32(frame);
  w.le32(frame);
  // Ethernet
  for (const std::uint32_t b : {0x02u, 0u, 0u, 0u, 0u, 0x02u, 0x02u, 0u, 0u, 0u, 0u, 0x01u}) w.u8(b);
  w.be16(0x0800);
  // IPv4, checksum filled in below
  const std::size_t ip = w.size();
  w.u8(0x45);
  w.u8(0);
  w.be16(ip_len);
  w.be16(0);
  w.be16(0x4000);
  w.u8(64);
  w.u8(tcp ? 6 : 17);
  w.be16(0);
  w.be32(src);
  w.be32(dst);
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < 20; i += 2) sum += static_cast<std::uint32_t>(w.at(ip + i)[0] << 8 | w.at(ip + i)[1]);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  const auto csum = static_cast<std::uint16_t>(~sum);
  w.at(ip + 10)[0] = static_cast<std::uint8_t>(csum >> 8);
  w.at(ip + 10)[1] = static_cast<std::uint8_t>(csum & 0xFF);
  w.be16(sport);
  w.be16(dport);
  if (tcp) {
    w.be32(flags == 0x02 ? 1000 : 0);  // seq
    w.be32(flags == 0x02 ? 0 : 1001);  // ack
    w.u8(0x50);
    w.u8(flags);
    w.be16(flags == 0x02 ? 64240 : 0);
    w.be16(0);
    w.be16(0);
  } else {
    w.be16(16);
    w.be16(0);
    for (int i = 0; i < 8; ++i) w.u8(0xA5);
  }
}

[[noreturn]] void usage() {
  std::fputs("usage: make_flood --out FILE --flows N [--destinations D] [--udp-percent P] [--rate R]\n", stderr);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string out;
  std::uint64_t flows = 0, destinations = 50000, udp_percent = 20, rate = 10000;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) usage();
    const char* v = argv[++i];
    char* end = nullptr;
    const std::uint64_t n = a == "--out" ? 0 : std::strtoull(v, &end, 10);
    if (a != "--out" && (end == v || *end != '\0')) usage();
    if (a == "--out") out = v;
    else if (a == "--flows") flows = n;
    else if (a == "--destinations") destinations = n;
    else if (a == "--udp-percent") udp_percent = n;
    else if (a == "--rate") rate = n;
    else usage();
  }
  if (out.empty() || flows == 0 || destinations == 0 || udp_percent > 100 || rate == 0 || flows > (1ULL << 31)) {
    usage();
  }
  std::FILE* f = out == "-" ? stdout : std::fopen(out.c_str(), "wb");
  if (f == nullptr) {
    std::perror(out.c_str());
    return 1;
  }
  Writer w(f);
  w.le32(0xA1B2C3D4);
  w.be16(0x0200);  // version 2.4, little endian like the rest of the header
  w.be16(0x0400);
  w.le32(0);
  w.le32(0);
  w.le32(65535);
  w.le32(1);  // DLT_EN10MB
  std::uint64_t packets = 0;
  const std::uint64_t start_us = 1700000000ULL * 1000000;
  for (std::uint64_t i = 0; i < flows; ++i) {
    const std::uint64_t d = mix(i) % destinations;
    const auto dst = static_cast<std::uint32_t>(0x64400000u + (d & 0x3FFFFF));
    const auto dport = static_cast<std::uint16_t>(443 + (d >> 22));
    const auto src = static_cast<std::uint32_t>(0x0A000000u + i / 50000);
    const auto sport = static_cast<std::uint16_t>(10000 + i % 50000);
    const std::uint64_t ts = start_us + i * 1000000 / rate;
    // By destination, so that D counts destinations (address, port, transport) exactly.
    const bool udp = (d * udp_percent) % 100 + udp_percent > 99 && udp_percent > 0;
    if (udp) {
      packet(w, ts, src, sport, dst, dport, false, 0);
      ++packets;
    } else {
      packet(w, ts, src, sport, dst, dport, true, 0x02);           // SYN
      packet(w, ts + 50, dst, dport, src, sport, true, 0x14);      // RST+ACK
      packets += 2;
    }
    if (!w.flush_if_full()) break;
  }
  if (!w.flush() || (out != "-" && std::fclose(f) != 0)) {
    std::perror(out.c_str());
    return 1;
  }
  std::fprintf(out == "-" ? stderr : stdout, "flows=%llu destinations=%llu packets=%llu bytes=%llu\n",
               static_cast<unsigned long long>(flows), static_cast<unsigned long long>(destinations),
               static_cast<unsigned long long>(packets), static_cast<unsigned long long>(w.written()));
  return 0;
}
