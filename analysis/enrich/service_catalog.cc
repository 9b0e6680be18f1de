#include "analysis/enrich/service_catalog.h"

#include <yaml-cpp/yaml.h>

#include "analysis/enrich/catalog_yaml.h"
#include "analysis/enrich/company_registry.h"
#include "core/input_file.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace flowaudit::analysis::enrich {
namespace {

using namespace detail;

struct CategoryName {
  Category category;
  std::string_view name;
};
constexpr std::array<CategoryName, 21> kCategoryNames{{
    {Category::kAiChat, "ai-chat"},
    {Category::kAiApi, "ai-api"},
    {Category::kAnalytics, "analytics"},
    {Category::kAttribution, "attribution"},
    {Category::kAds, "ads"},
    {Category::kApm, "apm"},
    {Category::kCrashReporting, "crash-reporting"},
    {Category::kFingerprinting, "fingerprinting"},
    {Category::kIdentity, "identity"},
    {Category::kTelemetry, "telemetry"},
    {Category::kFeatureFlags, "feature-flags"},
    {Category::kCustomerSupport, "customer-support"},
    {Category::kAntiBot, "anti-bot"},
    {Category::kPush, "push"},
    {Category::kPayments, "payments"},
    {Category::kCdn, "cdn"},
    {Category::kCloud, "cloud"},
    {Category::kDnsResolver, "dns-resolver"},
    {Category::kCompanyDomain, "company-domain"},
    {Category::kConsent, "consent"},
    {Category::kLocation, "location"},
}};

std::string category_list() {
  std::string out;
  for (const auto& c : kCategoryNames) {
    if (!out.empty()) out += ", ";
    out += c.name;
  }
  return out;
}

// FNV-1a over the name read from its end, so that the hash of every label suffix of a name comes
// out of one right-to-left pass.
constexpr std::uint64_t kFnvOffset = 14695981039346656037ull;
constexpr std::uint64_t kFnvPrime = 1099511628211ull;
constexpr std::uint64_t fnv_step(std::uint64_t h, char c) noexcept {
  return (h ^ static_cast<std::uint8_t>(c)) * kFnvPrime;
}
std::uint64_t reverse_hash(std::string_view s) noexcept {
  std::uint64_t h = kFnvOffset;
  for (std::size_t i = s.size(); i > 0; --i) h = fnv_step(h, s[i - 1]);
  return h;
}

}  // namespace

const char* detail::name_problem(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name.size() > kMaxHostnameLength) return "is longer than 253 characters";
  if (name.back() == '.') return "ends with a dot (write names without the trailing dot)";
  std::size_t labels = 0;
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t dot = std::min(name.find('.', start), name.size());
    const std::string_view label = name.substr(start, dot - start);
    if (label.empty()) return "has an empty label";
    if (label.size() > 63) return "has a label longer than 63 characters";
    if (label.front() == '-' || label.back() == '-') return "has a label starting or ending with '-'";
    for (const char c : label) {
      if (c >= 'A' && c <= 'Z') return "must be lower case";
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
        return "has a character other than a-z, 0-9, '-' and '_'";
      }
    }
    ++labels;
    start = dot + 1;
  }
  if (labels < 2) return "has a single label (a whole top-level domain is too broad)";
  return nullptr;
}

