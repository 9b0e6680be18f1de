#include "analysis/inspect/inspector.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "analysis/app/http/http1_connection.h"
#include "analysis/app/http/http_request.h"
#include "analysis/inspect/fields.h"

namespace flowaudit::analysis::inspect {

namespace {

// A canary's value as a report shows it: its first two bytes, the rest starred.
std::string mask_canary(std::string_view v) {
  std::string out(v.substr(0, 2));
  out += "***";
  return out;
}

std::string join_encoding(std::string_view inner, std::string_view outer) {
  if (inner.empty()) return std::string(outer);
  if (outer.empty()) return std::string(inner);
  return std::string(inner) + " in " + std::string(outer);
}

}  // namespace

// Receives the fields of one request's places and turns what the detectors and canaries find into
// findings on the exchange.
class Inspector::Sink final : public FieldSink {
 public:
  Sink(const Inspector& in, http::Exchange& e, const DetectContext& ctx, const ChatEndpoint* chat)
      : in_(in), findings_(e.findings), dropped_(e.findings_dropped), prompt_bytes_(e.prompt_bytes), max_(http::Exchange::kMaxFindings),
        ctx_(ctx), chat_(chat) {}
  // A name's findings (no chat endpoint, no prompt).
  Sink(const Inspector& in, std::vector<Finding>& out, std::uint32_t& dropped, std::uint64_t& unused_prompt,
       std::size_t max, const DetectContext& ctx)
      : in_(in), findings_(out), dropped_(dropped), prompt_bytes_(unused_prompt), max_(max), ctx_(ctx), chat_(nullptr) {}

  void on_field(const Field& f) override {
    hits_.clear();
    in_.detectors_.scan(f.name, f.value, ctx_, hits_);
    for (const Hit& h : hits_) {
      const std::string_view v = f.value.substr(h.begin, h.end - h.begin);
      add(to_string(h.type), f.path, in_.options_.redact ? mask(h.type, v) : std::string(v), f.decoding, h.detector);
    }
    if (in_.canaries_ && in_.canaries_->size() > 0) {
      canary_hits_.clear();
      in_.canaries_->scan(f.value, canary_hits_);
      for (const CanaryHit& c : canary_hits_) {
        const std::string_view value = in_.canaries_->value(c.canary);
        add("canary", f.path, in_.options_.redact ? mask_canary(value) : std::string(value),
            join_encoding(c.chain, f.decoding), "canary");
      }
    }
    if (chat_ != nullptr) {
      for (const std::string& pointer : chat_->prompt) {
        if (!pointer_matches(pointer, f.path)) continue;
        prompt_bytes_ += f.value.size();
        if (!prompt_reported_) {
          prompt_reported_ = true;
          prompt_index_ = findings_.size();
          add("prompt", f.path, "", f.decoding, "chat-endpoint");
        }
        break;
      }
    }
  }

  void on_object(std::string_view path, std::span<const NamedScalar> members) override {
    hits_.clear();
    in_.detectors_.scan_object(members, hits_);
    for (const Hit& h : hits_) {
      if (h.member >= members.size()) continue;
      const NamedScalar& m = members[h.member];
      std::string field(path);
      field += '.';
      field += m.name;
      const std::string_view v = m.value.substr(std::min(h.begin, m.value.size()),
                                                h.end > h.begin ? h.end - h.begin : 0);
      add(to_string(h.type), field, in_.options_.redact ? mask(h.type, v) : std::string(v), "", h.detector);
    }
  }

  // The prompt finding's value is its size, known once every field was seen.
  void finish() {
    if (prompt_reported_ && prompt_index_ < findings_.size()) {
      findings_[prompt_index_].value = std::to_string(prompt_bytes_) + " bytes";
    }
  }

