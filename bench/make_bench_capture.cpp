// make_bench_capture: builds one large capture out of small ones, for the performance bench.
//
//   make_bench_capture --out FILE --packets N --min-flows F [--max-packets M] [--concurrent K] INPUT...
//
// Written by hand for this project: no library multiplies sessions this way. It reads every INPUT
// with libpcap (pcap, or pcapng with a single link type), keeps Ethernet (DLT_EN10MB) IPv4/IPv6
// TCP/UDP packets, and writes copies of those sessions into one pcap. Copy i is the same traffic as
// if it came from another device:
//   - the client side of each flow gets a new address, one per (copy, input, original client address),
//     numbered k: 10.0.0.0/8 + k for IPv4, fdbe:4c00:KH:KL:0:1:KH:KL for IPv6 (a /64 per device, and
//     the number in the interface id too: ndpiReader 4.2 tells IPv6 flows apart by the low 64 bits only);
//   - the client port is mapped (a bijection per copy, derived from i) into 1024..65535;
//   - server addresses and ports are left alone: many flows to the same few real hosts;
//   - the IPv4 header checksum and the TCP/UDP checksum are updated incrementally (RFC 1624), so a
//     checksum that was right stays right and one that was not (offload) stays as it was;
//   - timestamps advance monotonically: inputs are laid end to end (1 ms apart) to form one round
//     (a silence longer than an hour within an input is cut to an hour); copies are laid end to end
//     too, or with --concurrent K in groups of K devices active at once: copy j of a group starts
//     j * round/K after the group does, the group's packets are merged in time order, and the next
//     group starts when the last copy of this one has ended (K = 1, the default: one after another).
// The client of a flow is decided once, on the first packet seen of it: the sender of a TCP SYN (the
// receiver of a SYN-ACK); otherwise the side whose port is not well-known (>= 1024) when the other's
// is; otherwise the higher port; otherwise the sender.
// It stops as soon as at least N packets are written and at least F distinct flows exist (it keeps
// copying until both hold), or when M packets are written (--max-packets, 0 = no cap).
//
// Every read is bounds-checked against the captured length, with explicit byte offsets; packets it
// cannot parse (fragments, IPv6 AH/ESP, truncated headers, other protocols) are skipped, and inputs
// it cannot open or that are not Ethernet are skipped with a note.
//
// stdout, last line: packets=N bytes=B flows=F copies=C tcp=T udp=U flows_per_copy=P
// Exit: 0 success, 1 nothing usable in the inputs or a write error, 2 bad usage.
#include <pcap/pcap.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <functional>
#include <map>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int kSnaplen = 262144;
constexpr std::int64_t kInputGapUs = 1000;        // between inputs, and between copies
constexpr std::int64_t kMaxGapUs = 3600LL * 1000000;  // longer silences within an input are cut to this
constexpr std::int64_t kMaxTimeUs = 0xffffffffLL * 1000000;  // pcap seconds are 32-bit

std::uint16_t rd16(const std::uint8_t* p, std::size_t off) {
  return static_cast<std::uint16_t>((p[off] << 8) | p[off + 1]);
}
void wr16(std::uint8_t* p, std::size_t off, std::uint16_t v) {
  p[off] = static_cast<std::uint8_t>(v >> 8);
  p[off + 1] = static_cast<std::uint8_t>(v & 0xff);
}

// One kept packet of the round, with the offsets the rewrite needs (all within caplen).
struct Packet {
  std::int64_t t_us = 0;         // time within the round
  std::size_t data_off = 0;      // into the arena
  std::uint32_t caplen = 0;
  std::uint32_t len = 0;
  std::uint32_t flow = 0;        // flow index within the round
  std::uint32_t client_class = 0;  // index of the original client address (per family)
  std::uint16_t ip_csum_off = 0;   // IPv4 header checksum offset; 0 = none (IPv6)
  std::uint16_t l4_csum_off = 0;   // TCP/UDP checksum offset; 0 = leave alone (UDP with checksum 0)
  std::uint16_t addr_off = 0;      // client address in this packet (src or dst)
  std::uint16_t port_off = 0;      // client port in this packet (src or dst)
  std::uint8_t addr_len = 0;       // 4 or 16
  bool udp = false;
};

