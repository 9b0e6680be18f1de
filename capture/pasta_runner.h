// `flowaudit run` without root: the command in a user and network namespace that Debian's pasta
// (package passt) makes and connects through the user's own sockets, its tap-side traffic written
// by pasta to a pcap file that flowaudit audits when the command has ended. No live events: pasta
// writes the file, flowaudit reads it afterwards.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "capture/netns_sandbox.h"  // SandboxExit

namespace flowaudit::capture {

struct PastaCommand {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "NAME=value" added to the environment
  std::string pcap;              // where pasta writes the traffic
  double duration = 0;           // > 0: SIGTERM after this many seconds, SIGKILL 2 s later
};

// Why rootless runs cannot work here ("" when they can): pasta missing, /dev/net/tun not usable.
std::string pasta_unavailable();

// Runs pasta with the command and waits for it; SIGINT and SIGTERM sent to flowaudit meanwhile go to
// pasta (which ends the command). `error` when pasta could not be started.
SandboxExit run_in_pasta(const PastaCommand& command, std::string& error);

}  // namespace flowaudit::capture
