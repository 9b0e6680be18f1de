#include "analysis/app/unnamed_reason.h"

#include "analysis/app/flow_details.h"
#include "analysis/flow/flow.h"
#include "analysis/packet/transport.h"

namespace flowaudit::analysis::app {

using enum UnnamedReason;

// The order is the question a reader asks first: did flowaudit look at all, did a limit stop it,
// did the protocol hide the name, and only then: was there anything to name it by.
UnnamedReason unnamed_reason(const flow::Flow& f, const FlowDetails* d) noexcept {
  const bool tcp = f.key.protocol == packet::kProtoTcp;
  if (!tcp && f.key.protocol != packet::kProtoUdp) return kNotInspected;
  if (d != nullptr) {
    if (d->blind_spot == BlindSpot::kInspectionLimit) return kInspectionLimit;
    const bool outer_decrypted =
        d->decryption && d->decryption->records_opened[0] + d->decryption->records_opened[1] > 0;
    if (d->blind_spot == BlindSpot::kEch || (d->tls && d->tls->ech && !outer_decrypted)) return kEncryptedSni;
    if (d->blind_spot == BlindSpot::kQuicUndecryptable) return kQuicUndecryptable;
    if (d->tls && d->tls->client_hello) return d->tls->sslv2_hello ? kSslv2Hello : kNoSni;
    switch (d->app) {
      case AppProtocol::kTls: return tcp && f.orientation != flow::Orientation::kTcpHandshake ? kNoHandshake
                                                                                               : kNoClientHello;
      case AppProtocol::kHttp: return d->http ? kHttpNoHost : kHttpNoRequest;
      case AppProtocol::kDns: return kDnsExchange;
      case AppProtocol::kQuic:
      case AppProtocol::kGquic: return kNoSni;
      case AppProtocol::kHttpConnect:
      case AppProtocol::kSocks: return kProxyNoRequest;
      case AppProtocol::kSmtp:
      case AppProtocol::kImap:
      case AppProtocol::kPop3:
      case AppProtocol::kFtp:
      case AppProtocol::kXmpp:
      case AppProtocol::kLdap:
      case AppProtocol::kPostgres: return kNoTlsUpgrade;
      case AppProtocol::kUnknown: break;
    }
  }
  if (f.from[0].payload_bytes == 0 && f.from[1].payload_bytes == 0) return kNoPayload;
  if (tcp && f.orientation != flow::Orientation::kTcpHandshake) return kNoHandshake;
  return kUnknownProtocol;
}

}  // namespace flowaudit::analysis::app
