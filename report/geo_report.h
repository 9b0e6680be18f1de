// What `flowaudit geo` prints, and the geo/service parts of the audit reports.
#pragma once

#include <cstdio>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "analysis/enrich/enrichment.h"
#include "report/json_writer.h"

namespace flowaudit::rules::report {

using GeoAnswers = std::vector<std::pair<core::IpAddress, analysis::enrich::DestinationEnrichment>>;

void write_geo_json(const GeoAnswers& answers, std::span<const analysis::enrich::GeoDatabaseInfo> databases,
                    std::FILE* out);
std::string render_geo_text(const GeoAnswers& answers, std::span<const analysis::enrich::GeoDatabaseInfo> databases);

// The "geo" and "service" objects of a destination (null when nothing is known).
void write_geo_fields(JsonWriter& w, const analysis::enrich::DestinationEnrichment& e);
// "geoip_databases": each database used, its build date and the attribution its licence asks for.
void write_database_list(JsonWriter& w, std::span<const analysis::enrich::GeoDatabaseInfo> databases);

}  // namespace flowaudit::rules::report
