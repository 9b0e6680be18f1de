#include "session/nats_sink.h"

#include <nats/nats.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>

#include "core/host_port.h"
#include "core/input_file.h"
#include "core/output_file.h"
#include "session/nats_common.h"

namespace flowaudit::session {

namespace fs = std::filesystem;
using nats_detail::status_text;

namespace {

bool subject_ok(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  std::size_t token = 0;
  for (const char c : s) {
    if (c == '.') {
      if (token == 0) return false;
      token = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
    ++token;
  }
  return token > 0;
}


// A file name for the spool of one server and subject.
std::string spool_name(const NatsTarget& t) {
  std::string out = t.host + "_" + std::to_string(t.port) + "_" + t.subject;
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.';
    if (!ok) c = '_';
  }
  return out + ".ndjson";
}

}  // namespace

std::string NatsTarget::server_url() const {
  return std::string(tls ? "tls://" : "nats://") + (host.find(':') != std::string::npos ? "[" + host + "]" : host) +
         ":" + std::to_string(port);
}

std::string NatsTarget::text() const { return server_url() + "/" + subject; }

std::optional<NatsTarget> parse_nats_target(std::string_view url, std::string& error) {
  NatsTarget t;
  std::string_view rest;
  if (url.starts_with("nats://")) {
    rest = url.substr(7);
  } else if (url.starts_with("tls://")) {
    t.tls = true;
    rest = url.substr(6);
  } else {
    error = std::string(url) + ": not nats://HOST:PORT/SUBJECT or tls://HOST:PORT/SUBJECT";
    return std::nullopt;
  }
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) {
    error = std::string(url) + ": no subject (nats://HOST:PORT/SUBJECT)";
    return std::nullopt;
  }
  std::string_view hostport = rest.substr(0, slash);
  t.subject = std::string(rest.substr(slash + 1));
  if (!subject_ok(t.subject)) {
    error = std::string(url) + ": the subject must be tokens of letters, digits, '-' and '_' separated by dots";
    return std::nullopt;
  }
  if (!core::parse_host_port(hostport, t.host, t.port, error)) {
    error = std::string(url) + ": " + error + (error.starts_with("no user") ? "; use --nats-creds" : "");
    return std::nullopt;
  }
  return t;
}

std::string default_spool_dir() {
  if (const char* s = std::getenv("XDG_STATE_HOME"); s != nullptr && *s == '/') {
    return (fs::path(s) / "flowaudit" / "spool").string();
  }
  if (const char* h = std::getenv("HOME"); h != nullptr && *h == '/') {
    return (fs::path(h) / ".local" / "state" / "flowaudit" / "spool").string();
  }
  return "/var/tmp/flowaudit-spool";
}

std::string_view event_id(std::string_view event) noexcept {
  constexpr std::string_view kKey = "\"uid\":\"";
  const auto at = event.find(kKey);
  if (at == std::string_view::npos) return {};
  const auto start = at + kKey.size();
  const auto end = event.find('"', start);
  if (end == std::string_view::npos || end - start > 64) return {};
  return event.substr(start, end - start);
}

struct NatsSink::Impl {
  NatsTarget target;
  NatsSettings settings;
  natsOptions* opts = nullptr;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  std::string spool_path;
  std::mutex spool_mu;  // the acknowledgement handler runs on the library's thread
  core::OutputFile spool;
  std::uint64_t spool_bytes = 0;
  std::string spool_error;
  std::atomic<std::uint64_t> published{0}, acknowledged{0}, spooled{0}, replayed{0}, lost{0};
  std::string connect_error;
  std::string stream_error;

  ~Impl() {
    if (js != nullptr) jsCtx_Destroy(js);
    if (nc != nullptr) {
      natsConnection_Close(nc);
      natsConnection_Destroy(nc);
    }
    if (opts != nullptr) natsOptions_Destroy(opts);
  }