namespace {

struct Pending {
  Service service;
  YAML::Mark mark;
  YAML::Mark company_mark;
  bool wrote_operator = false;
  bool wrote_jurisdiction = false;
  bool wrote_parent = false;  // parent or parent_jurisdiction
  std::vector<YAML::Mark> key_marks;  // one per domain, host, cidr in that order
};

// Reads a list of names or CIDRs into `out` (strings); null means empty.
bool read_list(const YAML::Node& value, std::string_view key, std::size_t& budget,
               std::vector<std::pair<std::string, YAML::Mark>>& out, Diagnostics& diag) {
  if (value.IsNull()) return true;
  if (!value.IsSequence()) {
    diag.at(value, std::string(key) + " must be a list, e.g. " + std::string(key) + ": [example.com]");
    return false;
  }
  bool ok = true;
  for (const YAML::Node& item : value) {
    if (budget == 0) {
      diag.at(item, "too many domains, hosts and cidrs in one entry (limit " +
                        std::to_string(kMaxNamesPerService) + ")");
      return false;
    }
    --budget;
    if (!item.IsScalar()) {
      diag.at(item, std::string(key) + " items must be strings");
      ok = false;
      continue;
    }
    // Checked before copying: an alias can repeat one long scalar thousands of times.
    if (item.Scalar().size() > kMaxHostnameLength) {
      diag.at(item, std::string(key) + " item " + shown(item.Scalar()) + " is longer than 253 characters");
      ok = false;
      continue;
    }
    out.emplace_back(item.Scalar(), item.Mark());
  }
  return ok;
}

bool parse_entry(const YAML::Node& entry, const std::string& file, Pending& p, Diagnostics& diag) {
  if (!entry.IsMap()) {
    diag.at(entry, "a service entry must be a mapping with id, name, category, operator, jurisdiction, "
                   "domains/hosts/cidrs and source");
    return false;
  }
  const std::size_t errors_before = diag.count();
  Service& s = p.service;
  s.file = file;
  s.line = entry.Mark().line + 1;
  p.mark = entry.Mark();
  std::size_t budget = kMaxNamesPerService;
  std::vector<std::pair<std::string, YAML::Mark>> domains, hosts, cidrs;
  std::unordered_set<std::string> seen;
  bool has_id = false;

  for (const auto& kv : entry) {
    // Copies: yaml-cpp's iterator hands out a temporary pair, and references into it dangle.
    const YAML::Node k = kv.first;
    const YAML::Node v = kv.second;
    const std::string* key_of = entry_key(k, seen, diag);
    if (key_of == nullptr) continue;
    const std::string& key = *key_of;
    if (key == "id") {
      if (auto x = read_scalar(v, key, kMaxIdLength, diag)) {
        if (!valid_id(*x)) {
          diag.at(v, "id " + shown(*x) + " may only use a-z, 0-9, '-', '_' and '.'");
        } else {
          s.id = std::move(*x);
          has_id = true;
        }
      }
    } else if (key == "name") {
      if (auto x = read_scalar(v, key, kMaxTextLength, diag)) s.name = std::move(*x);
    } else if (key == "operator") {
      if (auto x = read_scalar(v, key, kMaxTextLength, diag)) s.operator_name = std::move(*x);
    } else if (key == "parent") {
      if (auto x = read_scalar(v, key, kMaxTextLength, diag)) s.parent = std::move(*x);
    } else if (key == "company") {
      if (auto x = read_scalar(v, key, kMaxIdLength, diag)) {
        s.company = std::move(*x);
        p.company_mark = v.Mark();
      }
    } else if (key == "source") {
      if (auto x = read_scalar(v, key, kMaxTextLength, diag)) s.source = std::move(*x);
    } else if (key == "category") {
      if (auto x = read_scalar(v, key, kMaxTextLength, diag)) {
        if (const auto c = parse_category(*x)) {
          s.category = *c;
        } else {
          diag.at(v, "unknown category " + shown(*x) + " (one of " + category_list() + ")");
        }
      }
    } else if (key == "jurisdiction" || key == "parent_jurisdiction") {
      if (auto x = read_country(v, key, kMaxTextLength, diag)) (key == "jurisdiction" ? s.jurisdiction : s.parent_jurisdiction) = std::move(*x);
    } else if (key == "domains") {
      read_list(v, key, budget, domains, diag);
    } else if (key == "hosts") {
      read_list(v, key, budget, hosts, diag);
    } else if (key == "cidrs") {
      read_list(v, key, budget, cidrs, diag);
    } else {
      diag.at(k, "unknown key " + shown(key) +
                     " (expected id, name, category, company, operator, jurisdiction, parent, parent_jurisdiction, domains, "
                     "hosts, cidrs, source)");
    }
  }

  for (auto& [name, mark] : domains) {
    if (const char* why = name_problem(name)) {
      diag.at(mark, "domain " + shown(name) + " " + why);
    } else {
      s.domains.push_back(std::move(name));
      p.key_marks.push_back(mark);
    }
  }
  for (auto& [name, mark] : hosts) {
    if (const char* why = name_problem(name)) {
      diag.at(mark, "host " + shown(name) + " " + why);
    } else {
      s.hosts.push_back(std::move(name));
      p.key_marks.push_back(mark);
    }
  }
  for (auto& [text, mark] : cidrs) {
    const auto cidr = core::Cidr::parse(text);
    if (!cidr) {
      diag.at(mark, "cidr " + shown(text) + " is not an address or address/prefix");
      continue;
    }
    std::array<std::uint8_t, 16> masked = cidr->base().bytes();
    for (std::size_t bit = cidr->prefix(); bit < cidr->base().size() * 8; ++bit) {
      masked[bit / 8] = static_cast<std::uint8_t>(masked[bit / 8] & ~(0x80u >> (bit % 8)));
    }
    if (masked != cidr->base().bytes()) {
      const auto base = cidr->base().is_v4()
                            ? core::IpAddress::v4(std::span<const std::uint8_t, 4>(masked.data(), 4))
                            : core::IpAddress::v6(std::span<const std::uint8_t, 16>(masked.data(), 16));
      diag.at(mark, "cidr " + shown(text) + " has bits set past the prefix; did you mean " + base.to_string() +
                        "/" + std::to_string(cidr->prefix()) + "?");
      continue;
    }
    s.cidrs.push_back(*cidr);
    p.key_marks.push_back(mark);
  }

  // Only report what is missing when the field is absent, not when it was present but wrong.
  std::string absent;
  p.wrote_operator = seen.count("operator") > 0;
  p.wrote_jurisdiction = seen.count("jurisdiction") > 0;
  p.wrote_parent = seen.count("parent") + seen.count("parent_jurisdiction") > 0;
  const bool has_company = seen.count("company") > 0;
  for (std::string_view f : {"id", "name", "category", "operator", "jurisdiction", "source"}) {
    // With a company, operator and jurisdiction come from it.
    if (has_company && (f == "operator" || f == "jurisdiction")) continue;
    if (seen.count(std::string(f)) == 0) absent += absent.empty() ? std::string(f) : ", " + std::string(f);
  }
  if (!has_company && !s.parent_jurisdiction.empty() && s.parent.empty()) {
    diag.at(entry, "entry" + (has_id ? " " + shown(s.id) : std::string()) + " has parent_jurisdiction without parent");
  }
  if (!absent.empty()) {
    diag.at(entry, "entry" + (has_id ? " " + shown(s.id) : std::string()) + " is missing " + absent);
  }
  if (domains.empty() && hosts.empty() && cidrs.empty() && seen.count("domains") + seen.count("hosts") +
                                                                    seen.count("cidrs") == 0) {
    diag.at(entry, "entry" + (has_id ? " " + shown(s.id) : std::string()) +
                       " needs at least one of domains, hosts and cidrs");
  } else if (domains.empty() && hosts.empty() && cidrs.empty()) {
    diag.at(entry, "entry" + (has_id ? " " + shown(s.id) : std::string()) +
                       " has empty domains, hosts and cidrs; give at least one");
  }
  return diag.count() == errors_before;
}

std::string place(const Service& s) { return s.file + ":" + std::to_string(s.line); }

}  // namespace