struct Flow {
  std::string client_addr;  // raw bytes
  std::uint16_t client_port = 0;
};

struct Parsed {
  std::size_t ip_off = 0;
  std::size_t l4_off = 0;
  std::uint8_t family = 0;  // 4 or 6
  std::uint8_t proto = 0;   // 6 or 17
  std::size_t src_off = 0;
  std::size_t dst_off = 0;
  std::uint8_t addr_len = 0;
};

// Ethernet (up to two VLAN tags) -> IPv4/IPv6 -> TCP/UDP. False when anything is missing or odd.
bool parse(const std::uint8_t* d, std::size_t caplen, Parsed& out) {
  if (caplen < 14) return false;
  std::size_t off = 12;
  std::uint16_t type = rd16(d, off);
  off += 2;
  for (int tags = 0; (type == 0x8100 || type == 0x88a8 || type == 0x9100) && tags < 2; ++tags) {
    if (off + 4 > caplen) return false;
    type = rd16(d, off + 2);
    off += 4;
  }
  std::size_t l4 = 0;
  std::uint8_t proto = 0;
  if (type == 0x0800) {
    if (off + 20 > caplen) return false;
    if ((d[off] >> 4) != 4) return false;
    const std::size_t ihl = static_cast<std::size_t>(d[off] & 0x0f) * 4;
    if (ihl < 20 || off + ihl > caplen) return false;
    const std::uint16_t frag = rd16(d, off + 6);
    if ((frag & 0x3fff) != 0) return false;  // MF set or non-zero offset: a fragment
    proto = d[off + 9];
    out.family = 4;
    out.src_off = off + 12;
    out.dst_off = off + 16;
    out.addr_len = 4;
    l4 = off + ihl;
  } else if (type == 0x86dd) {
    if (off + 40 > caplen) return false;
    if ((d[off] >> 4) != 6) return false;
    std::uint8_t next = d[off + 6];
    l4 = off + 40;
    for (int ext = 0; ext < 8 && (next == 0 || next == 43 || next == 60); ++ext) {
      if (l4 + 2 > caplen) return false;
      const std::size_t hlen = (static_cast<std::size_t>(d[l4 + 1]) + 1) * 8;
      next = d[l4];
      l4 += hlen;
    }
    proto = next;  // fragments (44), AH (51), ESP (50), leftover extensions: not TCP/UDP, skipped
    out.family = 6;
    out.src_off = off + 8;
    out.dst_off = off + 24;
    out.addr_len = 16;
  } else {
    return false;
  }
  if (proto == 6) {
    if (l4 + 18 > caplen) return false;  // ports, flags (13) and checksum (16..17)
  } else if (proto == 17) {
    if (l4 + 8 > caplen) return false;
  } else {
    return false;
  }
  out.ip_off = off;
  out.l4_off = l4;
  out.proto = proto;
  return true;
}

// RFC 1624: HC' = ~(~HC + ~m + m'), over 16-bit words.
struct CsumDelta {
  std::uint32_t sum = 0;
  void replace(std::uint16_t old_word, std::uint16_t new_word) {
    sum += static_cast<std::uint16_t>(~old_word);
    sum += new_word;
  }
  std::uint16_t apply(std::uint16_t hc) const {
    std::uint32_t s = static_cast<std::uint16_t>(~hc);
    s += sum;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<std::uint16_t>(~s);
  }
};

struct Round {
  std::vector<std::uint8_t> arena;
  std::vector<Packet> packets;
  std::vector<Flow> flows;
  std::map<std::string, std::uint32_t> flow_index;
  std::map<std::string, std::uint32_t> classes4;
  std::map<std::string, std::uint32_t> classes6;
  std::int64_t span_us = 0;  // the round's length, gap included
  std::uint64_t skipped_packets = 0;
};

std::string endpoint(const std::uint8_t* d, std::size_t addr_off, std::size_t len, std::uint16_t port) {
  std::string s(reinterpret_cast<const char*>(d + addr_off), len);  // raw bytes, no struct cast
  s.push_back(static_cast<char>(port >> 8));
  s.push_back(static_cast<char>(port & 0xff));
  return s;
}

