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
  DestinationRecord(const analysis::AuditResult& result, const CaptureRecord& capture) noexcept
      : r_(result), capture_(capture) {}
  void bind(std::size_t destination) noexcept { index_ = destination; }
  [[nodiscard]] std::optional<lang::Value> get(lang::FieldId field) const override;
  // Asks every destination field (call once per destination and keep the answer).
  [[nodiscard]] lang::FieldSet presence() const;

 private:
  const analysis::AuditResult& r_;
  const CaptureRecord& capture_;
  std::size_t index_ = 0;
};

class FlowRecord final : public lang::Record {
 public:
  FlowRecord(const analysis::AuditResult& result, const DestinationRecord& destination) noexcept
      : r_(result), destination_(destination) {}
  // `destination_index` must be the destination the flow belongs to (the DestinationRecord given to
  // the constructor is bound to it by the caller).
  void bind(std::size_t flow) noexcept;
  [[nodiscard]] std::optional<lang::Value> get(lang::FieldId field) const override;
  // From the flow's details, without asking each field; `destination` is the presence of the
  // flow's destination.
  [[nodiscard]] lang::FieldSet presence(lang::FieldSet destination) const noexcept;

 private:
  const analysis::AuditResult& r_;
  const DestinationRecord& destination_;
  std::size_t index_ = 0;
  const analysis::app::FlowDetails* details_ = nullptr;
  mutable std::optional<std::string> version_;  // built on first use
  mutable std::optional<std::string> cipher_;
  mutable std::optional<std::string> client_version_;
};

class DnsQueryRecord final : public lang::Record {
 public:
  DnsQueryRecord(const analysis::AuditResult& result, const CaptureRecord& capture) noexcept
      : r_(result), capture_(capture) {}
  void bind(std::size_t query) noexcept;
  [[nodiscard]] std::optional<lang::Value> get(lang::FieldId field) const override;
  [[nodiscard]] lang::FieldSet presence() const noexcept;

 private:
  const analysis::AuditResult& r_;
  const CaptureRecord& capture_;
  std::size_t index_ = 0;
  mutable std::string answers_;  // joined with core::kListSeparator, on first use
  mutable bool answers_built_ = false;
};

// "tcp", "udp" or the protocol number as text.
[[nodiscard]] std::string_view transport_name(std::uint8_t protocol) noexcept;

}  // namespace flowaudit::rules::eval
