#include "session/nats_consumer.h"

#include <vector>

#include "session/nats_common.h"

namespace flowaudit::session {

using nats_detail::status_text;

struct NatsConsumer::Impl {
  NatsTarget target;
  NatsSettings settings;
  std::string durable;
  natsOptions* opts = nullptr;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  natsSubscription* sub = nullptr;
  natsMsgList batch{};
  std::vector<bool> refused;

  ~Impl() {
    release();
    if (sub != nullptr) natsSubscription_Destroy(sub);  // the durable consumer stays on the server
    if (js != nullptr) jsCtx_Destroy(js);
    if (nc != nullptr) {
      natsConnection_Close(nc);
      natsConnection_Destroy(nc);
    }
    if (opts != nullptr) natsOptions_Destroy(opts);
  }

  void release() {
    if (batch.Msgs != nullptr) natsMsgList_Destroy(&batch);
    batch = natsMsgList{};
    refused.clear();
  }

  [[nodiscard]] bool connected() const {
    return nc != nullptr && natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED;
  }

  // The durable pull consumer: made (or bound again) once the server is there.
  std::string subscribe() {
    if (sub != nullptr) return {};
    if (auto err = nats_detail::ensure_stream(js, settings.stream, target.subject); !err.empty()) return err;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = settings.stream.c_str();
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.DeliverPolicy = js_DeliverAll;
    so.Config.AckWait = static_cast<int64_t>(60) * 1000 * 1000 * 1000;  // 60 s, in ns
    so.Config.MaxAckPending = 65536;
    jsErrCode ec{};
    const natsStatus s = js_PullSubscribe(&sub, js, target.subject.c_str(), durable.c_str(), nullptr, &so, &ec);
    if (s != NATS_OK) {
      sub = nullptr;
      return "consumer " + durable + " on stream " + settings.stream + ": " + status_text(s);
    }
    return {};
  }
};

NatsConsumer::NatsConsumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NatsConsumer::~NatsConsumer() = default;

std::unique_ptr<NatsConsumer> NatsConsumer::open(const NatsTarget& target, const NatsSettings& settings,
                                                 std::string durable, std::string& error) {
  auto impl = std::make_unique<Impl>();
  impl->target = target;
  impl->settings = settings;
  impl->durable = std::move(durable);
  impl->opts = nats_detail::connection_options(target, settings, error);
  if (impl->opts == nullptr) return nullptr;
  const natsStatus s = natsConnection_Connect(&impl->nc, impl->opts);
  if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
    error = "NATS " + target.server_url() + ": " + status_text(s);
    return nullptr;
  }
  if (natsConnection_JetStream(&impl->js, impl->nc, nullptr) != NATS_OK) {
    error = "NATS " + target.server_url() + ": no JetStream context";
    return nullptr;
  }
  return std::unique_ptr<NatsConsumer>(new NatsConsumer(std::move(impl)));
}

NatsConsumer::Fetch NatsConsumer::fetch(int max, std::chrono::milliseconds wait, std::string& why) {
  Impl& i = *impl_;
  i.release();
  if (!i.connected()) {
    why = "NATS " + i.target.server_url() + " not reachable, retrying";
    nats_Sleep(std::min<std::int64_t>(wait.count(), 250));
    return Fetch::kWaiting;
  }
  if (auto err = i.subscribe(); !err.empty()) {
    why = err;
    nats_Sleep(std::min<std::int64_t>(wait.count(), 500));
    return Fetch::kWaiting;
  }
  jsErrCode ec{};
  const natsStatus s = natsSubscription_Fetch(&i.batch, i.sub, max, wait.count(), &ec);
  if (s == NATS_OK && i.batch.Count > 0) {
    i.refused.assign(static_cast<std::size_t>(i.batch.Count), false);
    return Fetch::kMessages;
  }
  i.release();
  if (s == NATS_TIMEOUT || s == NATS_OK) return Fetch::kNone;
  why = "fetch from " + i.target.text() + ": " + status_text(s);
  if (s == NATS_NOT_FOUND || ec == JSConsumerNotFoundErr || ec == JSStreamNotFoundErr) {
    // The stream or the consumer went away (a server restarted without its store): subscribe again.
    natsSubscription_Destroy(i.sub);
    i.sub = nullptr;
  }
  nats_Sleep(100);
  return Fetch::kWaiting;
}

std::size_t NatsConsumer::size() const noexcept { return static_cast<std::size_t>(impl_->batch.Count); }

std::string_view NatsConsumer::data(std::size_t i) const noexcept {
  natsMsg* m = impl_->batch.Msgs[i];
  return {natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m))};
}

void NatsConsumer::refuse(std::size_t i) {
  natsMsg_Term(impl_->batch.Msgs[i], nullptr);
  impl_->refused[i] = true;
}

bool NatsConsumer::ack_all() {
  Impl& i = *impl_;
  int last = -1;
  for (int k = 0; k < i.batch.Count; ++k) {
    if (!i.refused[static_cast<std::size_t>(k)]) last = k;
  }
  bool ok = true;
  for (int k = 0; k < i.batch.Count; ++k) {
    if (i.refused[static_cast<std::size_t>(k)]) continue;
    const natsStatus s = k == last ? natsMsg_AckSync(i.batch.Msgs[k], nullptr, nullptr)
                                   : natsMsg_Ack(i.batch.Msgs[k], nullptr);
    ok = ok && s == NATS_OK;
  }
  i.release();
  return ok;
}

void NatsConsumer::hand_back(std::chrono::milliseconds delay) {
  Impl& i = *impl_;
  for (int k = 0; k < i.batch.Count; ++k) {
    if (!i.refused[static_cast<std::size_t>(k)]) natsMsg_NakWithDelay(i.batch.Msgs[k], delay.count(), nullptr);
  }
  i.release();
}

bool NatsConsumer::connected() const { return impl_->connected(); }

}  // namespace flowaudit::session
