// For the importer tests: the catalog a data folder compiles to, asked which service a host matches.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "analysis/enrich/service_catalog.h"

namespace flowaudit::e2e {

class CatalogIds {
 public:
  // Loads data's catalog; a catalog that does not load fails the test (its errors are printed).
  explicit CatalogIds(const std::filesystem::path& data) {
    std::vector<analysis::enrich::CatalogError> errors;
    catalog_ = analysis::enrich::ServiceCatalog::load_default(data, errors);
    for (const auto& e : errors) MESSAGE(e.to_string());
    REQUIRE(catalog_.has_value());
  }
  // The id of the service `host` matches, "-" for none.
  std::string operator()(const char* host) const {
    const auto* s = catalog_->match(host);
    return s == nullptr ? std::string("-") : s->id;
  }
  [[nodiscard]] const analysis::enrich::ServiceCatalog& catalog() const { return *catalog_; }

 private:
  std::optional<analysis::enrich::ServiceCatalog> catalog_;
};

}  // namespace flowaudit::e2e