std::string_view category_name(Category c) noexcept {
  for (const auto& n : kCategoryNames) {
    if (n.category == c) return n.name;
  }
  return "unknown";
}

std::optional<Category> parse_category(std::string_view text) noexcept {
  for (const auto& n : kCategoryNames) {
    if (n.name == text) return n.category;
  }
  return std::nullopt;
}

bool is_ai(Category c) noexcept { return c == Category::kAiChat || c == Category::kAiApi; }

bool is_tracker(Category c) noexcept {
  switch (c) {
    case Category::kAnalytics:
    case Category::kAttribution:
    case Category::kAds:
    case Category::kApm:
    case Category::kCrashReporting:
    case Category::kFingerprinting:
    case Category::kIdentity:
    case Category::kTelemetry:
    case Category::kFeatureFlags:
    case Category::kCustomerSupport:
    case Category::kAntiBot:
    case Category::kPush:
    // A location SDK reports where the device is; a client-side IP geolocation lookup hands the user's
    // address to a third party: both are tracking, not function.
    case Category::kLocation:
      return true;
    default:
      return false;
  }
}

std::string CatalogError::to_string() const {
  std::string out = line <= 0 ? file + ": " + message
                              : file + ":" + std::to_string(line) + ":" + std::to_string(column > 0 ? column : 1) +
                                    ": " + message;
  // One line, whatever yaml-cpp or a file name put in it.
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  }
  return out;
}

