// Capture files: classic pcap through libpcap's offline API, pcapng through our own block reader
// (see pcapng_reader.h for why), "-" for standard input.
#pragma once

#include <memory>
#include <string>

#include "capture/link_types.h"  // link_type_name() (the one link-type table)
#include "capture/packet_source.h"

namespace flowaudit::capture {

struct OpenResult {
  std::unique_ptr<PacketSource> source;  // null when the file could not be opened at all
  SourceInfo info;                       // filled in when source is null (error says why)
};

// A regular file is read through a memory map where its format allows (pcapng, and pcap version
// 2.4 in any byte order and time unit); `map` false reads it through stdio and libpcap as a pipe
// would be (the tests and the fuzz target compare the two).
OpenResult open_capture_file(const std::string& path, bool map = true);

// libpcap's DLT_* value of an open handle as the LINKTYPE_* value files store.
std::uint32_t dlt_to_linktype(int dlt);

}  // namespace flowaudit::capture
