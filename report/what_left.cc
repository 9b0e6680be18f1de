#include "report/what_left.h"

#include <algorithm>
#include <array>
#include <map>
#include <optional>

#include "analysis/app/flow_details.h"
#include "report/json_writer.h"

namespace flowaudit::report {
namespace {

constexpr std::array<std::string_view, 14> kTypeOrder = {
    "email",    "phone",      "imei",         "meid", "advertising-id", "device-id", "mac-address",
    "ip-address", "location", "payment-card", "iban", "fingerprint",    "canary",    "prompt"};

// Rank in kTypeOrder; unknown types after every known one (then by name).
std::size_t rank(std::string_view type) {
  const auto it = std::find(kTypeOrder.begin(), kTypeOrder.end(), type);
  return static_cast<std::size_t>(it - kTypeOrder.begin());
}

bool type_before(std::string_view a, std::string_view b) {
  const std::size_t ra = rank(a);
  const std::size_t rb = rank(b);
  return ra != rb ? ra < rb : a < b;
}

// A field path or encoding, cut at kWhatLeftMaxText bytes without splitting a UTF-8 character.
std::string bounded(std::string_view s) {
  if (s.size() <= kWhatLeftMaxText) return std::string(s);
  std::size_t end = kWhatLeftMaxText;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return std::string(s.substr(0, end)) + "...";
}

// Adds `item` to a bounded list of distinct strings; false when it is not (and cannot be) listed.
bool add_distinct(std::vector<std::string>& list, std::string item, std::size_t max) {
  if (std::find(list.begin(), list.end(), item) != list.end()) return true;
  if (list.size() >= max) return false;
  list.push_back(std::move(item));
  return true;
}

WhatLeftType* type_of(WhatLeftRow& row, std::string_view type) {
  for (auto& t : row.types) {
    if (t.type == type) return &t;
  }
  if (row.types.size() >= kWhatLeftMaxTypes) return nullptr;
  row.types.push_back(WhatLeftType{std::string(type), 0, {}, 0, {}, 0, 0});
  return &row.types.back();
}

struct Place {
  std::string name;
  const analysis::enrich::Service* service = nullptr;
};

Place place_of(const analysis::AuditResult& r, const analysis::FlowRow& f, std::size_t dest) {
  if (dest != analysis::kNoDestination && dest < r.destinations.size()) {
    const analysis::DestinationRow& d = r.destinations[dest];
    Place p;
    if (!d.hostname.empty()) {
      p.name = d.hostname;
    } else if (d.address_known) {
      p.name = d.ip.to_string();
    } else {
      p.name = d.requested_host;
    }
    if (d.enrichment && d.enrichment->service) p.service = d.enrichment->service.get();
    if (!p.name.empty()) return p;
  }
  // A flow past --max-destinations: its own name, else its server's address.
  return Place{f.name.hostname.empty() ? f.key.addr[f.server()].to_string() : std::string(f.name.hostname), nullptr};
}

}  // namespace

std::span<const std::string_view> what_left_type_order() noexcept { return kTypeOrder; }

const WhatLeftType* WhatLeftRow::find(std::string_view type) const noexcept {
  for (const auto& t : types) {
    if (t.type == type) return &t;
  }
  return nullptr;
}

std::string_view what_left_nothing_inspected() noexcept {
  return "Nothing was inspected: no HTTP request was reconstructed, so what the app sent is unknown, not "
         "absent. Inspection needs the TLS keys (--keylog FILE, or a pcapng with its decryption secrets) or "
         "plaintext HTTP.";
}

std::string what_left_law(const WhatLeftRow& row) {
  std::string out = row.jurisdiction;
  if (!row.parent_jurisdiction.empty() && row.parent_jurisdiction != row.jurisdiction) {
    out += (out.empty() ? "group " : ", group ") + row.parent_jurisdiction;
  }
  return out;
}

WhatLeft what_left(const analysis::AuditResult& r) {
  WhatLeft out;
  out.flow_records_dropped = r.caps.flow_records_dropped;
  out.undecrypted_flows = r.coverage.encrypted_flows - std::min(r.coverage.encrypted_flows, r.coverage.decrypted_flows);
  std::map<std::string, WhatLeftRow> rows;  // by destination name: the reports' order
  std::map<std::string, std::uint64_t> not_listed;  // rows past the cap: their findings
  const std::vector<std::size_t> dests = analysis::flow_destinations(r);
  for (std::size_t i = 0; i < r.flows.size(); ++i) {
    const analysis::FlowRow& f = r.flows[i];
    const analysis::app::FlowDetails* d = f.app_details();
    if (d == nullptr) continue;
    if (d->blind_spot == analysis::app::BlindSpot::kInspectionLimit &&
        d->limit == analysis::app::InspectionLimit::kInspectionBudget) {
      ++out.uninspected_flows;
    }
    if (!d->requests || d->requests->list.empty()) continue;
    ++out.flows;
    out.requests += d->requests->list.size();
    std::optional<Place> place;  // looked up for the first request that left something
    for (const analysis::http::Exchange& e : d->requests->list) {
      if (e.findings.empty() && e.prompt_bytes == 0 && e.findings_dropped == 0) continue;
      if (!place) place = place_of(r, f, dests[i]);
      auto it = rows.find(place->name);
      if (it == rows.end()) {
        if (rows.size() >= kWhatLeftMaxRows) {
          not_listed[place->name] += e.findings.size();
          continue;
        }
        WhatLeftRow row;
        row.destination = place->name;
        it = rows.emplace(place->name, std::move(row)).first;
      }
      WhatLeftRow& row = it->second;
      if (row.service_id.empty() && place->service != nullptr) {
        const analysis::enrich::Service& s = *place->service;
        row.service_id = s.id;
        row.service_name = s.name;
        row.operator_name = s.operator_name;
        row.jurisdiction = s.jurisdiction;
        row.parent = s.parent;
        row.parent_jurisdiction = s.parent_jurisdiction;
      }
      row.plaintext = row.plaintext || d->requests->scheme == "http";
      ++row.requests;
      row.findings_dropped += e.findings_dropped;
      for (const analysis::inspect::Finding& x : e.findings) {
        WhatLeftType* t = type_of(row, x.type);
        if (t == nullptr) continue;  // past kWhatLeftMaxTypes: only unknown types can be
        ++t->findings;
        ++row.findings;
        if (!add_distinct(t->fields, bounded(x.field), kWhatLeftMaxFields)) ++t->fields_not_listed;
        if (!x.encoding.empty() && !add_distinct(t->encodings, bounded(x.encoding), kWhatLeftMaxEncodings)) {
          ++t->encodings_not_listed;
        }
      }
      // Prompt bytes are counted even when the prompt finding itself was past kMaxFindings.
      if (e.prompt_bytes > 0) {
        if (WhatLeftType* t = type_of(row, "prompt")) t->bytes += e.prompt_bytes;
      }
    }
  }
  out.rows_not_listed = not_listed.size();
  for (const auto& [name, n] : not_listed) out.findings_not_listed += n;
  out.rows.reserve(rows.size());
  std::vector<std::string> types;
  for (auto& [name, row] : rows) {
    std::stable_sort(row.types.begin(), row.types.end(),
                     [](const WhatLeftType& a, const WhatLeftType& b) { return type_before(a.type, b.type); });
    for (const auto& t : row.types) {
      if (std::find(types.begin(), types.end(), t.type) == types.end()) types.push_back(t.type);
    }
    out.rows.push_back(std::move(row));
  }
  std::sort(types.begin(), types.end(), [](const std::string& a, const std::string& b) { return type_before(a, b); });
  out.types = std::move(types);
  return out;
}

// "What left" (report/what_left.h): per destination, the kinds of data its requests carried, with
// fields, encodings and counts, never a value. `requests` 0 means nothing was inspected (no keys,
// no plaintext HTTP): rows then say nothing about what left.
void write_what_left_json(JsonWriter& w, const WhatLeft& wl, std::string_view key) {
  w.key(key);
  w.begin_object();
  w.field("inspected", wl.inspected());
  w.field("requests", wl.requests);
  w.field("flows", wl.flows);
  w.field("uninspected_flows", wl.uninspected_flows);
  w.field("undecrypted_flows", wl.undecrypted_flows);
  w.field("flow_records_dropped", wl.flow_records_dropped);
  string_array(w, "types", wl.types);
  w.key("rows");
  w.begin_array();
  for (const WhatLeftRow& row : wl.rows) {
    w.begin_object();
    w.field("destination", row.destination);
    if (row.service_id.empty()) {
      w.null_field("service");
    } else {
      w.key("service");
      w.begin_object();
      w.field("id", row.service_id);
      w.field("name", row.service_name);
      w.field("operator", row.operator_name);
      w.field("jurisdiction", row.jurisdiction);
      w.string_or_null("parent", row.parent);
      w.string_or_null("parent_jurisdiction", row.parent_jurisdiction);
      w.end_object();
    }
    w.field("plaintext", row.plaintext);
    w.field("requests", row.requests);
    w.field("findings", row.findings);
    w.field("findings_dropped", row.findings_dropped);
    w.key("types");
    w.begin_array();
    for (const WhatLeftType& t : row.types) {
      w.begin_object();
      w.field("type", t.type);
      w.field("findings", t.findings);
      string_array(w, "fields", t.fields);
      w.field("fields_not_listed", t.fields_not_listed);
      string_array(w, "encodings", t.encodings);
      w.field("encodings_not_listed", t.encodings_not_listed);
      if (t.type == "prompt") w.field("bytes", t.bytes);
      w.end_object();
    }
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.field("rows_not_listed", wl.rows_not_listed);
  w.field("findings_not_listed", wl.findings_not_listed);
  w.end_object();
}

}  // namespace flowaudit::report