// Adds one input to the round. Returns the number of packets kept; -1 if the input was skipped.
long add_input(Round& r, const char* path, std::uint32_t input) {
  // Flows and client addresses are told apart per input: the same 5-tuple in two inputs (say the
  // same session as pcap and as pcapng) becomes two flows, from two client addresses in each copy.
  std::string input_tag(4, '\0');
  for (std::size_t b = 0; b < 4; ++b) input_tag[b] = static_cast<char>((input >> (8 * b)) & 0xff);
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
  if (pc == nullptr) {
    std::fprintf(stderr, "make_bench_capture: skipping %s: %s\n", path, errbuf);
    return -1;
  }
  if (pcap_datalink(pc) != DLT_EN10MB) {
    std::fprintf(stderr, "make_bench_capture: skipping %s: link type %s, not Ethernet\n", path,
                 pcap_datalink_val_to_name(pcap_datalink(pc)) ? pcap_datalink_val_to_name(pcap_datalink(pc))
                                                                 : "unknown");
    pcap_close(pc);
    return -1;
  }
  const std::int64_t start = r.span_us;
  bool have_first = false;
  std::int64_t prev_us = 0;
  std::int64_t last_rel = 0;
  long kept = 0;
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  int rc = 0;
  while ((rc = pcap_next_ex(pc, &hdr, &data)) == 1) {
    const std::int64_t ts = static_cast<std::int64_t>(hdr->ts.tv_sec) * 1000000 + hdr->ts.tv_usec;
    if (!have_first) {
      prev_us = ts;
      have_first = true;
    }
    // Keep time monotonic even if the input is not, and cut silences longer than kMaxGapUs (also
    // what keeps a garbage timestamp from stretching the timeline past what pcap can hold).
    std::int64_t step = ts - prev_us;
    if (step < 0) step = 0;
    if (step > kMaxGapUs) step = kMaxGapUs;
    prev_us = ts;
    const std::int64_t rel = last_rel + step;
    last_rel = rel;
    std::size_t caplen = hdr->caplen;
    if (caplen > static_cast<std::size_t>(kSnaplen)) caplen = kSnaplen;
    Parsed p;
    if (data == nullptr || !parse(data, caplen, p)) {
      ++r.skipped_packets;
      continue;
    }
    const std::uint16_t sport = rd16(data, p.l4_off);
    const std::uint16_t dport = rd16(data, p.l4_off + 2);
    std::string src = endpoint(data, p.src_off, p.addr_len, sport);
    std::string dst = endpoint(data, p.dst_off, p.addr_len, dport);
    std::string key = input_tag;
    key.push_back(static_cast<char>(p.proto));
    key.push_back(static_cast<char>(p.family));
    if (src < dst) {
      key += src;
      key += dst;
    } else {
      key += dst;
      key += src;
    }
    auto [it, inserted] = r.flow_index.try_emplace(key, static_cast<std::uint32_t>(r.flows.size()));
    if (inserted) {
      bool src_is_client = true;
      const std::uint8_t flags = p.proto == 6 ? data[p.l4_off + 13] : 0;
      if (p.proto == 6 && (flags & 0x02) != 0) {
        src_is_client = (flags & 0x10) == 0;  // SYN: sender is the client; SYN-ACK: receiver is
      } else if ((sport < 1024) != (dport < 1024)) {
        src_is_client = sport >= 1024;
      } else if (sport != dport) {
        src_is_client = sport > dport;
      }
      Flow f;
      f.client_addr.assign(reinterpret_cast<const char*>(data + (src_is_client ? p.src_off : p.dst_off)),
                           p.addr_len);
      f.client_port = src_is_client ? sport : dport;
      r.flows.push_back(std::move(f));
    }
    const Flow& f = r.flows[it->second];
    const bool client_is_src =
        sport == f.client_port && std::memcmp(data + p.src_off, f.client_addr.data(), p.addr_len) == 0;
    auto& classes = p.family == 4 ? r.classes4 : r.classes6;
    const auto cls =
        classes.try_emplace(input_tag + f.client_addr, static_cast<std::uint32_t>(classes.size())).first->second;

    Packet pk;
    pk.t_us = start + rel;
    pk.data_off = r.arena.size();
    pk.caplen = static_cast<std::uint32_t>(caplen);
    pk.len = hdr->len < caplen ? static_cast<std::uint32_t>(caplen) : hdr->len;
    pk.flow = it->second;
    pk.client_class = cls;
    pk.ip_csum_off = p.family == 4 ? static_cast<std::uint16_t>(p.ip_off + 10) : 0;
    const std::size_t csum = p.l4_off + (p.proto == 6 ? 16 : 6);
    pk.udp = p.proto == 17;
    pk.l4_csum_off = (pk.udp && rd16(data, csum) == 0) ? 0 : static_cast<std::uint16_t>(csum);
    pk.addr_off = static_cast<std::uint16_t>(client_is_src ? p.src_off : p.dst_off);
    pk.port_off = static_cast<std::uint16_t>(client_is_src ? p.l4_off : p.l4_off + 2);
    pk.addr_len = p.addr_len;
    r.arena.insert(r.arena.end(), data, data + caplen);
    r.packets.push_back(pk);
    ++kept;
  }
  if (rc == PCAP_ERROR) {
    std::fprintf(stderr, "make_bench_capture: %s: read error (keeping what was read): %s\n", path,
                 pcap_geterr(pc));
  }
  pcap_close(pc);
  if (kept > 0) r.span_us = start + last_rel + kInputGapUs;
  return kept;
}

