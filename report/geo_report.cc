#include "report/geo_report.h"

#include <fmt/format.h>

namespace flowaudit::report {
void write_geo_fields(JsonWriter& w, const analysis::enrich::DestinationEnrichment& e) {
  w.key("geo");
  w.begin_object();
  w.string_or_null("country", e.geo.country);
  w.string_or_null("continent", e.geo.continent);
  w.string_or_null("city", e.geo.city);
  if (e.geo.asn != 0) {
    w.field("asn", e.geo.asn);
  } else {
    w.null_field("asn");
  }
  w.string_or_null("as_org", e.geo.as_org);
  w.string_or_null("special", analysis::enrich::special_range_name(e.geo.special));
  w.string_or_null("country_source", e.geo.country_source);
  w.string_or_null("asn_source", e.geo.asn_source);
  w.end_object();
  if (e.service == nullptr) {
    w.null_field("service");
    return;
  }
  w.key("service");
  w.begin_object();
  w.field("id", e.service->id);
  w.field("name", e.service->name);
  w.field("category", analysis::enrich::category_name(e.service->category));
  w.field("operator", e.service->operator_name);
  w.field("jurisdiction", e.service->jurisdiction);
  // Added with the company registry (issue 14): the group behind the operator, when there is one.
  w.string_or_null("company", e.service->company);
  w.string_or_null("parent", e.service->parent);
  w.string_or_null("parent_jurisdiction", e.service->parent_jurisdiction);
  w.field("matched_by", e.service_match);
  w.string_or_null("source", e.service->source);
  w.end_object();
}

void write_database_list(JsonWriter& w, std::span<const analysis::enrich::GeoDatabaseInfo> databases) {
  w.key("geoip_databases");
  w.begin_array();
  for (const auto& db : databases) {
    w.begin_object();
    w.field("path", db.path);
    w.field("database_type", db.database_type);
    w.string_or_null("build_date", db.build_date);
    w.string_or_null("description", db.description);
    w.string_or_null("attribution", db.attribution);
    w.end_object();
  }
  w.end_array();
}

void write_geo_json(const GeoInput& input, Output& out) {
  JsonWriter w(out);
  w.begin_object();
  w.field("schema", "flowaudit.geo/v1");
  w.key("addresses");
  w.begin_array();
  for (const auto& [ip, e] : input.answers) {
    w.begin_object();
    w.field("ip", ip.to_string());
    write_geo_fields(w, e);
    w.end_object();
  }
  w.end_array();
  write_database_list(w, input.databases);
  w.end_object();
}

void write_geo_text(const GeoInput& input, Output& output) {
  std::string out;
  for (const auto& [ip, e] : input.answers) {
    const auto special = analysis::enrich::special_range_name(e.geo.special);
    fmt::format_to(std::back_inserter(out), "{}\n", ip.to_string());
    if (!special.empty()) fmt::format_to(std::back_inserter(out), "  range         {}\n", special);
    fmt::format_to(std::back_inserter(out), "  country       {}{}\n", e.geo.country.empty() ? "-" : e.geo.country,
                   e.geo.city.empty() ? "" : " (" + e.geo.city + ")");
    if (e.geo.asn != 0) {
      fmt::format_to(std::back_inserter(out), "  asn           AS{} {}\n", e.geo.asn, e.geo.as_org);
    } else {
      fmt::format_to(std::back_inserter(out), "  asn           -\n");
    }
    if (e.service != nullptr) {
      fmt::format_to(std::back_inserter(out), "  service       {} ({}, {})\n  operator      {} [{}]\n", e.service->name,
                     e.service->id, analysis::enrich::category_name(e.service->category), e.service->operator_name,
                     e.service->jurisdiction);
      if (!e.service->parent.empty()) {
        fmt::format_to(std::back_inserter(out), "  group         {} [{}]\n", e.service->parent,
                       e.service->parent_jurisdiction.empty() ? "-" : e.service->parent_jurisdiction);
      }
    } else {
      fmt::format_to(std::back_inserter(out), "  service       -\n");
    }
  }
  for (const auto& db : input.databases) {
    fmt::format_to(std::back_inserter(out), "database: {} ({}, built {}){}\n", db.path, db.database_type,
                   db.build_date.empty() ? "?" : db.build_date,
                   db.attribution.empty() ? "" : " - " + db.attribution);
  }
  output.write(out);
}

}  // namespace flowaudit::report
