// Internal to the catalog loader: reads a `companies:` list and resolves each company's group.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/enrich/catalog_yaml.h"
#include "analysis/enrich/service_catalog.h"

namespace flowaudit::analysis::enrich::detail {

// Known companies by id (those loaded before, and those of the file being read).
using CompanyLookup = std::function<const Company*(std::string_view id)>;

// Reads `list` into `out`: checks each entry, rejects an id that `known` already has or that the
// list repeats, and sets every entry's group from its parent chain (parents may come later in the
// same list). `budget` is how many more companies the catalog may take. Errors go to `diag`.
void read_companies(const YAML::Node& list, const std::string& file, const CompanyLookup& known,
                    std::size_t budget, std::vector<Company>& out, Diagnostics& diag);

// Fills a service's operator, jurisdiction, parent and parent_jurisdiction from company `id`; checks
// that an operator or jurisdiction the entry also wrote matches. `mark` places the errors.
bool resolve_company(Service& s, const YAML::Mark& mark, bool wrote_operator, bool wrote_jurisdiction,
                     bool wrote_parent, const CompanyLookup& known, Diagnostics& diag);

}  // namespace flowaudit::analysis::enrich::detail
