// Every HTTP/1.x exchange of one connection (keep-alive and pipelined requests, chunked and
// length-delimited bodies, Upgrade), both directions, from bytes in stream order: plaintext HTTP or
// what TLS decryption yields. Message framing is libhttp-parser's (Debian libhttp-parser-dev), a
// streaming parser that allocates nothing; what this class adds is pairing responses with
// requests, the fields a report needs, and the limits.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analysis/app/http/content_decoder.h"
#include "analysis/app/http/keep_budget.h"
#include "analysis/app/http/websocket.h"
#include "analysis/inspect/finding.h"

namespace flowaudit::analysis::http {

// Server-sent events (text/event-stream, WHATWG HTML §9.2.6) counted as the response body is
// decoded: an event is a block ended by a blank line that holds at least one data line. Written
// here because no Debian library reads an event stream passively; it keeps five bytes of state.
struct SseCounter {
  std::uint32_t events = 0;
  std::uint64_t data_bytes = 0;  // of the data fields, without "data:" and its one space
  void feed(std::span<const std::uint8_t> bytes) noexcept;

 private:
  std::uint64_t pending_ = 0;  // data bytes of the event being read
  std::uint32_t col_ = 0;      // characters of the current line so far (saturating)
  char prefix_[5] = {};
  bool data_line_ = false;
  bool has_data_ = false;
  bool prev_cr_ = false;
  void end_line() noexcept;
};

struct Exchange {
  static constexpr std::size_t kMaxField = 2048;      // method, authority, path, content types: cut past it
  static constexpr std::size_t kMaxKeptBody = 64 * 1024;  // request body kept for inspection, never reported

  std::string method;
  std::string authority;  // Host (or the absolute target's host)
  std::string path;       // the request target as sent
  std::string request_content_type;
  std::string request_content_encoding;
  std::string response_content_type;
  std::string response_content_encoding;
  std::uint16_t status = 0;  // 0: no response seen
  std::uint64_t request_body_bytes = 0;   // after chunked framing is removed, before content decoding
  std::uint64_t response_body_bytes = 0;
  bool upgrade = false;                   // 101 Switching Protocols (WebSocket)
  bool request_complete = false;
  bool response_complete = false;
  std::vector<std::uint8_t> request_body;  // the first kMaxKeptBody bytes, content-decoded where it was coded
  bool request_body_cut = false;
  // After content decoding; equal to the body bytes when there is no coding, the bytes decoded so
  // far when decoding stopped (the state says why).
  std::uint64_t request_body_decoded_bytes = 0;
  std::uint64_t response_body_decoded_bytes = 0;
  DecodeState request_decoding = DecodeState::kIdentity;
  DecodeState response_decoding = DecodeState::kIdentity;
  bool event_stream = false;  // the response is text/event-stream
  SseCounter sse;
  // WebSocket: the request asked to upgrade to it; after a 101, the messages of the connection.
  bool websocket = false;
  std::string websocket_extensions;  // the server's Sec-WebSocket-Extensions
  WebSocketStats ws;                 // zero unless the upgrade happened
  std::vector<std::string> ws_client_messages;  // inflated, bounded (WebSocketReader::kMaxKept); never reported
  // The request's header fields as sent (pseudo-headers excluded; names lower-cased), kept for the
  // inspection of what left (cookies, identifiers in headers), never reported: at most
  // kMaxKeptHeaders fields and kMaxKeptHeaderBytes of names and values; request_headers_cut
  // counts the fields not kept.
  static constexpr std::size_t kMaxKeptHeaders = 64;
  static constexpr std::size_t kMaxKeptHeaderBytes = 8 * 1024;
  std::vector<std::pair<std::string, std::string>> request_headers;
  std::size_t request_header_bytes = 0;
  std::uint32_t request_headers_cut = 0;
  void keep_request_header(std::string_view name, std::string_view value);
  // What left in this request (analysis/inspect/inspector.h), filled when the flow's exchanges are
  // reported; prompt_bytes: the prompt text sent to a catalog AI service's chat endpoint.
  static constexpr std::size_t kMaxFindings = 256;
  std::vector<inspect::Finding> findings;
  std::uint32_t findings_dropped = 0;
  std::uint64_t prompt_bytes = 0;
  std::string chat_service;  // the catalog service id of the chat endpoint, "" when none

  // One decoded field of an HTTP/2 or HTTP/3 header block (names are lowercase there): the fields
  // a report needs (:method, :path, :authority or host, :status, content type and coding), cut at
  // kMaxField. Called for the request's block and for the response's first final one only.
  void header_field(bool request, std::string_view name, std::string_view value);

  // The body handling of every framing (HTTP/1.x, HTTP/2, HTTP/3): `dec` is the body's decoder slot, kept
  // by the connection while the body is read (an Exchange stays a plain value that reports copy).
  // The message head is complete: set up content decoding and event counting from its headers.
  void body_begin(bool request, std::unique_ptr<ContentDecoder>& dec);
  // Body bytes as framed by HTTP (chunked framing removed, DATA frame payloads).
  void body_bytes(bool request, std::span<const std::uint8_t> bytes, std::unique_ptr<ContentDecoder>& dec,
                  KeepBudget& budget);
  // The message ended (or its stream did); frees the decoder.
  void body_end(bool request, std::unique_ptr<ContentDecoder>& dec);
};

class Http1Connection {
 public:
  static constexpr std::size_t kMaxExchanges = 1024;  // per connection; later ones are counted only

  Http1Connection();
  ~Http1Connection();
  Http1Connection(const Http1Connection&) = delete;
  Http1Connection& operator=(const Http1Connection&) = delete;

  // Bytes in stream order from the client (requests) or the server (responses).
  void on_bytes(bool from_client, std::span<const std::uint8_t> bytes);

  // The exchanges, with what a WebSocket carried so far moved into the one that upgraded.
  [[nodiscard]] std::vector<Exchange>& exchanges() noexcept {
    flush_websocket();
    return exchanges_;
  }
  [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_; }
  // Why a direction stopped: "" while it reads; "malformed", "upgrade" (the bytes after are not
  // HTTP/1.x: WebSocket frames, HTTP/2 after h2c), "limit".
  [[nodiscard]] const char* stopped(bool from_client) const noexcept { return stopped_[from_client ? 0 : 1]; }
  // Nothing more to read in either direction: both stopped, and no WebSocket is being followed.
  [[nodiscard]] bool finished() const noexcept {
    if (ws_) return *ws_->stats().stopped != '\0';
    return *stopped_[0] != '\0' && *stopped_[1] != '\0';
  }

  struct Parsers;  // libhttp-parser state, kept out of this header

 private:
  friend struct Callbacks;
  std::unique_ptr<Parsers> parsers_;
  std::vector<Exchange> exchanges_;
  std::unique_ptr<ContentDecoder> decoders_[2];  // of the message being read in each direction
  KeepBudget keep_;
  // After a WebSocket upgrade: the frames of both directions, for the exchange that upgraded; the
  // client's first frames may come before the 101 is read (kept until then, bounded).
  std::unique_ptr<WebSocketReader> ws_;
  std::size_t ws_exchange_ = 0;
  std::vector<std::uint8_t> ws_pending_;
  void websocket_bytes(bool from_client, std::span<const std::uint8_t> bytes);
  void flush_websocket() noexcept;
  std::size_t next_response_ = 0;  // index of the exchange the next response answers
  std::uint64_t dropped_ = 0;
  const char* stopped_[2] = {"", ""};
};

}  // namespace flowaudit::analysis::http
