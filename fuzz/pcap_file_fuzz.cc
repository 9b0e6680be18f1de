// Fuzz target: the whole replay path for one capture file. The input is the file: it goes into a
// memfd (no disk, nothing left behind) opened by path through /proc/self/fd, so open_capture_file
// does its real work (format sniffing, libpcap's offline reader for pcap, our reader for pcapng),
// then an Auditor decodes and tracks every packet, finish() builds the result and both report
// writers render it. First the file is read twice, through the memory map and through stdio
// (libpcap for pcap), and the two must agree packet for packet and error for error.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/audit.h"
#include "capture/pcap_file_source.h"
#include "fuzz_check.h"
#include "report/report.h"

namespace {

// One memfd for the whole run, rewritten per input.
int capture_fd() {
  static const int fd = memfd_create("pcap_file_fuzz", MFD_CLOEXEC);
  return fd;
}

bool write_all(int fd, const std::uint8_t* data, std::size_t size) {
  if (ftruncate(fd, 0) != 0) return false;
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// The hand-written memory-mapped readers against the stdio path (libpcap for classic pcap).
void compare_readers(const std::string& path) {
  using namespace flowaudit::capture;
  OpenResult mapped = open_capture_file(path, true);
  OpenResult streamed = open_capture_file(path, false);
  FUZZ_CHECK((mapped.source == nullptr) == (streamed.source == nullptr));
  if (!mapped.source) return;
  RawPacket a;
  RawPacket b;
  for (;;) {
    const ReadStatus ra = mapped.source->next(a);
    const ReadStatus rb = streamed.source->next(b);
    FUZZ_CHECK(ra == rb);
    if (ra != ReadStatus::kPacket) break;
    FUZZ_CHECK(a.ts_ns == b.ts_ns);
    FUZZ_CHECK(a.orig_len == b.orig_len);
    FUZZ_CHECK(a.data_offset == b.data_offset);
    FUZZ_CHECK(a.data.size() == b.data.size());
    FUZZ_CHECK(std::equal(a.data.begin(), a.data.end(), b.data.begin()));
    // libpcap turns a few rare LINKTYPE values into other DLT values and back; the ones flowaudit
    // reads are the same either way.
    if (is_supported_link_type(a.link_type)) FUZZ_CHECK(a.link_type == b.link_type);
  }
  FUZZ_CHECK(mapped.source->info().error == streamed.source->info().error);
  FUZZ_CHECK(mapped.source->info().packets == streamed.source->info().packets);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace flowaudit;
  const int fd = capture_fd();
  FUZZ_CHECK(fd >= 0);
  FUZZ_CHECK(write_all(fd, data, size));
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  compare_readers(path);

  analysis::AuditOptions options;
  options.flows.max_flows = 64;  // small, so that eviction runs
  options.reassembly.max_datagrams = 16;
  analysis::Auditor auditor(options);

  capture::OpenResult opened = capture::open_capture_file(path);
  std::vector<capture::SourceInfo> inputs;
  std::uint64_t packets = 0;
  if (opened.source) {
    FUZZ_CHECK(opened.info.error.empty());
    const capture::SourceInfo info = auditor.run(*opened.source, 0);
    FUZZ_CHECK(info.complete == info.error.empty());
    packets = info.packets;
    inputs.push_back(info);
  } else {
    FUZZ_CHECK(!opened.info.error.empty());
    inputs.push_back(opened.info);
  }
  opened.source.reset();  // closes the stream, as the CLI does before reporting

  const analysis::AuditResult result = auditor.finish(std::move(inputs));
  FUZZ_CHECK(result.packets == packets);
  std::uint64_t in_flows = 0;
  for (const auto& f : result.flows) in_flows += f.from[0].packets + f.from[1].packets;
  FUZZ_CHECK(in_flows <= result.packets);  // each captured packet is in at most one flow

  const std::string json = report::render(report::Format::kJson, {result});
  const std::string text = report::render(report::Format::kText, {result});
  FUZZ_CHECK(!json.empty() && json.back() == '\n');
  static_cast<void>(text);
  return 0;
}
