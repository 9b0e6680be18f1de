#include "analysis/app/flow_details.h"

namespace flowaudit::analysis::app {

const char* to_string(AppProtocol p) noexcept {
  switch (p) {
    case AppProtocol::kDns: return "dns";
    case AppProtocol::kTls: return "tls";
    case AppProtocol::kQuic: return "quic";
    case AppProtocol::kGquic: return "gquic";
    case AppProtocol::kHttp: return "http";
    case AppProtocol::kUnknown: break;
  }
  return "";
}

const char* to_string(BlindSpot b) noexcept {
  switch (b) {
    case BlindSpot::kEch: return "ech";
    case BlindSpot::kDnsOverTls: return "dns-over-tls";
    case BlindSpot::kDnsOverHttps: return "dns-over-https";
    case BlindSpot::kQuicUndecryptable: return "quic-undecryptable";
    case BlindSpot::kUdpUnknown: return "udp-unknown";
    case BlindSpot::kNone: break;
  }
  return "";
}

}  // namespace flowaudit::analysis::app