 private:
  void add(std::string_view type, std::string_view field, std::string value, std::string_view encoding,
           std::string_view detector) {
    // One finding per type, field and encoding: a value repeated in one field is one fact.
    for (const Finding& f : findings_) {
      if (f.type == type && f.field == field && f.encoding == encoding) return;
    }
    if (findings_.size() >= max_) {
      ++dropped_;
      return;
    }
    findings_.push_back(Finding{std::string(type), std::string(field), std::move(value), std::string(encoding),
                                  std::string(detector)});
  }

  const Inspector& in_;
  std::vector<Finding>& findings_;
  std::uint32_t& dropped_;
  std::uint64_t& prompt_bytes_;
  std::size_t max_;
  const DetectContext& ctx_;
  const ChatEndpoint* chat_;
  std::vector<Hit> hits_;
  std::vector<CanaryHit> canary_hits_;
  bool prompt_reported_ = false;
  std::size_t prompt_index_ = 0;
};

Inspector::Inspector(InspectOptions options, std::shared_ptr<const CanarySet> canaries,
                     std::shared_ptr<const ChatEndpoints> endpoints)
    : options_(std::move(options)), canaries_(std::move(canaries)), endpoints_(std::move(endpoints)) {}

Inspector::~Inspector() = default;

bool Inspector::inspect_flow(std::span<http::Exchange> exchanges, std::span<const std::string> device_addresses) {
  const std::lock_guard lock(mutex_);
  DetectContext ctx;
  ctx.device_region = options_.device_region;
  ctx.device_addresses = device_addresses;
  std::uint64_t flow_bytes = 0;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  for (http::Exchange& e : exchanges) {
    std::uint64_t size = e.path.size() + e.request_header_bytes + e.request_body.size();
    for (const std::string& m : e.ws_client_messages) size += m.size();
    if (flow_bytes + size > options_.max_bytes_per_flow || stats_.bytes + size > options_.max_bytes_per_run) {
      ++stats_.flows_cut;
      return false;
    }
    flow_bytes += size;
    stats_.bytes += size;
    ++stats_.requests;
    e.findings.clear();
    e.findings_dropped = 0;
    e.prompt_bytes = 0;
    const ChatEndpoint* chat = endpoints_ ? endpoints_->match(e.authority, e.method, e.path) : nullptr;
    e.chat_service = chat != nullptr ? chat->service : std::string();
    Sink sink(*this, e, ctx, chat);
    auto walked = [&](const WalkStats& s) {
      if (s.cut) ++stats_.walks_cut;
    };
    walked(walk_target(e.path, sink));
    // The Host (or :authority) is a place too: identifiers and canaries ride in subdomains.
    if (!e.authority.empty()) walked(walk_dns_name(http::authority_host(e.authority), sink, {}, "host"));
    headers.clear();
    for (const auto& [name, value] : e.request_headers) headers.emplace_back(name, value);
    walked(walk_headers(headers, sink));
    if (!e.request_body.empty()) walked(walk_body(e.request_content_type, e.request_body, "body", sink));
    for (std::size_t i = 0; i < e.ws_client_messages.size(); ++i) {
      const std::string& m = e.ws_client_messages[i];
      const std::string prefix = "ws[" + std::to_string(i) + "]";
      walked(walk_body("", {reinterpret_cast<const std::uint8_t*>(m.data()), m.size()}, prefix, sink));
    }
    sink.finish();
    stats_.findings += e.findings.size();
  }
  return true;
}

bool Inspector::inspect_name(std::string_view place, std::string_view name, std::vector<Finding>& out) {
  const std::lock_guard lock(mutex_);
  if (stats_.bytes + name.size() > options_.max_bytes_per_run) {
    ++stats_.flows_cut;
    return false;
  }
  stats_.bytes += name.size();
  DetectContext ctx;
  ctx.device_region = options_.device_region;
  std::uint32_t dropped = 0;
  std::uint64_t unused_prompt = 0;
  Sink sink(*this, out, dropped, unused_prompt, kMaxNameFindings, ctx);
  if (walk_dns_name(name, sink, {}, place).cut) ++stats_.walks_cut;
  stats_.findings += out.size();
  return true;
}

}  // namespace flowaudit::analysis::inspect
