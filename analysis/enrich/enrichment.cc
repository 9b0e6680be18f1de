#include "analysis/enrich/enrichment.h"

#include <fmt/format.h>

#include "analysis/enrich/compiled_catalog.h"

namespace flowaudit::analysis::enrich {

bool Enricher::open(const std::vector<std::string>& geoip_dbs, const std::vector<std::string>& catalogs,
                    std::vector<std::string>& errors, std::vector<std::string>& warnings) {
  const std::size_t errors_before = errors.size();
  std::vector<std::string> dbs = geoip_dbs;
  const bool explicit_dbs = !dbs.empty();
  if (!explicit_dbs) dbs = find_default_databases();
  for (const auto& path : dbs) {
    if (auto err = geo_.add_database(path)) {
      // A database the user named must work; a broken default one is a warning.
      (explicit_dbs ? errors : warnings).push_back(*err);
    }
  }
  if (geo_.databases().empty() && !explicit_dbs) {
    warnings.push_back("no geolocation database found: countries and ASNs are unknown (run scripts/fetch-geodb, "
                       "or pass --geoip-db)");
  }

  std::vector<CatalogError> catalog_errors;
  std::vector<std::filesystem::path> files;
  const auto dir = find_data_dir();
  if (dir) files = catalog_files(*dir);
  if (files.empty()) {
    // Without the catalog every operator and jurisdiction is unknown, and a policy on them passes
    // by default: an error, unless the user brings a catalog of their own.
    const std::string missing = "no built-in service catalog found (looked in " + data_dir_searched() + ")";
    if (catalogs.empty()) {
      errors.push_back(missing + "; set FLOWAUDIT_DATA_DIR or pass --catalog FILE");
    } else {
      warnings.push_back(missing + ": only the --catalog files name operators");
    }
  }
  if (!files.empty() || !catalogs.empty()) {
    // The built-in files compiled when catalog.bin is current (compiled_catalog.h), the user's as YAML.
    std::optional<ServiceCatalog> catalog;
    if (!files.empty()) {
      catalog = load_builtin_catalog(*dir, files, catalog_errors, warnings);
    } else {
      catalog.emplace();
    }
    if (catalog) {
      for (const auto& c : catalogs) catalog->add_file(c, Layer::kUser, catalog_errors);
    }
    for (const auto& e : catalog_errors) errors.push_back(e.to_string());
    if (catalog && catalog_errors.empty()) catalog_ = std::make_shared<const ServiceCatalog>(std::move(*catalog));
  }
  return errors.size() == errors_before;
}

std::shared_ptr<const Service> Enricher::shared(const Service* s) const {
  if (s == nullptr) return nullptr;
  return std::shared_ptr<const Service>(catalog_, s);
}

DestinationEnrichment Enricher::describe(const core::IpAddress& ip, std::string_view hostname) {
  DestinationEnrichment e;
  e.geo = geo_.lookup(ip);
  if (catalog_) {
    if (!hostname.empty()) {
      e.service = shared(catalog_->match(hostname));
      if (e.service != nullptr) e.service_match = "hostname";
    }
    if (e.service == nullptr) {
      e.service = shared(catalog_->match(ip));
      if (e.service != nullptr) e.service_match = "address";
    }
  }
  return e;
}

DestinationEnrichment Enricher::enrich(const flow::Destination& d) {
  DestinationEnrichment e = describe(d.ip, d.hostname);
  // The best name may be unknown to the catalog while another name of the same server is.
  if (e.service == nullptr || e.service_match == "address") {
    for (const auto& n : d.names) {
      if (n.name == d.hostname || catalog_ == nullptr) continue;
      if (const Service* s = catalog_->match(n.name)) {
        e.service = shared(s);
        e.service_match = "name";
        break;
      }
    }
  }
  return e;
}

}  // namespace flowaudit::analysis::enrich