bool ServiceCatalog::add_file(const std::filesystem::path& file, Layer layer, std::vector<CatalogError>& errors) {
  const std::string name = file.string();
  std::string text;
  if (std::string problem = core::read_input_file(file, kMaxCatalogFileBytes, text); !problem.empty()) {
    errors.push_back({name, 0, 0,
                      problem.starts_with("is larger than") ? problem + "; a catalog file should be far smaller"
                                                            : "cannot read: " + problem});
    return false;
  }
  return add_text(text, name, layer, errors);
}

bool ServiceCatalog::add_text(std::string_view text, const std::string& file, Layer layer,
                              std::vector<CatalogError>& errors) {
  Diagnostics diag(file, errors);
  if (text.size() > kMaxCatalogFileBytes) {
    diag.whole("is larger than " + std::to_string(kMaxCatalogFileBytes >> 20) + " MiB");
    return false;
  }
  const int level = layer == Layer::kBuiltIn ? 0 : layers_ + 1;
  std::vector<Pending> pending;
  std::vector<Company> new_companies;
  const CompanyLookup known_company = [this](std::string_view id) { return find_company(id); };
  std::unordered_map<std::string_view, std::size_t> new_index;  // filled once new_companies is final
  const CompanyLookup lookup = [&](std::string_view id) -> const Company* {
    if (const auto it = new_index.find(id); it != new_index.end()) return &new_companies[it->second];
    return find_company(id);
  };
  const auto commit_companies = [&] {
    for (Company& c : new_companies) {
      company_index_.emplace(c.id, companies_.size());
      companies_.push_back(std::move(c));
    }
    new_companies.clear();
  };
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    if (root.IsNull()) {
      diag.whole("is empty; expected a mapping with a 'services' list");
      return false;
    }
    if (!root.IsMap()) {
      diag.at(root, "the top level must be a mapping with a 'services' list");
      return false;
    }
    YAML::Node list;
    YAML::Node company_list;
    bool have_list = false;
    bool have_companies = false;
    for (const auto& kv : root) {
      const YAML::Node k = kv.first;
      if (k.IsScalar() && k.Scalar() == "services") {
        if (have_list) diag.at(k, "duplicate key 'services'");
        list = kv.second;
        have_list = true;
      } else if (k.IsScalar() && k.Scalar() == "companies") {
        if (have_companies) diag.at(k, "duplicate key 'companies'");
        company_list = kv.second;
        have_companies = true;
      } else {
        diag.at(k, "unknown top-level key (only 'companies' and 'services' are allowed)");
      }
    }
    if (!have_list && !have_companies) {
      if (diag.count() == 0) diag.at(root, "missing the 'services' list");
      return false;
    }
    // Companies first, wherever the list stands in the file: the services resolve against them.
    if (have_companies) {
      read_companies(company_list, file, known_company, kMaxCompanies - std::min(kMaxCompanies, companies_.size()),
                     new_companies, diag);
      for (std::size_t i = 0; i < new_companies.size(); ++i) new_index.emplace(new_companies[i].id, i);
    }
    if (!have_list || !list.IsSequence()) {
      if (have_list && !list.IsNull()) diag.at(list, "'services' must be a list of entries");
      if (diag.count() > 0) return false;
      commit_companies();  // `services:` with nothing is an empty catalog file
      return true;
    }
    std::size_t names = 0;
    for (const auto& s : services_) names += s.domains.size() + s.hosts.size() + s.cidrs.size();
    for (const YAML::Node& entry : list) {
      if (services_.size() + pending.size() >= kMaxServices) {
        diag.at(entry, "too many services (limit " + std::to_string(kMaxServices) + ")");
        break;
      }
      Pending p;
      if (parse_entry(entry, file, p, diag) &&
          (p.service.company.empty() || resolve_company(p.service, p.company_mark, p.wrote_operator,
                                                        p.wrote_jurisdiction, p.wrote_parent, lookup, diag))) {
        names += p.key_marks.size();
        if (names > kMaxCatalogNames) {
          diag.at(entry, "too many domains, hosts and cidrs in the catalog (limit " +
                             std::to_string(kMaxCatalogNames) + ")");
          break;
        }
        p.service.layer = level;
        pending.push_back(std::move(p));
      }
      if (diag.count() >= kMaxErrorsPerFile) break;
    }
  } catch (const YAML::Exception& e) {
    diag.at(e.mark, e.msg.empty() ? std::string("invalid YAML") : "invalid YAML: " + e.msg);
    return false;
  } catch (const std::exception& e) {
    diag.whole(std::string("cannot load: ") + e.what());
    return false;
  }
  if (diag.count() > 0) return false;

  // Conflicts: ids and keys claimed twice in the same layer.
  struct Owner {
    const Service* service;
    YAML::Mark mark;
  };
  std::unordered_map<std::string, Owner> ids;
  std::unordered_map<std::string, Owner> keys;
  const auto key_of = [](const std::string& kind, const std::string& value) { return kind + " " + value; };
  const YAML::Mark none = YAML::Mark::null_mark();
  for (const auto& s : services_) {
    if (s.layer != level) continue;
    ids.emplace(s.id, Owner{&s, none});
    for (const auto& d : s.domains) keys.emplace(key_of("domain", d), Owner{&s, none});
    for (const auto& h : s.hosts) keys.emplace(key_of("host", h), Owner{&s, none});
    for (const auto& c : s.cidrs) keys.emplace(key_of("cidr", c.to_string()), Owner{&s, none});
  }
  const auto where = [&](const Owner& o) {
    return o.mark.line >= 0 ? "line " + std::to_string(o.mark.line + 1) : place(*o.service);
  };
  for (const Pending& p : pending) {
    const Service& s = p.service;
    if (auto [it, fresh] = ids.emplace(s.id, Owner{&s, p.mark}); !fresh) {
      diag.at(p.mark, "duplicate id " + shown(s.id) + " (first defined at " + where(it->second) + ")");
      continue;
    }
    std::size_t m = 0;
    const auto claim = [&](const std::string& kind, const std::string& value) {
      const YAML::Mark& mark = p.key_marks[m++];
      if (auto [it, fresh] = keys.emplace(key_of(kind, value), Owner{&s, mark}); !fresh) {
        diag.at(mark, kind + " " + shown(value) + " of " + shown(s.id) + " is already claimed by " +
                          shown(it->second.service->id) + " at " + where(it->second));
      }
    };
    for (const auto& d : s.domains) claim("domain", d);
    for (const auto& h : s.hosts) claim("host", h);
    for (const auto& c : s.cidrs) claim("cidr", c.to_string());
  }
  if (diag.count() > 0) return false;

  for (Pending& p : pending) {
    if (level > 0) {
      std::erase_if(services_, [&](const Service& s) { return s.id == p.service.id; });
      services_.push_back(std::move(p.service));
    } else {
      // Built-in entries stay below user layers even when a built-in file comes late.
      const auto first_user = std::find_if(services_.begin(), services_.end(),
                                           [](const Service& s) { return s.layer > 0; });
      services_.insert(first_user, std::move(p.service));
    }
  }
  if (level > 0) layers_ = level;
  commit_companies();
  rebuild_index();
  return true;
}

