#include "analysis/app/http/http_handler.h"

#include <algorithm>

#include "analysis/app/http/http_request.h"

namespace flowaudit::analysis::http {
namespace {

// The blank line that ends an HTTP head lies in buf at or after `from` (it may begin before).
bool head_ends(const std::vector<std::uint8_t>& buf, std::size_t from) noexcept {
  for (std::size_t i = std::max<std::size_t>(from, 1); i < buf.size(); ++i) {
    if (buf[i] != '\n') continue;
    if (buf[i - 1] == '\n' || (buf[i - 1] == '\r' && i >= 2 && buf[i - 2] == '\n')) return true;
  }
  return false;
}

}  // namespace

app::Claim HttpHandler::claims(const app::ProbeInput& in) noexcept {
  if (!in.from_client) return app::Claim::kNo;
  switch (request_start(in.payload)) {
    case app::ParseStatus::kOk: return app::Claim::kYes;
    case app::ParseStatus::kNeedMore: return app::Claim::kNeedMore;
    default: return app::Claim::kNo;
  }
}

void HttpHandler::on_stream(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender,
                            std::span<const std::uint8_t> bytes) {
  const bool head_bytes = sender == f.client && !head_done_;
  const std::size_t old = head_.size();
  if (head_bytes) {
    const std::size_t room = kMaxHeaderBytes - std::min(old, kMaxHeaderBytes);
    head_.insert(head_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(std::min(room, bytes.size())));
  }
  if (!head_done_ && !exchanges_) exchanges_ = std::make_unique<Http1Connection>();
  if (exchanges_) {
    exchanges_->on_bytes(sender == f.client, bytes);
    // Both directions stopped (an Upgrade, bytes that are not HTTP/1.x): nothing more to read.
    if (exchanges_->finished()) {
      if (head_bytes) head(ctx, f, app::InspectionLimit::kNone);
      finish(ctx, f);
      return;
    }
  }
  if (!head_bytes) return;
  // Parsed once, when the head is complete or the limit is reached, not once per segment.
  if (head_.size() < kMaxHeaderBytes && !head_ends(head_, old)) return;
  head(ctx, f, app::InspectionLimit::kNone);
}

void HttpHandler::on_stream_stopped(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender,
                                    app::InspectionLimit which) {
  // Past the head, a direction cut by the byte budget or a gap ends what the exchanges can read;
  // what was read is reported (an exchange not read to its end is not complete).
  if (sender == f.client && !head_done_) head(ctx, f, which);
  finish(ctx, f);
}

void HttpHandler::on_retire(app::AppContext& ctx, flow::Flow& f) {
  if (!head_done_ && !head_.empty()) head(ctx, f, app::InspectionLimit::kNone);
  finish(ctx, f);
}

std::uint64_t HttpHandler::stream_budget(const app::AppContext& ctx) const noexcept {
  return head_done_ && exchanges_ ? ctx.config.tcp_decrypt_bytes : ctx.config.tcp_inspect_bytes;
}

void HttpHandler::finish(app::AppContext& ctx, flow::Flow& f) {
  app::done(f);
  if (!exchanges_) return;
  const std::uint64_t dropped = exchanges_->dropped();
  report_exchanges(ctx, f, "http", std::move(exchanges_->exchanges()), dropped);
  exchanges_.reset();
}

void report_exchanges(app::AppContext& ctx, const flow::Flow& f, std::string_view scheme, std::vector<Exchange>&& list,
                      std::uint64_t dropped) {
  if (list.empty()) return;
  app::FlowDetails& d = ctx.details_for(f);
  d.requests = std::make_unique<app::HttpExchanges>();
  d.requests->scheme = scheme;
  d.requests->list = std::move(list);
  d.requests->dropped = dropped;
  if (ctx.config.inspector) {
    const std::string device[] = {f.key.addr[f.client].to_string()};
    if (!ctx.config.inspector->inspect_flow(d.requests->list, device)) {
      ctx.inspection_limit(f, app::InspectionLimit::kInspectionBudget);
    }
  }
  bool bomb = false;
  for (const Exchange& e : d.requests->list) {
    bomb = bomb || e.request_decoding == DecodeState::kLimit;
    if (e.request_body_cut) ++ctx.stats.request_bodies_cut;
  }
  if (bomb) ctx.inspection_limit(f, app::InspectionLimit::kContentDecoding);
}

// The client's request head as far as it arrived. `cut` (not kNone): its direction stopped at that
// limit before the head was complete. A head cut by a limit is still reported with what
// was read (method, target, Host when it came before the limit), so the plaintext rules see it.
void HttpHandler::head(app::AppContext& ctx, flow::Flow& f, app::InspectionLimit cut) {
  head_done_ = true;
  // The exchanges read on past the head while the connection speaks HTTP/1.x.
  if (!exchanges_ || cut != app::InspectionLimit::kNone) app::done(f);
  if (head_.empty()) {
    if (cut != app::InspectionLimit::kNone) ctx.inspection_limit(f, cut);
    return;
  }
  Request req;
  const app::ParseStatus st = parse_request(head_, req);
  if (st == app::ParseStatus::kMalformed) ++ctx.stats.http_malformed;
  // A valid request line followed by a broken header (obs-fold, a line without a colon) was
  // still sent in plaintext, and some servers accept it: it is reported, as far as it was read.
  if (req.method.empty()) {
    if (cut != app::InspectionLimit::kNone) ctx.inspection_limit(f, cut);
    return;
  }
  if (st == app::ParseStatus::kLimit) {
    ctx.inspection_limit(f, req.header_count == kMaxHeaders ? app::InspectionLimit::kHttpHeadLines
                                                            : app::InspectionLimit::kHttpHeadBytes);
  } else if (cut != app::InspectionLimit::kNone && st == app::ParseStatus::kNeedMore) {
    ctx.inspection_limit(f, cut);
  }
  app::FlowDetails& d = ctx.details_for(f);
  if (!d.http) d.http = std::make_unique<app::HttpDetails>();
  app::HttpDetails& h = *d.http;
  core::StringPool& strings = *ctx.strings;
  h.method = strings.intern(req.method);
  h.host = strings.intern(req.host);
  h.path = strings.intern(req.target);
  h.user_agent = strings.intern(req.user_agent);
  h.content_type = strings.intern(req.content_type);
  h.content_length = req.content_length;
  h.requests = 1;
}

}  // namespace flowaudit::analysis::http
