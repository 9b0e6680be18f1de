// Bindings of the condition language's fields to the audit result: one Record type per scope. A
// record is re-pointed at each destination, flow or DNS query in turn (no allocation per record,
// except the few strings the TLS and DNS views have to build).
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/audit.h"
#include "rules/lang/compiler.h"

namespace flowaudit::rules::eval {

// Every record can say which of its fields have a value (a superset is allowed, never a subset), so
// the evaluator can skip the rules that cannot match it (lang::Predicate::may_match).

class CaptureRecord final : public lang::Record {
 public:
  explicit CaptureRecord(const analysis::AuditResult& result);
  [[nodiscard]] std::optional<lang::Value> get(lang::FieldId field) const override;
  [[nodiscard]] lang::FieldSet presence() const noexcept;
  // service.ai_operator: whether `operator_name` runs an AI service the capture sent prompts to
  // (or, when no prompt was seen, any AI service it talked to). Decided once, in the constructor.
  [[nodiscard]] bool ai_operator(std::string_view operator_name) const noexcept;
  [[nodiscard]] const analysis::AuditResult& result() const noexcept { return r_; }

 private:
  const analysis::AuditResult& r_;
  bool complete_ = true;
  std::vector<std::string_view> ai_operators_;  // into the result's services, sorted
};

// The fields of what left (lang::Scope::kContent: pii.*, canary.*, data.evidence) over one list of
// findings: a request's, or a name's (analysis::NameFindings). Lists are joined with
// core::kListSeparator on first use.
class ContentLists {
 public:
  void bind(const std::vector<analysis::inspect::Finding>* findings) noexcept {
    f_ = findings;
    built_ = false;
  }
  [[nodiscard]] static bool is_content(lang::FieldId field) noexcept;
  // canary.found always has a value; the lists only when there are findings (a superset).
  [[nodiscard]] lang::FieldSet presence() const noexcept;
  [[nodiscard]] std::optional<lang::Value> get(lang::FieldId field) const;

 private:
  enum List : std::size_t { kPiiTypes, kPiiFields, kPiiEvidence, kCanaryEncodings, kCanaryFields, kCanaryEvidence, kDataEvidence, kLists };
  void build() const;

  const std::vector<analysis::inspect::Finding>* f_ = nullptr;
  mutable std::array<std::string, kLists> lists_;
  mutable bool built_ = false;
  mutable bool canary_found_ = false;
};

class DestinationRecord final : public lang::Record {
 public:
  explicit DestinationRecord(const CaptureRecord& capture) noexcept : capture_(capture) {}
  void bind(const analysis::DestinationRow& destination) noexcept { d_ = &destination; }
  [[nodiscard]] std::optional<lang::Value> get(lang::FieldId field) const override;
  // Asks every destination field (call once per destination and keep the answer).
  [[nodiscard]] lang::FieldSet presence() const;
  [[nodiscard]] const CaptureRecord& capture() const noexcept { return capture_; }

 private:
  const CaptureRecord& capture_;
  const analysis::DestinationRow* d_ = nullptr;
};

// A flow's fields are its own values (analysis/flow_values.h, named by the field table), the rest
// its destination's.
class FlowRecord final : public lang::Record {
 public:
  // The DestinationRecord is bound to the flow's destination by the caller.
  explicit FlowRecord(const DestinationRecord& destination) noexcept : destination_(destination) {}
  void bind(const analysis::FlowRow& flow) noexcept;
  [[nodiscard]] std::optional<lang::Value> get(lang::FieldId field) const override;
  // `destination` is the presence of the flow's destination.
  [[nodiscard]] lang::FieldSet presence(lang::FieldSet destination) const;

 private:
  const DestinationRecord& destination_;
  const analysis::FlowRow* f_ = nullptr;
  mutable std::optional<std::string> version_;  // built on first use
  mutable std::optional<std::string> cipher_;
  mutable std::optional<std::string> client_version_;
  ContentLists content_;  // findings in the flow's TLS/QUIC server name
};

class DnsQueryRecord final : public lang::Record {
 public:
  explicit DnsQueryRecord(const CaptureRecord& capture) noexcept : capture_(capture) {}
  void bind(const analysis::app::DnsRecord& query) noexcept;
  [[nodiscard]] std::optional<lang::Value> get(lang::FieldId field) const override;
  [[nodiscard]] lang::FieldSet presence() const noexcept;

 private:
  const CaptureRecord& capture_;
  const analysis::app::DnsRecord* q_ = nullptr;
  mutable std::string answers_;  // joined with core::kListSeparator, on first use
  mutable bool answers_built_ = false;
  ContentLists content_;  // findings in the query name
};

// One reconstructed HTTP request of a flow; the rest of its fields are its flow's (bound by the caller).
class RequestRecord final : public lang::Record {
 public:
  explicit RequestRecord(const FlowRecord& flow) noexcept : flow_(flow) {}
  void bind(const analysis::http::Exchange& exchange, std::string_view scheme) noexcept {
    e_ = &exchange;
    scheme_ = scheme;
    content_.bind(&exchange.findings);
  }
  [[nodiscard]] std::optional<lang::Value> get(lang::FieldId field) const override;
  // `flow` is the presence of the request's flow.
  [[nodiscard]] lang::FieldSet presence(lang::FieldSet flow) const noexcept;

 private:
  const FlowRecord& flow_;
  const analysis::http::Exchange* e_ = nullptr;
  std::string_view scheme_;
  ContentLists content_;
};

// "tcp", "udp" or the protocol number as text.
[[nodiscard]] std::string_view transport_name(std::uint8_t protocol) noexcept;

}  // namespace flowaudit::rules::eval