std::optional<ServiceCatalog> ServiceCatalog::load(const std::vector<std::filesystem::path>& files,
                                                   std::vector<CatalogError>& errors) {
  ServiceCatalog catalog;
  bool ok = true;
  for (const auto& f : files) ok = catalog.add_file(f, Layer::kBuiltIn, errors) && ok;
  if (!ok) return std::nullopt;
  return catalog;
}

std::optional<ServiceCatalog> ServiceCatalog::load_default(const std::filesystem::path& data_dir,
                                                           std::vector<CatalogError>& errors) {
  const auto files = catalog_files(data_dir);
  if (files.empty()) {
    errors.push_back({data_dir.string(), 0, 0,
                      "no service catalog files (services/*.yaml) here; set FLOWAUDIT_DATA_DIR to the "
                      "flowaudit data directory"});
    return std::nullopt;
  }
  return load(files, errors);
}

void ServiceCatalog::NameTable::build(std::size_t count) {
  std::size_t capacity = 16;
  while (capacity < count * 2) capacity *= 2;
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
}

void ServiceCatalog::NameTable::insert(std::uint64_t hash, std::string_view key, std::uint32_t service) {
  for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
    Slot& slot = slots_[i];
    if (slot.key.empty() || (slot.hash == hash && slot.key == key)) {
      slot = Slot{hash, key, service};  // a later layer overwrites
      return;
    }
  }
}

