#include "capture/pcap_live_source.h"

#include <poll.h>

#include <fmt/format.h>

#include "capture/pcap_file_source.h"

namespace flowaudit::capture {

std::string interface_names() {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_if_t* all = nullptr;
  if (pcap_findalldevs(&all, errbuf) != 0 || all == nullptr) return {};
  std::string out;
  std::size_t n = 0;
  for (pcap_if_t* d = all; d != nullptr && n < 64; d = d->next, ++n) {
    if (d->name == nullptr) continue;
    if (!out.empty()) out += ", ";
    out += d->name;
  }
  pcap_freealldevs(all);
  return out;
}

namespace {

std::string activate_error(int rc, pcap_t* p, const std::string& iface) {
  const std::string detail = pcap_geterr(p) != nullptr ? pcap_geterr(p) : "";
  switch (rc) {
    case PCAP_ERROR_PERM_DENIED:
      return fmt::format("cannot capture on {}: no permission (run as root, e.g. with sudo, or give the binary "
                         "CAP_NET_RAW and CAP_NET_ADMIN)",
                         iface);
    case PCAP_ERROR_NO_SUCH_DEVICE: {
      const std::string names = interface_names();
      return fmt::format("cannot capture on {}: no such interface{}", iface,
                         names.empty() ? std::string() : " (interfaces: " + names + ")");
    }
    case PCAP_ERROR_IFACE_NOT_UP: return fmt::format("cannot capture on {}: the interface is down", iface);
    case PCAP_ERROR_RFMON_NOTSUP: return fmt::format("cannot capture on {}: monitor mode not supported", iface);
    default: return fmt::format("cannot capture on {}: {}", iface, detail.empty() ? pcap_statustostr(rc) : detail);
  }
}

}  // namespace

std::unique_ptr<LiveSource> LiveSource::open(const LiveOptions& options, std::string& error) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_create(options.interface.c_str(), errbuf);
  if (p == nullptr) {
    error = fmt::format("cannot capture on {}: {}", options.interface, errbuf);
    return nullptr;
  }
  std::unique_ptr<LiveSource> source(new LiveSource());
  source->pcap_ = p;
  pcap_set_snaplen(p, options.snaplen);
  pcap_set_promisc(p, options.promiscuous ? 1 : 0);
  // Not immediate mode. In immediate mode libpcap (1.10, Linux) uses TPACKET_V2, whose ring has
  // fixed slots as large as the biggest packet (65,632 bytes on an interface that offloads
  // segmentation, as most do): an 8 MiB buffer is 128 slots, whatever the packets' size (measured
  // with an LD_PRELOAD shim on setsockopt(PACKET_RX_RING)), and a download captured with --write
  // dropped packets. Without it libpcap uses TPACKET_V3, which packs packets into blocks by their
  // real size and hands a block over when it is full or after the timeout: packets arrive at most
  // kBlockTimeoutMs late (new destinations settle for 500 ms anyway), and the drain at stop waits
  // for the last, partly filled block (capture/live_loop.cc).
  pcap_set_timeout(p, kBlockTimeoutMs);
  pcap_set_buffer_size(p, options.buffer_size);
  if (pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO) == 0) source->nanosecond_ = true;
  const int rc = pcap_activate(p);
  if (rc < 0) {
    error = activate_error(rc, p, options.interface);
    return nullptr;
  }
  source->nanosecond_ = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;
  // libpcap's NFLOG reader (1.10) reports a non-blocking socket with nothing waiting as an error
  // ("Can't receive packet: Resource temporarily unavailable"): it stays blocking, and dispatch()
  // reads it only when poll says a message is there.
  source->poll_first_ = options.interface.starts_with("nflog");
  if (!source->poll_first_ && pcap_setnonblock(p, 1, errbuf) != 0) {
    error = fmt::format("cannot capture on {}: {}", options.interface, errbuf);
    return nullptr;
  }
  if (!options.filter.empty()) {
    bpf_program program{};
    if (pcap_compile(p, &program, options.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      error = fmt::format("--filter: {}", pcap_geterr(p));
      return nullptr;
    }
    const int set = pcap_setfilter(p, &program);
    pcap_freecode(&program);
    if (set != 0) {
      error = fmt::format("--filter: {}", pcap_geterr(p));
      return nullptr;
    }
  }
  if (pcap_get_selectable_fd(p) < 0) {
    error = fmt::format("cannot capture on {}: no selectable descriptor", options.interface);
    return nullptr;
  }
  source->link_type_ = dlt_to_linktype(pcap_datalink(p));
  source->info_.path = options.interface;
  source->info_.format = "live";
  source->info_.link_types.push_back(source->link_type_);
  source->info_.complete = true;
  return source;
}

LiveSource::~LiveSource() {
  if (pcap_ != nullptr) pcap_close(pcap_);
}

int LiveSource::selectable_fd() const noexcept { return pcap_get_selectable_fd(pcap_); }

int LiveSource::snaplen() const noexcept { return pcap_snapshot(pcap_); }

namespace {
struct DispatchContext {
  LiveSource* self;
  const std::function<void(const RawPacket&)>* on_packet;
  std::uint32_t link_type;
  bool nanosecond;
  SourceInfo* info;
};

void on_pcap_packet(u_char* user, const pcap_pkthdr* hdr, const u_char* data) {
  auto* ctx = reinterpret_cast<DispatchContext*>(user);  // our own pointer, handed back by libpcap
  RawPacket packet;
  packet.ts_ns = static_cast<core::TimestampNs>(hdr->ts.tv_sec) * core::kNsPerSecond +
                 static_cast<core::TimestampNs>(hdr->ts.tv_usec) * (ctx->nanosecond ? 1 : 1000);
  packet.link_type = ctx->link_type;
  packet.orig_len = hdr->len;
  packet.data = std::span<const std::uint8_t>(data, hdr->caplen);
  ++ctx->info->packets;
  ctx->info->bytes += hdr->caplen;
  (*ctx->on_packet)(packet);
}
}  // namespace

int LiveSource::dispatch(int max, const std::function<void(const RawPacket&)>& on_packet) {
  if (poll_first_) {
    pollfd pfd{pcap_get_selectable_fd(pcap_), POLLIN, 0};
    if (::poll(&pfd, 1, 0) <= 0) return 0;
  }
  DispatchContext ctx{this, &on_packet, link_type_, nanosecond_, &info_};
  const int n = pcap_dispatch(pcap_, max, on_pcap_packet, reinterpret_cast<u_char*>(&ctx));
  if (n == PCAP_ERROR) {
    info_.error = fmt::format("{}: capture stopped: {}", info_.path, pcap_geterr(pcap_));
    info_.complete = false;
    return -1;
  }
  return n < 0 ? 0 : n;
}

LiveStats LiveSource::stats() const {
  LiveStats out;
  pcap_stat s{};
  if (pcap_stats(pcap_, &s) == 0) {
    out.received = s.ps_recv;
    out.dropped = s.ps_drop;
    out.interface_dropped = s.ps_ifdrop;
    out.available = true;
  }
  return out;
}

}  // namespace flowaudit::capture
