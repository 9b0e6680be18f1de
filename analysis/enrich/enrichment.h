// Where and whose: every destination gets the geolocation of its address (country, ASN, AS
// organisation, from the MMDB databases) and the service that its names or address belong to
// (operator and the operator's jurisdiction, from the catalog). Both answers side by side: a US CDN
// edge serving a CN operator is the case that matters most.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analysis/enrich/geo_lookup.h"
#include "analysis/enrich/service_catalog.h"
#include "analysis/flow/destinations.h"

namespace flowaudit::analysis::enrich {

struct DestinationEnrichment {
  GeoInfo geo;
  const Service* service = nullptr;  // points into the catalog, which outlives the report
  std::string service_match;         // "hostname", "name" (another name seen), "address"; empty: none
};

// Geolocation databases and the catalog for one audit.
class Enricher {
 public:
  // Databases: the explicit ones, else every *.mmdb in the default data directory. Catalog: the
  // built-in files, then the user's (which may override entries by id). Errors are one line each.
  bool open(const std::vector<std::string>& geoip_dbs, const std::vector<std::string>& catalogs,
            std::vector<std::string>& errors, std::vector<std::string>& warnings);

  [[nodiscard]] std::vector<DestinationEnrichment> enrich(const std::vector<flow::Destination>& destinations);
  [[nodiscard]] DestinationEnrichment describe(const core::IpAddress& ip, std::string_view hostname);

  [[nodiscard]] GeoLookup& geo() noexcept { return geo_; }
  [[nodiscard]] const ServiceCatalog* catalog() const noexcept { return catalog_ ? &*catalog_ : nullptr; }

 private:
  GeoLookup geo_;
  std::optional<ServiceCatalog> catalog_;
};

}  // namespace flowaudit::analysis::enrich