ServiceCatalog ServiceCatalog::from_compiled(std::vector<Company> companies, std::vector<Service> services) {
  ServiceCatalog c;
  c.companies_ = std::move(companies);
  for (std::size_t i = 0; i < c.companies_.size(); ++i) c.company_index_.emplace(c.companies_[i].id, i);
  c.services_ = std::move(services);
  c.rebuild_index();
  return c;
}

const ServiceCatalog::Slot* ServiceCatalog::NameTable::find(std::uint64_t hash, std::string_view key) const noexcept {
  if (slots_.empty()) return nullptr;
  for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
    const Slot& slot = slots_[i];
    if (slot.key.empty()) return nullptr;
    if (slot.hash == hash && slot.key == key) return &slot;
  }
}

std::size_t ServiceCatalog::PrefixKeyHash::operator()(const PrefixKey& k) const noexcept {
  std::uint64_t h = k.hi * 0x9E3779B97F4A7C15ull;
  h ^= (k.lo + 0x632BE59BD9B4E019ull + (h << 6) + (h >> 2));
  h ^= (static_cast<std::uint64_t>(k.family) << 8 | k.prefix) * 0xC2B2AE3D27D4EB4Full;
  return static_cast<std::size_t>(h ^ (h >> 29));
}

ServiceCatalog::PrefixKey ServiceCatalog::prefix_key(const core::IpAddress& ip, unsigned prefix) noexcept {
  // The address as two big-endian words (IPv4 in the top half of the first), masked with shifts.
  std::uint64_t hi = 0, lo = 0;
  const auto& b = ip.bytes();
  for (std::size_t i = 0; i < 8; ++i) {
    hi = hi << 8 | b[i];
    lo = lo << 8 | b[i + 8];
  }
  if (prefix == 0) {
    hi = lo = 0;
  } else if (prefix <= 64) {
    hi &= ~std::uint64_t{0} << (64 - prefix);
    lo = 0;
  } else if (prefix < 128) {
    lo &= ~std::uint64_t{0} << (128 - prefix);
  }
  PrefixKey k;
  k.hi = hi;
  k.lo = lo;
  k.family = static_cast<std::uint8_t>(ip.family());
  k.prefix = static_cast<std::uint8_t>(prefix);
  return k;
}

void ServiceCatalog::rebuild_index() {
  std::size_t host_count = 0, domain_count = 0;
  for (const auto& s : services_) {
    host_count += s.hosts.size();
    domain_count += s.domains.size();
  }
  hosts_.build(host_count);
  domains_.build(domain_count);
  cidrs_.clear();
  v4_prefixes_.clear();
  v6_prefixes_.clear();
  for (std::size_t i = 0; i < services_.size(); ++i) {
    const Service& s = services_[i];
    const auto index = static_cast<std::uint32_t>(i);
    for (const auto& h : s.hosts) hosts_.insert(reverse_hash(h), h, index);
    for (const auto& d : s.domains) domains_.insert(reverse_hash(d), d, index);
    for (const auto& c : s.cidrs) {
      cidrs_[prefix_key(c.base(), c.prefix())] = index;
      auto& list = c.base().is_v4() ? v4_prefixes_ : v6_prefixes_;
      const auto p = static_cast<std::uint8_t>(c.prefix());
      if (std::find(list.begin(), list.end(), p) == list.end()) list.push_back(p);
    }
  }
  std::sort(v4_prefixes_.rbegin(), v4_prefixes_.rend());
  std::sort(v6_prefixes_.rbegin(), v6_prefixes_.rend());
}

