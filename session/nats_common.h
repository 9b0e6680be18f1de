// What the NATS event sink (nats_sink.cc) and the NATS consumer of `flowaudit sink`
// (nats_consumer.cc) share: the connection's options, the stream, the library's errors as text.
// Internal to session/: it includes the C client's header.
#pragma once

#include <nats/nats.h>

#include <string>

#include "session/nats_sink.h"

namespace flowaudit::session::nats_detail {

// natsStatus as text, with the library's last error when it says more.
std::string status_text(natsStatus s);

// Options for a connection to `target`: reconnect forever (every 250 ms), a first connect that does
// not block when the server is down (it is retried in the background), TLS, the CA and credentials
// files of `settings`. nullptr and a one-line reason for a bad CA or credentials file.
natsOptions* connection_options(const NatsTarget& target, const NatsSettings& settings, std::string& error);

// The stream for the subject: created (file storage, a ten-minute duplicate window) when no stream
// takes it; an existing stream that does is used as it is. "" or why it could not be had.
std::string ensure_stream(jsCtx* js, const std::string& stream, const std::string& subject);

}  // namespace flowaudit::session::nats_detail