constexpr std::uint64_t kV4Space = (1u << 24) - 2;  // 10.0.0.1 .. 10.255.255.254

// Writes packet `pk` (bytes at `src`) as copy `copy` into `buf`: new client address and port,
// checksums updated. c4/c6: original client addresses per family in the round.
void rewrite(const std::uint8_t* src, const Packet& pk, std::uint64_t copy, std::uint64_t c4, std::uint64_t c6,
             std::uint8_t* buf) {
  std::memcpy(buf, src, pk.caplen);
  CsumDelta addr_delta;
  if (pk.addr_len == 4) {
    const std::uint32_t host = static_cast<std::uint32_t>(1 + (copy * c4 + pk.client_class) % kV4Space);
    const std::uint32_t a = 0x0a000000u | host;
    const std::uint16_t hi = static_cast<std::uint16_t>(a >> 16), lo = static_cast<std::uint16_t>(a);
    addr_delta.replace(rd16(buf, pk.addr_off), hi);
    addr_delta.replace(rd16(buf, pk.addr_off + 2u), lo);
    wr16(buf, pk.addr_off, hi);
    wr16(buf, pk.addr_off + 2u, lo);
  } else {
    const std::uint32_t idx = static_cast<std::uint32_t>(copy * c6 + pk.client_class);
    const auto hi = static_cast<std::uint16_t>(idx >> 16), lo = static_cast<std::uint16_t>(idx & 0xffff);
    const std::array<std::uint16_t, 8> addr = {0xfdbe, 0x4c00, hi, lo, 0, 1, hi, lo};
    for (std::size_t w = 0; w < addr.size(); ++w) {
      addr_delta.replace(rd16(buf, pk.addr_off + 2 * w), addr[w]);
      wr16(buf, pk.addr_off + 2 * w, addr[w]);
    }
  }
  const std::uint16_t port_shift = static_cast<std::uint16_t>((copy * 40503u + 7919u) % 64512u);
  const std::uint16_t old_port = rd16(buf, pk.port_off);
  const std::uint32_t port_base = old_port >= 1024 ? old_port - 1024u : old_port;
  const std::uint16_t new_port = static_cast<std::uint16_t>(1024u + (port_base + port_shift) % 64512u);
  wr16(buf, pk.port_off, new_port);
  if (pk.ip_csum_off != 0) {
    wr16(buf, pk.ip_csum_off, addr_delta.apply(rd16(buf, pk.ip_csum_off)));
  }
  if (pk.l4_csum_off != 0) {
    CsumDelta l4_delta = addr_delta;  // the pseudo-header holds the addresses
    l4_delta.replace(old_port, new_port);
    std::uint16_t c = l4_delta.apply(rd16(buf, pk.l4_csum_off));
    if (pk.udp && c == 0) c = 0xffff;
    wr16(buf, pk.l4_csum_off, c);
  }
}