const Service* ServiceCatalog::match(std::string_view hostname) const noexcept {
  if (!hostname.empty() && hostname.back() == '.') hostname.remove_suffix(1);
  if (hostname.empty() || hostname.size() > kMaxHostnameLength) return nullptr;
  std::array<char, kMaxHostnameLength> lower;
  const std::size_t n = hostname.size();
  // Label starts (right to left) with the hash of the suffix from each start.
  struct Suffix {
    std::size_t start;
    std::uint64_t hash;
  };
  std::array<Suffix, kMaxHostnameLength / 2 + 1> suffixes;
  std::size_t count = 0;
  std::uint64_t h = kFnvOffset;
  for (std::size_t i = n; i > 0; --i) {
    char c = hostname[i - 1];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    lower[i - 1] = c;
    const bool label_start = i == 1 || hostname[i - 2] == '.';
    if (c == '.' && (i == n || label_start)) return nullptr;  // an empty label
    h = fnv_step(h, c);
    if (c != '.' && label_start) suffixes[count++] = {i - 1, h};
  }
  const std::string_view name(lower.data(), n);
  if (const Slot* s = hosts_.find(suffixes[count - 1].hash, name)) return &services_[s->service];
  for (std::size_t k = count; k > 0; --k) {
    const Suffix& sfx = suffixes[k - 1];
    if (const Slot* s = domains_.find(sfx.hash, name.substr(sfx.start))) return &services_[s->service];
  }
  return nullptr;
}

const Service* ServiceCatalog::match(const core::IpAddress& ip_in) const noexcept {
  core::IpAddress ip = ip_in;
  if (ip.is_v6()) {
    const auto& b = ip.bytes();
    static constexpr std::array<std::uint8_t, 12> kMapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (std::equal(kMapped.begin(), kMapped.end(), b.begin())) {
      ip = core::IpAddress::v4(std::span<const std::uint8_t, 4>(b.data() + 12, 4));
    }
  }
  const auto& prefixes = ip.is_v4() ? v4_prefixes_ : ip.is_v6() ? v6_prefixes_ : v4_prefixes_;
  if (!ip.is_v4() && !ip.is_v6()) return nullptr;
  for (const std::uint8_t p : prefixes) {
    const auto it = cidrs_.find(prefix_key(ip, p));
    if (it != cidrs_.end()) return &services_[it->second];
  }
  return nullptr;
}

const Company* ServiceCatalog::find_company(std::string_view id) const noexcept {
  const auto it = company_index_.find(id);
  return it == company_index_.end() ? nullptr : &companies_[it->second];
}

const Service* ServiceCatalog::find(std::string_view id) const noexcept {
  for (const auto& s : services_) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

std::vector<std::filesystem::path> catalog_files(const std::filesystem::path& data_dir) {
  std::error_code ec;
  std::filesystem::path dir = data_dir / "services";
  if (!std::filesystem::is_directory(dir, ec)) dir = data_dir;
  // The registry comes first: the service files name its companies.
  const std::filesystem::path registry = data_dir / "companies.yaml";
  std::vector<std::filesystem::path> files;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    const auto& p = it->path();
    const auto ext = p.extension();
    if ((ext == ".yaml" || ext == ".yml") && p.filename().string().front() != '.' && it->is_regular_file(ec)) {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  if (std::filesystem::is_regular_file(registry, ec)) {
    std::erase(files, registry);
    files.insert(files.begin(), registry);
  }
  return files;
}

}  // namespace flowaudit::analysis::enrich
