// Where and whose: every destination gets the geolocation of its address (country, ASN, AS
// organisation, from the MMDB databases) and the service that its names or address belong to
// (operator and the operator's jurisdiction, from the catalog). Both answers side by side: a US CDN
// edge serving a CN operator is the case that matters most.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analysis/enrich/geo_lookup.h"
#include "analysis/enrich/service_catalog.h"
#include "analysis/flow/destinations.h"

namespace flowaudit::analysis::enrich {

struct DestinationEnrichment {
  GeoInfo geo;
  // Shares the catalog (an aliasing pointer: one reference count, no copy of the entry), so the
  // result outlives the Enricher safely and entries still compare by address.
  std::shared_ptr<const Service> service;
  std::string service_match;         // "hostname", "name" (another name seen), "address"; empty: none
};

// Geolocation databases and the catalog for one audit.
class Enricher {
 public:
  // Databases: the explicit ones, else every *.mmdb in the default data directory. Catalog: the
  // built-in files, then the user's (which may override entries by id). Errors are one line each.
  bool open(const std::vector<std::string>& geoip_dbs, const std::vector<std::string>& catalogs,
            std::vector<std::string>& errors, std::vector<std::string>& warnings);

  // A destination of an audit: its best name first, then (when that names no service or only
  // its address does) the other names it was seen with.
  [[nodiscard]] DestinationEnrichment enrich(const flow::Destination& destination);
  // An address and a name, as known while a capture runs.
  [[nodiscard]] DestinationEnrichment describe(const core::IpAddress& ip, std::string_view hostname);

  [[nodiscard]] GeoLookup& geo() noexcept { return geo_; }
  [[nodiscard]] const ServiceCatalog* catalog() const noexcept { return catalog_.get(); }

 private:
  GeoLookup geo_;
  std::shared_ptr<const ServiceCatalog> catalog_;  // shared with every enrichment that names a service
  [[nodiscard]] std::shared_ptr<const Service> shared(const Service* s) const;
};

}  // namespace flowaudit::analysis::enrich
