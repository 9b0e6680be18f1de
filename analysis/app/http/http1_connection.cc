#include "analysis/app/http/http1_connection.h"

#include <http_parser.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "analysis/app/http/http_request.h"

namespace flowaudit::analysis::http {

namespace {

constexpr std::size_t kMaxHeaderName = 256;

void append_capped(std::string& s, const char* at, std::size_t n, std::size_t cap) {
  if (s.size() >= cap) return;
  s.append(at, std::min(n, cap - s.size()));
}

}  // namespace

struct Http1Connection::Parsers {
  http_parser parser[2];  // 0: requests from the client, 1: responses from the server
  Http1Connection* owner = nullptr;
  // The header being read, per direction: name then value, both capped.
  std::string name[2];
  std::string value[2];
  bool in_value[2] = {false, false};
  Exchange* current[2] = {nullptr, nullptr};
  bool head_request = false;  // the response being read answers a HEAD (no body)
};

struct Callbacks {
  static Http1Connection::Parsers& of(http_parser* p) { return *static_cast<Http1Connection::Parsers*>(p->data); }
  static int dir(http_parser* p) { return p->type == HTTP_REQUEST ? 0 : 1; }

  static void finish_header(Http1Connection::Parsers& s, int d) {
    if (!s.in_value[d]) return;
    Exchange* e = s.current[d];
    if (e != nullptr) {
      const std::string_view n = s.name[d];
      const std::string& v = s.value[d];
      if (d == 0) {
        e->keep_request_header(n, v);
        if (iequals(n, "host")) e->authority = v.substr(0, Exchange::kMaxField);
        else if (iequals(n, "content-type")) e->request_content_type = v.substr(0, Exchange::kMaxField);
        else if (iequals(n, "content-encoding")) e->request_content_encoding = v.substr(0, Exchange::kMaxField);
        else if (iequals(n, "upgrade") && iequals(v, "websocket")) e->websocket = true;
      } else {
        if (iequals(n, "content-type")) e->response_content_type = v.substr(0, Exchange::kMaxField);
        else if (iequals(n, "content-encoding")) e->response_content_encoding = v.substr(0, Exchange::kMaxField);
        else if (iequals(n, "sec-websocket-extensions")) e->websocket_extensions = v.substr(0, Exchange::kMaxField);
      }
    }
    s.name[d].clear();
    s.value[d].clear();
    s.in_value[d] = false;
  }

  static int on_message_begin(http_parser* p) {
    auto& s = of(p);
    Http1Connection& c = *s.owner;
    const int d = dir(p);
    s.name[d].clear();
    s.value[d].clear();
    s.in_value[d] = false;
    if (d == 0) {
      if (c.exchanges_.size() >= Http1Connection::kMaxExchanges) {
        ++c.dropped_;
        s.current[0] = nullptr;
        return 0;
      }
      c.exchanges_.emplace_back();
      s.current[0] = &c.exchanges_.back();
      // A vector may move its elements: the response side holds an index, not a pointer.
      return 0;
    }
    // A response answers the oldest request without one (pipelining keeps order, RFC 9112 §9.3.2).
    s.current[1] = c.next_response_ < c.exchanges_.size() ? &c.exchanges_[c.next_response_] : nullptr;
    s.head_request = s.current[1] != nullptr && s.current[1]->method == "HEAD";
    return 0;
  }
  static int on_url(http_parser* p, const char* at, std::size_t n) {
    auto& s = of(p);
    if (s.current[0] == nullptr) return 0;
    // The method is known once the target starts: set here, so that a head the parser refuses
    // later (past the head limit, a header it rejects) still says which method was sent.
    if (s.current[0]->method.empty()) s.current[0]->method = http_method_str(static_cast<http_method>(p->method));
    append_capped(s.current[0]->path, at, n, Exchange::kMaxField);
    return 0;
  }
  static int on_header_field(http_parser* p, const char* at, std::size_t n) {
    auto& s = of(p);
    const int d = dir(p);
    if (s.in_value[d]) finish_header(s, d);
    append_capped(s.name[d], at, n, kMaxHeaderName);
    return 0;
  }
  static int on_header_value(http_parser* p, const char* at, std::size_t n) {
    auto& s = of(p);
    const int d = dir(p);
    s.in_value[d] = true;
    append_capped(s.value[d], at, n, Exchange::kMaxField);
    return 0;
  }
  static int on_headers_complete(http_parser* p) {
    auto& s = of(p);
    const int d = dir(p);
    finish_header(s, d);
    Exchange* e = s.current[d];
    if (d == 0 && e != nullptr) e->method = http_method_str(static_cast<http_method>(p->method));
    if (d == 1 && e != nullptr) {
      e->status = static_cast<std::uint16_t>(p->status_code);
      if (p->status_code == 101) e->upgrade = true;
    }
    if (e != nullptr && !(d == 1 && s.head_request)) e->body_begin(d == 0, s.owner->decoders_[d]);
    // Returning 1 tells the parser the response has no body (a HEAD's answer, RFC 9110 §9.3.2).
    return d == 1 && s.head_request ? 1 : 0;
  }
  static int on_body(http_parser* p, const char* at, std::size_t n) {
    auto& s = of(p);
    const int d = dir(p);
    Exchange* e = s.current[d];
    if (e == nullptr) return 0;
    e->body_bytes(d == 0, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(at), n), s.owner->decoders_[d],
                  s.owner->keep_);
    return 0;
  }
  static int on_message_complete(http_parser* p) {
    auto& s = of(p);
    Http1Connection& c = *s.owner;
    const int d = dir(p);
    Exchange* e = s.current[d];
    if (e != nullptr) e->body_end(d == 0, c.decoders_[d]);
    if (d == 0) {
      if (e != nullptr) e->request_complete = true;
    } else {
      if (e != nullptr) e->response_complete = true;
      // An interim response (1xx other than 101) is followed by the final one for the same request.
      if (p->status_code >= 200 || p->status_code == 101) ++c.next_response_;
    }
    s.current[d] = nullptr;
    return 0;
  }
};

