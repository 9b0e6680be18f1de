#include "core/host_port.h"

#include <charconv>

namespace flowaudit::core {

bool parse_host_port(std::string_view hostport, std::string& host, int& port, std::string& error) {
  if (hostport.find('@') != std::string_view::npos) {
    error = "no user or password in the URL (they would show in process lists)";
    return false;
  }
  std::string_view port_text;
  if (hostport.starts_with("[")) {  // [IPv6]:port
    const auto close = hostport.find(']');
    if (close == std::string_view::npos || (close + 1 < hostport.size() && hostport[close + 1] != ':')) {
      error = "bad [IPv6]:PORT";
      return false;
    }
    host = std::string(hostport.substr(1, close - 1));
    if (close + 1 < hostport.size()) port_text = hostport.substr(close + 2);
  } else {
    const auto colon = hostport.find(':');
    host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) port_text = hostport.substr(colon + 1);
  }
  if (host.empty()) {
    error = "no host";
    return false;
  }
  if (!port_text.empty()) {
    int p = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), p);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || p < 1 || p > 65535) {
      error = "bad port";
      return false;
    }
    port = p;
  }
  return true;
}

}  // namespace flowaudit::core
