#include "session/nats_common.h"

#include "core/input_file.h"

namespace flowaudit::session::nats_detail {

namespace {
void on_connected(natsConnection* /*nc*/, void* /*closure*/) {}
}  // namespace

std::string status_text(natsStatus s) {
  const char* last = nats_GetLastError(nullptr);
  std::string out = natsStatus_GetText(s);
  if (last != nullptr && *last != '\0' && out.find(last) == std::string::npos) out += std::string(" (") + last + ")";
  return out;
}

natsOptions* connection_options(const NatsTarget& target, const NatsSettings& settings, std::string& error) {
  natsOptions* o = nullptr;
  if (natsOptions_Create(&o) != NATS_OK) {
    error = "NATS: cannot create options";
    return nullptr;
  }
  const std::string url = target.server_url();
  natsStatus s = natsOptions_SetURL(o, url.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(o, 2000);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(o, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(o, 250);
  // libnats 3.4: without a callback, a first connect with retry blocks forever (MaxReconnect -1).
  if (s == NATS_OK) s = natsOptions_SetRetryOnFailedConnect(o, true, &on_connected, nullptr);
  if (s == NATS_OK && target.tls) s = natsOptions_SetSecure(o, true);
  if (s == NATS_OK && !settings.ca_file.empty()) {
    s = natsOptions_LoadCATrustedCertificates(o, settings.ca_file.c_str());
    if (s != NATS_OK) {
      error = "--nats-ca " + settings.ca_file + ": " + status_text(s);
      natsOptions_Destroy(o);
      return nullptr;
    }
  }
  if (s == NATS_OK && !settings.creds_file.empty()) {
    std::string probe;
    if (auto why = core::read_input_file(settings.creds_file, 64 * 1024, probe); !why.empty()) {
      error = "--nats-creds " + settings.creds_file + ": " + why;
      natsOptions_Destroy(o);
      return nullptr;
    }
    s = natsOptions_SetUserCredentialsFromFiles(o, settings.creds_file.c_str(), nullptr);
  }
  if (s != NATS_OK) {
    error = "NATS " + url + ": " + status_text(s);
    natsOptions_Destroy(o);
    return nullptr;
  }
  return o;
}

std::string ensure_stream(jsCtx* js, const std::string& stream, const std::string& subject) {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = stream.c_str();
  const char* subjects[] = {subject.c_str()};
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  cfg.Duplicates = static_cast<int64_t>(10) * 60 * 1000 * 1000 * 1000;  // ten minutes, in ns
  jsStreamInfo* si = nullptr;
  jsErrCode ec{};
  const natsStatus s = js_AddStream(&si, js, &cfg, nullptr, &ec);
  if (s == NATS_OK) {
    jsStreamInfo_Destroy(si);
    return {};
  }
  if (ec == JSStreamNameExistErr || ec == JSStreamSubjectOverlapErr) return {};
  return "stream " + stream + ": " + status_text(s);
}

}  // namespace flowaudit::session::nats_detail
