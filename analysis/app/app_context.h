// What the protocol handlers share: the analyzer's limits, counters and results, and the few
// helpers every handler needs. A handler (analysis/app/<protocol>/<protocol>_handler.h, see
// README.md in this folder) is per-flow state plus entry points that receive an AppContext; it
// reaches nothing else of the analyzer.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "analysis/app/dns/dns_message.h"
#include "analysis/app/dns/name_cache.h"
#include "analysis/app/flow_details.h"
#include "analysis/app/shard_sync.h"
#include "analysis/app/tls/certificate_cache.h"
#include "analysis/decrypt/key_log.h"
#include "analysis/flow/flow.h"
#include "analysis/inspect/inspector.h"
#include "core/string_pool.h"

namespace flowaudit::analysis::app {

struct AppConfig {
  std::uint64_t tcp_inspect_bytes = 32 * 1024;  // per direction
  std::size_t max_inspections = 1u << 16;      // flows inspected at the same time
  std::size_t max_dns_records = 1u << 18;
  // One flow's DNS messages. A stub resolver takes a new source port per query (RFC 5452), so a
  // fixed-port conversation is mDNS or a forwarder; mDNS sends a record at most once a second
  // (RFC 6762 section 6), so 65,536 messages is some 18 hours of it. Crossing the limit is an
  // inspection-limit blind spot (dns-messages): past it, queries would go unseen.
  std::size_t max_dns_messages_per_flow = 1u << 16;
  std::size_t max_quic_datagrams = 8;
  // TLS secrets (--keylog, the capture's Decryption Secrets Blocks); null when decryption was not
  // asked for. The session fills it as secrets arrive; handlers only read it.
  std::shared_ptr<decrypt::KeyLog> keys;
  bool decryption_asked = false;  // --keylog: a TLS flow without keys is a blind spot even if no key came
  // A pcapng input: its secrets blocks can come after the flows they open (`run` writes the key
  // log's lines as the command writes them, a moment after its first ClientHello). Such flows are
  // followed from their first bytes, waiting for keys within the decryptor's bounds.
  bool keys_may_follow = false;
  // Whether what decryption found counts: decryption was asked for, or some key came. A pcapng that
  // carried no secret at all reports its flows as without decryption, as before.
  [[nodiscard]] bool decryption_counts() const noexcept { return keys && (decryption_asked || !keys->empty()); }
  // Whether a new TLS or QUIC flow is followed for decryption: when it would count, or when keys
  // may still come.
  [[nodiscard]] bool follow_for_decryption() const noexcept { return decryption_counts() || (keys && keys_may_follow); }
  // Per direction of a TLS flow being decrypted: past it the rest is not read, and the flow is an
  // inspection-limit blind spot (tcp-budget).
  std::uint64_t tcp_decrypt_bytes = 64ULL << 20;
  // What left in each reconstructed request (personal data, canaries, prompts); null: not inspected.
  // Shared by the analyzer's handlers; its byte budget and counters are the run's.
  std::shared_ptr<inspect::Inspector> inspector;
  // --threads N: this analyzer is worker `shard_index` of the audit, and the DNS name cache is the
  // one in `shard`, filled in packet order (shard_sync.h). Null: one thread, the cache is its own.
  std::shared_ptr<ShardSync> shard;
  std::size_t shard_index = 0;
};

// Malformed input and crossed limits are counted here, never thrown.
struct AppStats {
  std::uint64_t inspections_skipped = 0;  // max_inspections reached
  std::uint64_t dns_records_dropped = 0;  // max_dns_records reached
  std::uint64_t dns_malformed = 0;
  std::uint64_t tls_malformed = 0;
  std::uint64_t http_malformed = 0;
  std::uint64_t proxy_malformed = 0;     // a CONNECT or SOCKS handshake that does not parse
  std::uint64_t starttls_malformed = 0;  // a STARTTLS exchange that does not parse
  std::uint64_t tcp_gaps = 0;  // a stream could not be put in order within the limits
  std::uint64_t inspection_limits = 0;  // a limit stopped a parser before it had what it needs
  std::uint64_t tls_decrypted = 0;      // TLS flows whose records were opened with the key log
  std::uint64_t request_bodies_cut = 0; // request bodies kept only in part (http::KeepBudget, kMaxKeptBody)
};

// The first bytes of a flow (first datagram, or first bytes in stream order), for the handlers'
// claim functions. Over TCP they may be only the first few bytes so far.
struct ProbeInput {
  std::span<const std::uint8_t> payload;
  std::uint16_t client_port;
  std::uint16_t server_port;
  bool from_client;
};

// A claim function's answer. kNeedMore: these bytes are a proper prefix of what the handler would
// take, so only more bytes can tell (a TCP client may send its first byte alone). Over UDP a
// datagram is all there is, and kNeedMore counts as kNo. A claim decides within kProbeBytes.
enum class Claim : std::uint8_t { kNo, kYes, kNeedMore };
inline constexpr std::size_t kProbeBytes = 16;

// Flow::app_state values.
inline constexpr std::uint8_t kStateNew = 0;
inline constexpr std::uint8_t kStateInspecting = 1;
inline constexpr std::uint8_t kStateDone = 2;

// Marks the flow finished: it gets no more bytes, and its handler state is dropped once the
// entry point that said so has returned.
inline void done(flow::Flow& f) noexcept { f.app_state = kStateDone; }
[[nodiscard]] inline bool is_done(const flow::Flow& f) noexcept { return f.app_state == kStateDone; }

struct AppContext {
  explicit AppContext(AppConfig c);

  // Created on first use: a flow has details only when something was learned about it.
  FlowDetails& details_for(const flow::Flow& f) { return details[f.id]; }
  // The answers of a DNS response into the name cache (the shared one with --threads, in packet
  // order).
  void add_names(const dns::Message& m, core::TimestampNs ts) {
    if (config.shard) {
      config.shard->add_response(config.shard_index, packet, m, ts);
    } else {
      names.add_response(m, ts);
    }
  }
  // Room for one more DNS record in the log (--max-dns-records, one budget for all workers).
  [[nodiscard]] bool dns_record_room() noexcept {
    return config.shard ? config.shard->take_dns_record(config.max_dns_records) : dns.size() < config.max_dns_records;
  }
  [[nodiscard]] const dns::NameCache& name_cache() const noexcept {
    return config.shard ? config.shard->cache() : names;
  }
  // A limit stopped a parser before it had what the audit needs: the flow is an inspection-limit
  // blind spot (the first limit crossed is the one named).
  void inspection_limit(const flow::Flow& f, InspectionLimit which);

  AppConfig config;
  AppStats stats;
  std::unordered_map<std::uint64_t, FlowDetails> details;
  // A deque: the log only grows, and a vector moved every record (six strings and vectors each) and
  // faulted in fresh pages at each doubling (3-4% of a whole audit of a DNS-heavy mix, issue 18).
  std::deque<DnsRecord> dns;
  dns::NameCache names;  // unused with --threads (config.shard's)
  std::uint64_t packet = 0;  // the number of the packet being read (1-based), for DnsRecord::packet
  std::unique_ptr<dns::Message> message;  // reused: a DNS message is large
  std::shared_ptr<core::StringPool> strings;  // owns the strings the details point to
  tls::CertificateCache certificates;
};

}  // namespace flowaudit::analysis::app
