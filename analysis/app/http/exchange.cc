// Bodies of an HTTP exchange, whatever framed them (HTTP/1.x, HTTP/2, HTTP/3): counted on the
// wire, content-decoded within ContentDecoder's limits, the request's kept (decoded) for inspection,
// the response's event stream counted.
#include <algorithm>
#include <atomic>
#include <string_view>

#include "analysis/app/http/http1_connection.h"
#include "analysis/app/http/http_request.h"

namespace flowaudit::analysis::http {
namespace {

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::atomic<std::uint64_t> g_run_kept{0};

void keep_request(Exchange& e, std::span<const std::uint8_t> bytes, KeepBudget& budget) {
  const std::size_t room = Exchange::kMaxKeptBody - std::min(Exchange::kMaxKeptBody, e.request_body.size());
  const std::size_t keep = budget.take(std::min(room, bytes.size()));
  e.request_body.insert(e.request_body.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(keep));
  if (keep < bytes.size()) e.request_body_cut = true;
}

void on_decoded(Exchange& e, bool request, std::span<const std::uint8_t> bytes, KeepBudget& budget) {
  if (request) {
    e.request_body_decoded_bytes += bytes.size();
    keep_request(e, bytes, budget);
  } else {
    e.response_body_decoded_bytes += bytes.size();
    if (e.event_stream) e.sse.feed(bytes);
  }
}

}  // namespace

std::size_t KeepBudget::take(std::size_t n) noexcept {
  const std::uint64_t flow_room = kPerFlow - std::min(kPerFlow, flow_kept);
  std::uint64_t want = std::min<std::uint64_t>(n, flow_room);
  // The run's budget is shared by every connection (and, later, every worker thread).
  std::uint64_t kept = g_run_kept.load(std::memory_order_relaxed);
  for (;;) {
    const std::uint64_t run_room = kPerRun - std::min(kPerRun, kept);
    const std::uint64_t got = std::min(want, run_room);
    if (got == 0) return 0;
    if (g_run_kept.compare_exchange_weak(kept, kept + got, std::memory_order_relaxed)) {
      flow_kept += got;
      return static_cast<std::size_t>(got);
    }
  }
}

void SseCounter::end_line() noexcept {
  if (col_ == 0) {  // a blank line dispatches the event, if it had data
    if (has_data_) {
      ++events;
      data_bytes += pending_;
    }
    has_data_ = false;
    pending_ = 0;
  } else if (data_line_ || (col_ == 4 && std::string_view(prefix_, 4) == "data")) {
    has_data_ = true;  // "data" alone is a data line with an empty value
  }
  col_ = 0;
  data_line_ = false;
}

void SseCounter::feed(std::span<const std::uint8_t> bytes) noexcept {
  for (const std::uint8_t b : bytes) {
    if (b == '\n' && prev_cr_) {  // the LF of a CRLF: the line ended at the CR
      prev_cr_ = false;
      continue;
    }
    prev_cr_ = b == '\r';
    if (b == '\r' || b == '\n') {
      end_line();
      continue;
    }
    if (col_ < 5) {
      prefix_[col_] = static_cast<char>(b);
      if (col_ == 4 && std::string_view(prefix_, 5) == "data:") data_line_ = true;
    } else if (data_line_ && !(col_ == 5 && b == ' ')) {
      ++pending_;  // the value, after the one optional space
    }
    if (col_ < 0xffffffffu) ++col_;
  }
}

void Exchange::keep_request_header(std::string_view name, std::string_view value) {
  if (!name.empty() && name[0] == ':') return;  // pseudo-headers are the exchange's own fields
  if (request_headers.size() >= kMaxKeptHeaders ||
      request_header_bytes + name.size() + value.size() > kMaxKeptHeaderBytes) {
    ++request_headers_cut;
    return;
  }
  std::string lower(name);
  for (char& c : lower) c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  request_header_bytes += name.size() + value.size();
  request_headers.emplace_back(std::move(lower), std::string(value));
}

void Exchange::header_field(bool request, std::string_view name, std::string_view value) {
  auto capped = [](std::string_view v) { return std::string(v.substr(0, kMaxField)); };
  if (request) keep_request_header(name, value);
  if (request) {
    if (name == ":method") method = capped(value);
    else if (name == ":path") path = capped(value);
    else if (name == ":authority") authority = capped(value);
    else if (name == "host" && authority.empty()) authority = capped(value);
    else if (name == "content-type") request_content_type = capped(value);
    else if (name == "content-encoding") request_content_encoding = capped(value);
  } else if (name == ":status") {
    unsigned v = 0;
    for (const char c : value) v = c >= '0' && c <= '9' && v < 1000 ? v * 10 + static_cast<unsigned>(c - '0') : 1000;
    status = v < 1000 ? static_cast<std::uint16_t>(v) : 0;
  } else if (name == "content-type") {
    response_content_type = capped(value);
  } else if (name == "content-encoding") {
    response_content_encoding = capped(value);
  }
}

void Exchange::body_begin(bool request, std::unique_ptr<ContentDecoder>& dec) {
  dec = ContentDecoder::make(request ? request_content_encoding : response_content_encoding);
  DecodeState& st = request ? request_decoding : response_decoding;
  st = dec ? dec->state() : DecodeState::kIdentity;
  if (!request) event_stream = starts_with_icase(response_content_type, "text/event-stream");
}

void Exchange::body_bytes(bool request, std::span<const std::uint8_t> bytes, std::unique_ptr<ContentDecoder>& slot,
                          KeepBudget& budget) {
  (request ? request_body_bytes : response_body_bytes) += bytes.size();
  ContentDecoder* dec = slot.get();
  if (dec == nullptr) {
    on_decoded(*this, request, bytes, budget);
    return;
  }
  if (dec->state() != DecodeState::kDecoding) return;
  struct Ctx {
    Exchange* e;
    bool request;
    KeepBudget* budget;
  } ctx{this, request, &budget};
  dec->feed(bytes, [](void* c, std::span<const std::uint8_t> out) {
    auto* x = static_cast<Ctx*>(c);
    on_decoded(*x->e, x->request, out, *x->budget);
  }, &ctx);
  (request ? request_decoding : response_decoding) = dec->state();
}

void Exchange::body_end(bool request, std::unique_ptr<ContentDecoder>& dec) {
  if (!dec) return;
  DecodeState& st = request ? request_decoding : response_decoding;
  if ((request ? request_body_bytes : response_body_bytes) == 0) {
    st = DecodeState::kIdentity;  // a coding named on a message without a body (304, HEAD): nothing to decode
  } else {
    dec->finish();
    st = dec->state();
  }
  dec.reset();
}

}  // namespace flowaudit::analysis::http