namespace {

const http_parser_settings& settings() {
  static const http_parser_settings kSettings = [] {
    http_parser_settings st{};
    st.on_message_begin = &Callbacks::on_message_begin;
    st.on_url = &Callbacks::on_url;
    st.on_header_field = &Callbacks::on_header_field;
    st.on_header_value = &Callbacks::on_header_value;
    st.on_headers_complete = &Callbacks::on_headers_complete;
    st.on_body = &Callbacks::on_body;
    st.on_message_complete = &Callbacks::on_message_complete;
    return st;
  }();
  return kSettings;
}

}  // namespace

Http1Connection::Http1Connection() : parsers_(std::make_unique<Parsers>()) {
  parsers_->owner = this;
  http_parser_init(&parsers_->parser[0], HTTP_REQUEST);
  http_parser_init(&parsers_->parser[1], HTTP_RESPONSE);
  parsers_->parser[0].data = parsers_.get();
  parsers_->parser[1].data = parsers_.get();
}

Http1Connection::~Http1Connection() = default;

void Http1Connection::websocket_bytes(bool from_client, std::span<const std::uint8_t> bytes) {
  if (!ws_) {
    // The client's frames before the 101 was read: held, bounded; a connection that never
    // upgrades drops them.
    if (from_client) {
      const std::size_t room = WebSocketReader::kMaxKept - std::min(WebSocketReader::kMaxKept, ws_pending_.size());
      ws_pending_.insert(ws_pending_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(std::min(room, bytes.size())));
    }
    return;
  }
  ws_->on_bytes(from_client, bytes);  // its counts reach the exchange in flush_websocket
}

void Http1Connection::flush_websocket() noexcept {
  if (!ws_) return;
  Exchange& e = exchanges_[ws_exchange_];
  e.ws = ws_->stats();
  auto& kept = ws_->client_messages();
  for (auto& m : kept) e.ws_client_messages.push_back(std::move(m));
  kept.clear();
}

void Http1Connection::on_bytes(bool from_client, std::span<const std::uint8_t> bytes) {
  const int d = from_client ? 0 : 1;
  if (bytes.empty()) return;
  if (std::string_view(stopped_[d]) == "upgrade") return websocket_bytes(from_client, bytes);
  if (*stopped_[d] != '\0') return;
  // The request side's current exchange is re-pointed on every call: emplace_back may have moved
  // the vector's elements since the last one.
  if (d == 0 && parsers_->current[0] != nullptr) parsers_->current[0] = &exchanges_.back();
  if (d == 1 && parsers_->current[1] != nullptr) {
    parsers_->current[1] = next_response_ < exchanges_.size() ? &exchanges_[next_response_] : nullptr;
  }
  http_parser& p = parsers_->parser[d];
  const auto* data = reinterpret_cast<const char*>(bytes.data());  // char view of the same bytes
  const std::size_t used = http_parser_execute(&p, &settings(), data, bytes.size());
  if (p.upgrade != 0) {
    stopped_[d] = "upgrade";
    // A 101 to a request that asked for WebSocket: the rest of the connection is its frames.
    // (A response may have come without a request: next_response_ counts responses, not exchanges.)
    if (d == 1 && next_response_ > 0 && next_response_ <= exchanges_.size() && !ws_) {
      const std::size_t i = next_response_ - 1;
      if (exchanges_[i].status == 101 && exchanges_[i].websocket) {
        ws_ = std::make_unique<WebSocketReader>(exchanges_[i].websocket_extensions, keep_);
        ws_exchange_ = i;
        if (!ws_pending_.empty()) {
          std::vector<std::uint8_t> pending;
          pending.swap(ws_pending_);
          websocket_bytes(true, pending);
        }
      }
    }
    if (used < bytes.size()) websocket_bytes(from_client, bytes.subspan(used));
  } else if (HTTP_PARSER_ERRNO(&p) != HPE_OK || used != bytes.size()) {
    stopped_[d] = HTTP_PARSER_ERRNO(&p) == HPE_HEADER_OVERFLOW ? "limit" : "malformed";
  }
}

}  // namespace flowaudit::analysis::http
