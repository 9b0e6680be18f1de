#include "analysis/app/dns/dns_handler.h"

#include <array>
#include <limits>
#include <string>

namespace flowaudit::analysis::dns {
namespace {

constexpr std::uint16_t kDnsPort = 53;
constexpr std::uint16_t kMdnsPort = 5353;   // RFC 6762
constexpr std::uint16_t kLlmnrPort = 5355;  // RFC 4795
constexpr std::uint16_t kNetbiosNamePort = 137;

bool either(const app::ProbeInput& in, std::uint16_t port) noexcept {
  return in.server_port == port || in.client_port == port;
}

// The root is "." in the report, as dig and tshark write it ("" would read as "no name"). A name
// not read whole keeps what was read ("" when that is nothing: not the root).
std::string presentation(const QuestionName& n, NameError e) {
  return n.length == 0 && e == NameError::kNone ? std::string(".") : std::string(n.view());
}

void set_question(app::DnsRecord& r, const QuestionName& name, const QuestionName& as_sent, NameError e,
                  std::uint16_t qtype) {
  std::array<char, 16> scratch{};
  r.query = presentation(name, e);
  r.query_as_sent.clear();
  if (as_sent.view() != name.view()) r.query_as_sent = presentation(as_sent, e);
  r.name_error = name_error_text(e);
  r.qtype = std::string(type_name(qtype, scratch));
}

void fill_question(app::DnsRecord& r, const Message& m, const flow::Flow& f) {
  std::array<char, 16> scratch{};
  if (m.question_read) {  // no question (QDCOUNT 0): no name, not the root
    set_question(r, m.qname, m.qname_as_sent, m.qname_error, m.qtype);
  } else {
    r.qtype = std::string(type_name(m.qtype, scratch));
  }
  const std::uint16_t ports[2] = {f.key.port[0], f.key.port[1]};
  if (ports[0] == kMdnsPort || ports[1] == kMdnsPort) {
    r.local = "mdns";
  } else if (ports[0] == kLlmnrPort || ports[1] == kLlmnrPort) {
    r.local = "llmnr";
  }
}

}  // namespace

app::Claim DnsHandler::on_port(const app::ProbeInput& in) noexcept {
  const bool dns = either(in, kDnsPort) || either(in, kMdnsPort) || either(in, kLlmnrPort);
  return dns ? app::Claim::kYes : app::Claim::kNo;
}

app::Claim DnsHandler::looks_like_dns(const app::ProbeInput& in) {
  // NetBIOS Name Service (RFC 1002) uses DNS's message format with names in its own encoding
  // ("ecemffefedeb..."): it parses, but it is not DNS, and its names are not destinations.
  if (either(in, kNetbiosNamePort)) return app::Claim::kNo;
  thread_local Message m;
  const bool dns = in.payload.size() >= 12 && parse_message(in.payload, m) == app::ParseStatus::kOk &&
                   m.opcode == 0 && m.question_count == 1 && m.qname.length > 0;
  return dns ? app::Claim::kYes : app::Claim::kNo;
}

// A message past the flow's limit is not read, and the flow says so: the queries after it (which
// may carry data in their names) are unseen. A flow of exactly the limit is not marked.
bool DnsHandler::count_message(app::AppContext& ctx, const flow::Flow& f) {
  if (messages_ >= ctx.config.max_dns_messages_per_flow) {
    ctx.inspection_limit(f, app::InspectionLimit::kDnsMessages);
    return false;
  }
  ++messages_;
  return true;
}

void DnsHandler::on_datagram(app::AppContext& ctx, flow::Flow& f, std::uint8_t /*sender*/,
                             std::span<const std::uint8_t> payload, core::TimestampNs ts) {
  if (!count_message(ctx, f)) {
    app::done(f);
    return;
  }
  message(ctx, f, payload, ts, false);
}

void DnsHandler::on_stream(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender,
                           std::span<const std::uint8_t> bytes) {
  const auto result = framing_[sender].feed(bytes, [&](std::span<const std::uint8_t> m) {
    if (!count_message(ctx, f)) return false;
    message(ctx, f, m, f.last_seen, true);
    return true;
  });
  if (result != TcpFraming::Result::kMore) app::done(f);
}

// The client's direction stopped at the byte budget or the reordering limit: its later queries
// are unseen. The server's direction stopping loses answers only (a zone transfer passes the
// budget as a matter of course); the flows those answers would have named stay visible, unnamed.
void DnsHandler::on_stream_stopped(app::AppContext& ctx, flow::Flow& f, std::uint8_t sender,
                                   app::InspectionLimit which) {
  if (sender == f.client) ctx.inspection_limit(f, which);
}

void DnsHandler::message(app::AppContext& ctx, const flow::Flow& f, std::span<const std::uint8_t> bytes,
                         core::TimestampNs ts, bool tcp) {
  Message& m = *ctx.message;
  const app::ParseStatus status = parse_message(bytes, m);
  // A message cut short (snap length) or with a record that cannot be read still says what was
  // asked and the answers read before the problem; the broken one is counted.
  if (status == app::ParseStatus::kMalformed) ++ctx.stats.dns_malformed;
  if (status != app::ParseStatus::kOk && !m.question_read) {
    if (status == app::ParseStatus::kNeedMore) ++ctx.stats.dns_malformed;
    return;
  }
  std::deque<app::DnsRecord>& records = ctx.dns;
  std::array<char, 16> scratch{};
  // A new record of this message, or null past --max-dns-records (counted).
  const auto open_record = [&]() -> app::DnsRecord* {
    if (!ctx.dns_record_room()) {
      ++ctx.stats.dns_records_dropped;
      return nullptr;
    }
    app::DnsRecord& r = records.emplace_back();
    r.flow_id = f.id;
    r.packet = ctx.packet;
    r.ts_ns = ts;
    r.transport = tcp ? "tcp" : "udp";
    r.server = f.key.addr[f.server()];
    r.client = f.key.addr[f.client];
    r.client_port = f.key.port[f.client];
    r.server_port = f.key.port[f.server()];
    return &r;
  };
  if (!m.response) {
    const std::size_t index = records.size();
    app::DnsRecord* r = open_record();
    if (r == nullptr) return;
    fill_question(*r, m, f);
    if (index <= std::numeric_limits<std::uint32_t>::max()) {
      if (pending_.size() == pending_.capacity()) {  // forget the oldest unanswered query
        for (std::size_t i = 1; i < pending_.size(); ++i) pending_[i - 1] = pending_[i];
        pending_.clear_last();
      }
      pending_.push_back({static_cast<std::uint32_t>(index), m.id});
    }
    // Each further question (mDNS asks several names in one query) is a record of its own, so
    // every name asked is in the report; answers match the first one by ID only.
    for (const auto& q : m.more_questions) {
      if (!ctx.dns_record_room()) {
        ++ctx.stats.dns_records_dropped;
        return;
      }
      app::DnsRecord more = records.back();
      set_question(more, q.name, q.as_sent, q.error, q.qtype);
      records.push_back(std::move(more));
    }
    return;
  }
  // A question not read whole is no name to give the flows its answers point at.
  if (m.qname_error == NameError::kNone) ctx.add_names(m, ts);
  app::DnsRecord* r = nullptr;
  std::size_t first = records.size();  // the record of the first question
  for (std::size_t i = 0; i < pending_.size(); ++i) {
    if (pending_[i].id != m.id) continue;
    // A response whose question is not its query's (spoofed, or a broken server) answers another
    // name: a record of its own, so that both names are in the report; the query still waits.
    if (m.question_read && records[pending_[i].record].query != presentation(m.qname, m.qname_error)) continue;
    first = pending_[i].record;
    r = &records[first];
    pending_[i] = pending_[pending_.size() - 1];
    pending_.clear_last();
    break;
  }
  if (r == nullptr) {
    r = open_record();
    if (r == nullptr) return;
    fill_question(*r, m, f);
  }
  const std::string rcode(rcode_name(m.rcode, scratch));
  r->rcode = rcode;
  r->answers.clear();
  r->svcb.clear();
  for (const auto& a : m.answers) {
    switch (a.type) {
      case rr::kA:
      case rr::kAaaa:
        r->answers.push_back(a.address.to_string());
        break;
      case rr::kCname:
      case rr::kPtr:
        r->answers.emplace_back(a.target.view());
        break;
      case rr::kSvcb:
      case rr::kHttps: {
        app::SvcbAnswer svc;
        svc.priority = a.svc_priority;
        svc.target = a.target.length == 0 ? std::string(".") : std::string(a.target.view());
        svc.ech = a.ech;
        for (const auto& h : a.hints) svc.hints.push_back(h.to_string());
        r->ech = r->ech || a.ech;
        r->svcb.push_back(std::move(svc));
        break;
      }
      default:
        break;
    }
  }
  // The response's further questions that its query did not ask (the query's records follow the
  // first one's): a record each, with the response's rcode, so no name in the message is unseen.
  for (std::size_t k = 0; k < m.more_questions.size(); ++k) {
    const auto& q = m.more_questions[k];
    const std::size_t asked = first + 1 + k;
    if (asked < records.size() && records[asked].flow_id == f.id && records[asked].ts_ns == records[first].ts_ns &&
        records[asked].query == presentation(q.name, q.error)) {
      continue;
    }
    app::DnsRecord* more = open_record();
    if (more == nullptr) return;
    more->local = records[first].local;
    set_question(*more, q.name, q.as_sent, q.error, q.qtype);
    more->rcode = rcode;
  }
}

}  // namespace flowaudit::analysis::dns