  // Appends one event to the spool; false when it is full or failing (the event is then lost).
  bool to_spool(std::string_view event) {
    const std::lock_guard<std::mutex> lock(spool_mu);
    if (!spool_error.empty()) {
      ++lost;
      return false;
    }
    if (spool.file() == nullptr) {
      if (auto err = spool.open(spool_path, core::OutputFile::Mode::kAppend); !err.empty()) {
        spool_error = spool_path + ": " + err;
        ++lost;
        return false;
      }
      struct stat st {};
      spool_bytes = ::fstat(::fileno(spool.file()), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    }
    if (spool_bytes + event.size() + 1 > settings.spool_max) {
      spool_error = spool_path + ": the spool is full (" + std::to_string(settings.spool_max) +
                    " bytes, --events-spool-max)";
      ++lost;
      return false;
    }
    if (std::fwrite(event.data(), 1, event.size(), spool.file()) != event.size() ||
        std::fputc('\n', spool.file()) == EOF) {
      spool_error = spool_path + ": cannot write";
      ++lost;
      return false;
    }
    spool_bytes += event.size() + 1;
    ++spooled;
    return true;
  }

  static void on_ack(jsCtx* /*js*/, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
    auto* self = static_cast<Impl*>(closure);
    if (pa != nullptr) {
      ++self->acknowledged;
    } else if (pae != nullptr && msg != nullptr) {
      self->to_spool(std::string_view(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg))));
    }
    natsMsg_Destroy(msg);
  }

  [[nodiscard]] bool connected() const {
    return nc != nullptr && js != nullptr && natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED;
  }

  // Publishes one event (its id as Nats-Msg-Id); false when it could not be handed to the server.
  bool publish(std::string_view event) {
    if (!connected()) return false;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    const std::string id(event_id(event));
    if (!id.empty()) po.MsgId = id.c_str();
    natsStatus s = js_PublishAsync(js, target.subject.c_str(), event.data(), static_cast<int>(event.size()), &po);
    if (s == NATS_TIMEOUT) {
      // Stalled: MaxPending publishes wait for acknowledgements. libnats 3.4 never times out an
      // asynchronous publish, and a server that restarted never acknowledges what it had not stored:
      // without this every later event would stall here. What waits goes to the spool (sent again
      // later; a copy the server did store is dropped by its duplicate window), and this event is
      // tried once more.
      spool_pending();
      s = js_PublishAsync(js, target.subject.c_str(), event.data(), static_cast<int>(event.size()), &po);
    }
    if (s != NATS_OK) return false;
    ++published;
    return true;
  }

  void send(std::string_view event) {
    if (!publish(event)) to_spool(event);
  }

  void ensure_stream() { stream_error = nats_detail::ensure_stream(js, settings.stream, target.subject); }

  // Waits for the acknowledgements, and spools what the server did not acknowledge in time
  // (published again by a later run; a copy the server did store is dropped by its duplicate
  // window or by the store).
  void complete() {
    // libnats 3.4 has no pending list before the first asynchronous publish (and crashes asking).
    if (js == nullptr || published == 0) return;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = settings.wait.count();
    js_PublishAsyncComplete(js, &po);
    spool_pending();
  }

  // Takes back every publish not acknowledged yet and spools it.
  void spool_pending() {
    if (js == nullptr || published == 0) return;
    natsMsgList pending;
    if (js_PublishAsyncGetPendingList(&pending, js) == NATS_OK) {
      for (int k = 0; k < pending.Count; ++k) {
        natsMsg* m = pending.Msgs[k];
        if (m != nullptr) {
          to_spool(std::string_view(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m))));
        }
      }
      natsMsgList_Destroy(&pending);
    }
  }

  // Closes the spool file so that replay_spool() can take it.
  void close_spool() {
    const std::lock_guard<std::mutex> lock(spool_mu);
    if (spool.file() != nullptr) {
      if (auto err = spool.commit(); !err.empty() && spool_error.empty()) spool_error = spool_path + ": " + err;
    }
  }

  // What an earlier run spooled: moved aside, published, and what is not acknowledged spooled again.
  void replay_spool() {
    const std::string sending = spool_path + ".sending";
    std::error_code ec;
    if (!fs::exists(sending, ec)) {
      if (!fs::exists(spool_path, ec) || fs::file_size(spool_path, ec) == 0) return;
      fs::rename(spool_path, sending, ec);
      if (ec) return;
    }
    std::string text;
    if (!core::read_input_file(sending, settings.spool_max + (std::uint64_t{1} << 20), text).empty()) return;
    std::string_view rest = text;
    while (!rest.empty()) {
      const auto nl = rest.find('\n');
      const std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      if (line.empty()) continue;
      if (publish(line)) {
        ++replayed;
      } else {
        to_spool(line);
      }
    }
    fs::remove(sending, ec);
  }
};