bool parse_count(const char* s, std::uint64_t& out) {
  if (s == nullptr || *s == '\0' || *s == '-') return false;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || end == nullptr || *end != '\0') return false;
  out = v;
  return true;
}

int usage() {
  std::fprintf(stderr,
               "usage: make_bench_capture --out FILE --packets N --min-flows F [--max-packets M] [--concurrent K]\n"
               "                          INPUT...\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const char* out_path = nullptr;
  std::uint64_t want_packets = 0;
  std::uint64_t want_flows = 0;
  std::uint64_t max_packets = 0;
  std::uint64_t concurrent = 1;
  std::vector<const char*> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--out" && has_value) {
      out_path = argv[++i];
    } else if (a == "--packets" && has_value) {
      if (!parse_count(argv[++i], want_packets)) return usage();
    } else if (a == "--min-flows" && has_value) {
      if (!parse_count(argv[++i], want_flows)) return usage();
    } else if (a == "--max-packets" && has_value) {
      if (!parse_count(argv[++i], max_packets)) return usage();
    } else if (a == "--concurrent" && has_value) {
      if (!parse_count(argv[++i], concurrent) || concurrent == 0 || concurrent > 100000) return usage();
    } else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else if (a.size() > 1 && a[0] == '-') {
      return usage();
    } else {
      inputs.push_back(argv[i]);
    }
  }
  if (out_path == nullptr || inputs.empty()) return usage();

  Round r;
  int used = 0;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const char* in = inputs[k];
    const long kept = add_input(r, in, static_cast<std::uint32_t>(k));
    if (kept > 0) {
      ++used;
      std::fprintf(stderr, "make_bench_capture: %s: %ld packets kept\n", in, kept);
    } else if (kept == 0) {
      std::fprintf(stderr, "make_bench_capture: %s: no Ethernet IPv4/IPv6 TCP/UDP packets\n", in);
    }
  }
  if (r.packets.empty()) {
    std::fprintf(stderr, "make_bench_capture: nothing usable in the inputs\n");
    return 1;
  }
  const std::uint64_t per_copy_flows = r.flows.size();
  const std::uint64_t c4 = r.classes4.size();
  const std::uint64_t c6 = r.classes6.size();
  std::fprintf(stderr,
               "make_bench_capture: round: %d inputs, %zu packets, %llu flows, %llu/%llu client addresses "
               "(v4/v6), %.3f s; %llu packets skipped\n",
               used, r.packets.size(), static_cast<unsigned long long>(per_copy_flows),
               static_cast<unsigned long long>(c4), static_cast<unsigned long long>(c6),
               static_cast<double>(r.span_us) / 1e6, static_cast<unsigned long long>(r.skipped_packets));

  pcap_t* dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, kSnaplen, PCAP_TSTAMP_PRECISION_MICRO);
  if (dead == nullptr) {
    std::fprintf(stderr, "make_bench_capture: pcap_open_dead failed\n");
    return 1;
  }
  pcap_dumper_t* dumper = pcap_dump_open(dead, out_path);
  if (dumper == nullptr) {
    std::fprintf(stderr, "make_bench_capture: %s: %s\n", out_path, pcap_geterr(dead));
    pcap_close(dead);
    return 1;
  }

  // Base time: the first input's first packet, as captured.
  std::int64_t base_us = 0;
  {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    for (const char* in : inputs) {
      pcap_t* pc = pcap_open_offline_with_tstamp_precision(in, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
      if (pc == nullptr) continue;
      pcap_pkthdr* hdr = nullptr;
      const u_char* data = nullptr;
      const bool ok = pcap_datalink(pc) == DLT_EN10MB && pcap_next_ex(pc, &hdr, &data) == 1;
      if (ok) base_us = static_cast<std::int64_t>(hdr->ts.tv_sec) * 1000000 + hdr->ts.tv_usec;
      pcap_close(pc);
      if (ok) break;
    }
    if (base_us < 0 || base_us > kMaxTimeUs / 2) base_us = 0;
  }

  // Copies go in groups of `concurrent`: within a group copy j starts j * stagger after the group, and
  // the group's packets are merged in time order; the next group starts when this one has ended.
  const std::int64_t stagger =
      concurrent > 1 ? std::max<std::int64_t>(1, r.span_us / static_cast<std::int64_t>(concurrent)) : 0;
  const std::int64_t group_span = static_cast<std::int64_t>(concurrent - 1) * stagger + r.span_us;
  std::vector<std::uint8_t> seen(concurrent * r.flows.size(), 0);  // (copy in group, flow) written yet
  std::vector<std::size_t> next(concurrent, 0);
  using Item = std::pair<std::int64_t, std::uint64_t>;  // (time, copy in group)
  std::priority_queue<Item, std::vector<Item>, std::greater<>> heap;
  std::vector<std::uint8_t> buf(kSnaplen);
  std::uint64_t written = 0, bytes = 0, flows = 0, copies = 0, tcp = 0, udp = 0;
  bool done = false;
  bool capped = false;
  for (std::uint64_t group = 0; !done; ++group) {
    if (group != 0 && static_cast<std::int64_t>(group) > (kMaxTimeUs - base_us - group_span) / group_span) {
      std::fprintf(stderr, "make_bench_capture: the inputs span too long a time for %llu copies in one pcap\n",
                   static_cast<unsigned long long>(group * concurrent));
      break;
    }
    const std::int64_t group_start = base_us + static_cast<std::int64_t>(group) * group_span;
    std::fill(seen.begin(), seen.end(), 0);
    for (std::uint64_t j = 0; j < concurrent; ++j) {
      next[j] = 0;
      heap.emplace(group_start + static_cast<std::int64_t>(j) * stagger + r.packets[0].t_us, j);
    }
    while (!heap.empty() && !done) {
      const auto [t, j] = heap.top();
      heap.pop();
      const std::uint64_t copy = group * concurrent + j;
      const Packet& pk = r.packets[next[j]];
      if (next[j] == 0) copies = copy + 1 > copies ? copy + 1 : copies;
      if (++next[j] < r.packets.size()) {
        heap.emplace(group_start + static_cast<std::int64_t>(j) * stagger + r.packets[next[j]].t_us, j);
      }
      rewrite(r.arena.data() + pk.data_off, pk, copy, c4, c6, buf.data());
      pcap_pkthdr h{};
      h.ts.tv_sec = static_cast<time_t>(t / 1000000);
      h.ts.tv_usec = static_cast<suseconds_t>(t % 1000000);
      h.caplen = pk.caplen;
      h.len = pk.len;
      pcap_dump(reinterpret_cast<u_char*>(dumper), &h, buf.data());
      ++written;
      bytes += pk.caplen;
      (pk.udp ? udp : tcp) += 1;
      std::uint8_t& s = seen[j * r.flows.size() + pk.flow];
      if (s == 0) {
        s = 1;
        ++flows;
      }
      if (written >= want_packets && flows >= want_flows) {
        done = true;
      } else if (max_packets != 0 && written >= max_packets) {
        done = capped = true;
      }
    }
    while (!heap.empty()) heap.pop();
  }
  if (copies * (c4 > c6 ? c4 : c6) > kV4Space) {
    std::fprintf(stderr, "make_bench_capture: warning: more copies than client addresses; some flows repeat\n");
  }
  if (capped && flows < want_flows) {
    std::fprintf(stderr, "make_bench_capture: warning: stopped at --max-packets %llu with %llu flows (< %llu)\n",
                 static_cast<unsigned long long>(max_packets), static_cast<unsigned long long>(flows),
                 static_cast<unsigned long long>(want_flows));
  }
  bool ok = pcap_dump_flush(dumper) == 0;
  ok = ok && std::ferror(pcap_dump_file(dumper)) == 0;
  pcap_dump_close(dumper);
  pcap_close(dead);
  if (!ok) {
    std::fprintf(stderr, "make_bench_capture: %s: write error\n", out_path);
    return 1;
  }
  std::printf("packets=%llu bytes=%llu flows=%llu copies=%llu tcp=%llu udp=%llu flows_per_copy=%llu\n",
              static_cast<unsigned long long>(written), static_cast<unsigned long long>(bytes),
              static_cast<unsigned long long>(flows), static_cast<unsigned long long>(copies),
              static_cast<unsigned long long>(tcp), static_cast<unsigned long long>(udp),
              static_cast<unsigned long long>(per_copy_flows));
  return 0;
}
