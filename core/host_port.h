// HOST[:PORT] and [IPv6][:PORT] of a URL, for the servers flowaudit talks to when asked (NATS,
// ClickHouse): the host, and the port when one is given (1-65535).
#pragma once

#include <string>
#include <string_view>

namespace flowaudit::core {

// Splits `hostport`; `port` keeps its value when none is given. False and a reason ("no host",
// "bad port", ...) in `error` otherwise.
bool parse_host_port(std::string_view hostport, std::string& host, int& port, std::string& error);

}  // namespace flowaudit::core
