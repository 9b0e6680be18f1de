#include "report/csv_report.h"

#include <fmt/format.h>

#include <map>
#include <tuple>

#include "analysis/app/tls/client_hello.h"
#include "core/redact.h"
#include "core/timestamp.h"
#include "core/utf8.h"
#include "rules/eval/records.h"

namespace flowaudit::report {
namespace {

constexpr std::string_view kHeader =
    "id,first_seen,last_seen,transport,client_ip,client_port,server_ip,server_port,hostname,hostname_source,"
    "app_protocol,encrypted,blind_spot,tls_version,tls_cipher,sni,ja3,ja4,http_method,http_host,http_path,"
    "packets_out,packets_in,bytes_out,bytes_in,geo_country,asn,as_org,service_id,operator,jurisdiction";

class Row {
 public:
  explicit Row(std::string& line) : line_(line) {}
  void cell(std::string_view v) {
    if (!first_) line_.push_back(',');
    first_ = false;
    append_csv_cell(line_, v);
  }
  void number(std::uint64_t v) { cell(fmt::format("{}", v)); }
  void time(core::TimestampNs ns) {
    if (ns == 0) {
      cell("");
      return;
    }
    core::Iso8601Buffer buf;
    cell(std::string_view(buf.data(), core::format_iso8601(ns, buf)));
  }

 private:
  std::string& line_;
  bool first_ = true;
};

using DestinationKey = std::tuple<core::IpAddress, std::uint16_t, std::uint8_t>;

}  // namespace

void write_csv(const ReportInput& input, const ReportOptions& options, Output& out) {
  const analysis::AuditResult& r = input.result;
  std::map<DestinationKey, std::size_t> destination_of;
  for (std::size_t i = 0; i < r.destinations.size(); ++i) {
    const auto& d = r.destinations[i];
    destination_of.emplace(DestinationKey{d.ip, d.port, d.protocol}, i);
  }
  std::string line;
  line.reserve(1024);
  line.append(kHeader);
  line.append("\r\n");
  out.write(line);
  for (const analysis::FlowRow& f : r.flows) {
    const analysis::app::FlowDetails* d = f.app_details();
    const analysis::app::FlowName& name = f.name;
    const analysis::app::TlsDetails* tls = d != nullptr ? d->tls.get() : nullptr;
    const analysis::app::HttpDetails* http = d != nullptr ? d->http.get() : nullptr;
    line.clear();
    Row row(line);
    row.number(f.id);
    row.time(f.first_seen());
    row.time(f.last_seen);
    row.cell(rules::eval::transport_name(f.key.protocol));
    row.cell(f.key.addr[f.client].to_string());
    row.number(f.key.port[f.client]);
    row.cell(f.key.addr[f.server()].to_string());
    row.number(f.key.port[f.server()]);
    row.cell(name.hostname);
    row.cell(name.source);
    row.cell(d != nullptr ? analysis::app::to_string(d->app) : "");
    const int encrypted = analysis::app::encrypted(d);
    row.cell(encrypted < 0 ? "" : encrypted == 1 ? "true" : "false");
    row.cell(d != nullptr ? analysis::app::to_string(d->blind_spot) : "");
    const bool server_hello = tls != nullptr && tls->server_hello;
    row.cell(server_hello ? std::string(analysis::tls::version_name(tls->version)) : std::string());
    row.cell(server_hello ? std::string(analysis::tls::cipher_name(tls->cipher)) : std::string());
    row.cell(tls != nullptr && tls->has_sni ? tls->sni : std::string_view());
    row.cell(tls != nullptr ? tls->ja3 : std::string_view());
    row.cell(tls != nullptr ? tls->ja4 : std::string_view());
    row.cell(http != nullptr ? http->method : std::string_view());
    row.cell(http != nullptr ? http->host : std::string_view());
    row.cell(http != nullptr ? core::redact_target(http->path, options.redact) : std::string());
    row.number(f.out().packets);
    row.number(f.in().packets);
    row.number(f.out().bytes);
    row.number(f.in().bytes);
    const analysis::enrich::DestinationEnrichment* e = nullptr;
    if (const auto it = destination_of.find(DestinationKey{f.key.addr[f.server()], f.key.port[f.server()], f.key.protocol});
        it != destination_of.end() && r.destinations[it->second].enrichment) {
      e = &*r.destinations[it->second].enrichment;
    }
    row.cell(e != nullptr ? std::string_view(e->geo.country) : std::string_view());
    row.cell(e != nullptr && e->geo.asn != 0 ? fmt::format("{}", e->geo.asn) : std::string());
    row.cell(e != nullptr ? std::string_view(e->geo.as_org) : std::string_view());
    const analysis::enrich::Service* s = e != nullptr ? e->service.get() : nullptr;
    row.cell(s != nullptr ? std::string_view(s->id) : std::string_view());
    row.cell(s != nullptr ? std::string_view(s->operator_name) : std::string_view());
    row.cell(s != nullptr ? std::string_view(s->jurisdiction) : std::string_view());
    line.append("\r\n");
    out.write(line);
  }
}

}  // namespace flowaudit::report
