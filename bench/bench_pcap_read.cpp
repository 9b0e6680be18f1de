// bench_pcap_read: the bare libpcap read loop, as a baseline for the bench.
//
// Opens one capture with pcap_open_offline, calls pcap_next_ex until the end, counts packets and
// captured bytes, prints them. Nothing else: no parsing, no allocation per packet. Whatever flowaudit
// (or any pcap-based tool) does, it pays at least this.
//
// Output (stdout, one line):  packets=N bytes=B
// Exit: 0 on success, 1 if the file cannot be opened or a read error stops the loop, 2 on bad usage.
#include <pcap/pcap.h>

#include <cstdint>
#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: bench_pcap_read FILE\n");
    return 2;
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* pc = pcap_open_offline(argv[1], errbuf);
  if (pc == nullptr) {
    std::fprintf(stderr, "bench_pcap_read: %s: %s\n", argv[1], errbuf);
    return 1;
  }
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  int rc = 0;
  while ((rc = pcap_next_ex(pc, &hdr, &data)) == 1) {
    ++packets;
    bytes += hdr->caplen;
  }
  int status = 0;
  if (rc == PCAP_ERROR) {
    std::fprintf(stderr, "bench_pcap_read: %s: read error after %llu packets: %s\n", argv[1],
                 static_cast<unsigned long long>(packets), pcap_geterr(pc));
    status = 1;
  }
  pcap_close(pc);
  std::printf("packets=%llu bytes=%llu\n", static_cast<unsigned long long>(packets),
              static_cast<unsigned long long>(bytes));
  return status;
}
