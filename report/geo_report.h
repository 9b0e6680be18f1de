// What `flowaudit geo` prints, and the geo/service parts of the audit reports.
#pragma once

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "analysis/enrich/enrichment.h"
#include "report/json_writer.h"
#include "report/output.h"

namespace flowaudit::report {

using GeoAnswers = std::vector<std::pair<core::IpAddress, analysis::enrich::DestinationEnrichment>>;

// `flowaudit geo`: what an audit would attach to each address, and the databases asked.
struct GeoInput {
  const GeoAnswers& answers;
  std::span<const analysis::enrich::GeoDatabaseInfo> databases;
};

void write_geo_json(const GeoInput& input, Output& out);
void write_geo_text(const GeoInput& input, Output& out);

// The "geo" and "service" objects of a destination (null when nothing is known).
void write_geo_fields(JsonWriter& w, const analysis::enrich::DestinationEnrichment& e);
// "geoip_databases": each database used, its build date and the attribution its licence asks for.
void write_database_list(JsonWriter& w, std::span<const analysis::enrich::GeoDatabaseInfo> databases);

}  // namespace flowaudit::report