NatsSink::NatsSink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NatsSink::~NatsSink() { close(); }

std::unique_ptr<NatsSink> NatsSink::open(const NatsTarget& target, const NatsSettings& settings, std::string& error) {
  auto impl = std::make_unique<Impl>();
  impl->target = target;
  impl->settings = settings;
  const std::string dir = settings.spool_dir.empty() ? default_spool_dir() : settings.spool_dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  ::chmod(dir.c_str(), 0700);
  impl->spool_path = (fs::path(dir) / spool_name(target)).string();
  if (!fs::is_directory(dir, ec)) {
    error = "--events-spool " + dir + ": cannot create the spool directory";
    return nullptr;
  }
  natsOptions* o = nats_detail::connection_options(target, settings, error);
  if (o == nullptr) return nullptr;
  impl->opts = o;
  natsStatus s = natsConnection_Connect(&impl->nc, o);
  if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
    impl->connect_error = status_text(s);
    impl->nc = nullptr;
  }
  if (impl->nc != nullptr) {
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.AckHandler = &Impl::on_ack;
    jo.PublishAsync.AckHandlerClosure = impl.get();
    jo.PublishAsync.MaxPending = 4096;
    jo.PublishAsync.StallWait = 500;
    if (natsConnection_JetStream(&impl->js, impl->nc, &jo) != NATS_OK) impl->js = nullptr;
  }
  // A server that is restarting gets a moment; past it the events wait in the spool.
  for (int k = 0; k < 20 && impl->nc != nullptr && !impl->connected(); ++k) nats_Sleep(100);
  if (impl->connected()) impl->ensure_stream();
  auto sink = std::unique_ptr<NatsSink>(new NatsSink(std::move(impl)));
  if (sink->impl_->connected()) sink->impl_->replay_spool();
  return sink;
}

bool NatsSink::write(std::string_view event) {
  Impl& i = *impl_;
  i.send(event);
  ++events_;
  const std::lock_guard<std::mutex> lock(i.spool_mu);
  if (!i.spool_error.empty()) error_ = i.spool_error;
  return error_.empty();
}

std::string NatsSink::close() {
  Impl& i = *impl_;
  if (closed_) return error_;
  closed_ = true;
  if (i.js != nullptr) {
    i.complete();
    // The server came back during the run (or answered late): what this run spooled goes now.
    if (i.spooled > 0 && i.connected()) {
      i.close_spool();
      i.replay_spool();
      i.complete();
    }
    jsCtx_Destroy(i.js);
    i.js = nullptr;
  }
  if (i.nc != nullptr) {
    natsConnection_FlushTimeout(i.nc, 1000);
    natsConnection_Close(i.nc);
    natsConnection_Destroy(i.nc);
    i.nc = nullptr;
  }
  i.close_spool();
  {
    const std::lock_guard<std::mutex> lock(i.spool_mu);
    if (!i.spool_error.empty()) error_ = i.spool_error;
  }
  if (i.lost > 0 && error_.empty()) error_ = std::to_string(i.lost.load()) + " events lost";
  return error_;
}

NatsSink::Stats NatsSink::stats() const {
  const Impl& i = *impl_;
  return {i.published.load(), i.acknowledged.load(), i.spooled.load(), i.replayed.load(), i.lost.load()};
}

const std::string& NatsSink::spool_path() const noexcept { return impl_->spool_path; }

std::string NatsSink::summary() const {
  const Stats s = stats();
  std::string out = "events: " + std::to_string(events_) + " written, " + std::to_string(s.acknowledged) +
                    " acknowledged by " + impl_->target.text();
  if (s.replayed > 0) out += " (" + std::to_string(s.replayed) + " of them sent again from the spool)";
  std::error_code ec;
  const bool waiting = fs::exists(impl_->spool_path, ec) && fs::file_size(impl_->spool_path, ec) > 0;
  if (waiting) {
    out += "; events not acknowledged wait in " + impl_->spool_path + " and are sent by the next run";
    if (!impl_->connect_error.empty()) {
      out += " (the server: " + impl_->connect_error + ")";
    } else if (stats().published == 0) {
      out += " (no connection to the server)";
    }
    if (!impl_->stream_error.empty()) out += " (" + impl_->stream_error + ")";
  }
  if (s.lost > 0) out += "; " + std::to_string(s.lost) + " LOST";
  return out;
}

}  // namespace flowaudit::session
