// Bindings of the condition language's fields to the audit result: one Record type per scope. A
// record is re-pointed at each destination, flow or DNS query in turn (no allocation per record,
// except the few strings the TLS and DNS views have to build).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "analysis/audit.h"
#include "rules/lang/compiler.h"

namespace flowaudit::rules::eval {

// Every record can say which of its fields have a value (a superset is allowed, never a subset), so
// the evaluator can skip the rules that cannot match it (lang::Predicate::may_match).

class CaptureRecord final : public lang::Record {
 public:
  explicit CaptureRecord(const analysis::AuditResult& result) noexcept;
  [[nodiscard]] std::optional<lang::Value> get(lang::FieldId field) const override;
  [[nodiscard]] lang::FieldSet presence() const noexcept;

 private:
  const analysis::AuditResult& r_;
  bool complete_ = true;
};

class DestinationRecord final : public lang::Record {
 public:
  explicit DestinationRecord(const CaptureRecord& capture) noexcept : capture_(capture) {}
  void bind(const analysis::DestinationRow& destination) noexcept { d_ = &destination; }
  [[nodiscard]] std::optional<lang::Value> get(lang::FieldId field) const override;
  // Asks every destination field (call once per destination and keep the answer).
  [[nodiscard]] lang::FieldSet presence() const;

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
};

// One reconstructed HTTP request of a flow; the rest of its fields are its flow's (bound by the caller).
class RequestRecord final : public lang::Record {
 public:
  explicit RequestRecord(const FlowRecord& flow) noexcept : flow_(flow) {}
  void bind(const analysis::http::Exchange& exchange, std::string_view scheme) noexcept {
    e_ = &exchange;
    scheme_ = scheme;
  }
  [[nodiscard]] std::optional<lang::Value> get(lang::FieldId field) const override;
  // `flow` is the presence of the request's flow.
  [[nodiscard]] lang::FieldSet presence(lang::FieldSet flow) const noexcept;

 private:
  const FlowRecord& flow_;
  const analysis::http::Exchange* e_ = nullptr;
  std::string_view scheme_;
};

// "tcp", "udp" or the protocol number as text.
[[nodiscard]] std::string_view transport_name(std::uint8_t protocol) noexcept;

}  // namespace flowaudit::rules::eval
