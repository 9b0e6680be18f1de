// The service catalog: which service, operator and jurisdiction a hostname or address belongs to.
//
// Entries come from YAML files (data/companies.yaml, data/services/*.yaml, and --catalog FILE for a
// user's own). A file is a mapping with up to two keys, `companies` and `services`, each a list:
//
//   companies:                        # the company registry (see Company)
//     - id: bytedance                 # [a-z0-9-._], unique in the whole catalog
//       name: ByteDance Ltd.          # the legal entity
//       jurisdiction: CN              # ISO 3166 alpha-2 of its seat (whose law governs it)
//       incorporated: KY              # optional: where registered, when that differs (offshore holdings)
//       parent: ...                   # optional: company id of the entity that controls it
//       source: https://...
//   services:
//     - id: deepseek                  # [a-z0-9-._], unique
//       name: DeepSeek
//       category: ai-chat             # see Category
//       company: deepseek             # company id: operator, jurisdiction and parent come from it
//       operator: Hangzhou DeepSeek Artificial Intelligence Co., Ltd.  # optional with company (must match)
//       jurisdiction: CN              # optional with company (must match)
//       domains: [deepseek.com]       # suffix match on label boundaries
//       hosts: [api.deepseek.com]     # exact match
//       cidrs: [160.79.104.0/23]      # longest prefix match (IPv4 and IPv6)
//       source: https://...           # where the facts come from
//
// An entry without `company` (users' older files) gives operator and jurisdiction itself, and may
// give `parent` and `parent_jurisdiction` as text. A company must be defined before (in an earlier
// file, or in the same file) the services that name it; an id defined twice is an error in any
// layer, because entries already loaded were resolved against the first definition. At least one of
// domains, hosts and cidrs. Unknown keys are errors (a typo must not silently drop a field). Errors
// name FILE:LINE:COL. A file is loaded whole or not at all.
//
// Layers: every file added with Layer::kBuiltIn forms layer 0, where an id, domain, host or CIDR
// claimed twice is an error. Each file added with Layer::kUser forms a new layer above the previous
// ones: an entry whose id already exists replaces that entry entirely, a new id adds an entry, and
// its domains, hosts and CIDRs take precedence over those of lower layers. Inside one user file,
// duplicates are errors as in the built-in layer.
//
// Matching is by exact host first, then the longest domain suffix on label boundaries
// (sub.deepseek.com matches deepseek.com, evil-deepseek.com does not), ASCII case-insensitive, one
// trailing dot ignored; addresses by the longest CIDR, IPv4-mapped IPv6 as IPv4. Lookups do not
// allocate. Pointers returned stay valid until the catalog is next modified.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ip_address.h"
#include "analysis/enrich/data_dir.h"

namespace flowaudit::analysis::enrich {

enum class Category : std::uint8_t {
  kAiChat,           // "ai-chat": a chat product used by people
  kAiApi,            // "ai-api": a model API used by programs
  kAnalytics,        // "analytics"
  kAttribution,      // "attribution": install and campaign attribution
  kAds,              // "ads"
  kApm,              // "apm": performance monitoring
  kCrashReporting,   // "crash-reporting"
  kFingerprinting,   // "fingerprinting": device fingerprinting and risk scoring
  kIdentity,         // "identity": login, phone-number or account identity
  kTelemetry,        // "telemetry": vendor device or app telemetry
  kFeatureFlags,     // "feature-flags": experiments and remote configuration
  kCustomerSupport,  // "customer-support": in-app messengers
  kAntiBot,          // "anti-bot": captchas and bot challenges
  kPush,             // "push": push notification services
  kPayments,         // "payments"
  kCdn,              // "cdn"
  kCloud,            // "cloud": general cloud hosting
  kDnsResolver,      // "dns-resolver": public DNS resolvers (Do53, DoH, DoT)
  kCompanyDomain,    // "company-domain": a company's general domains, purpose not known (a fallback)
  kConsent,          // "consent": consent management platforms (cookie banners and their consent logs)
  kLocation,         // "location": location SDKs, location data brokers and IP geolocation lookup APIs
};

[[nodiscard]] std::string_view category_name(Category c) noexcept;
[[nodiscard]] std::optional<Category> parse_category(std::string_view text) noexcept;
// ai-chat and ai-api.
[[nodiscard]] bool is_ai(Category c) noexcept;
// Categories that collect data about the user or device: analytics, attribution, ads, apm,
// crash-reporting, fingerprinting, identity, telemetry, feature-flags, customer-support, anti-bot, push,
// location.
[[nodiscard]] bool is_tracker(Category c) noexcept;

// A legal entity. jurisdiction is the country of its seat: for an offshore-registered holding run from
// elsewhere (ByteDance Ltd., Alibaba Group Holding Ltd.: Cayman Islands companies managed from the
// PRC), the country it is run from, with the registration in `incorporated`.
struct Company {
  std::string id;
  std::string name;
  std::string jurisdiction;
  std::string incorporated;  // may be empty
  std::string parent;        // company id; empty at the top of a group
  std::string source;
  std::string file;
  int line = 0;
  // The top of the ownership chain (the group) when there is a parent; empty otherwise.
  std::string group;               // the group's legal name
  std::string group_jurisdiction;  // the group's jurisdiction
};

inline constexpr std::size_t kMaxCompanyDepth = 8;  // parent links followed to the group

struct Service {
  std::string id;
  std::string name;
  Category category = Category::kCloud;
  std::string company;              // company id; empty for an entry without one
  std::string operator_name;        // "operator" in the YAML; the company's name
  std::string jurisdiction;         // two upper-case letters: the operating entity's seat
  std::string parent;               // the group behind the operator; may be empty
  std::string parent_jurisdiction;  // the group's jurisdiction; empty when parent is
  std::vector<std::string> domains;
  std::vector<std::string> hosts;
  std::vector<core::Cidr> cidrs;
  std::string source;
  std::string file;  // where the entry was defined
  int line = 0;
  int layer = 0;
};

struct CatalogError {
  std::string file;
  int line = 0;    // 1-based; 0 when the error is about the whole file
  int column = 0;  // 1-based; 0 when unknown
  std::string message;
  // "FILE:LINE:COL: message", or "FILE: message" without a position.
  [[nodiscard]] std::string to_string() const;
};

enum class Layer : std::uint8_t { kBuiltIn, kUser };

// Bounds on what a catalog file may hold (files are configuration, but may come from anywhere).
inline constexpr std::size_t kMaxCatalogFileBytes = 4u << 20;
inline constexpr std::size_t kMaxServices = 20000;            // in the whole catalog
inline constexpr std::size_t kMaxNamesPerService = 4096;      // domains + hosts + cidrs
inline constexpr std::size_t kMaxCatalogNames = 200000;       // in the whole catalog
inline constexpr std::size_t kMaxIdLength = 64;
inline constexpr std::size_t kMaxTextLength = 512;            // name, operator, parent, source
inline constexpr std::size_t kMaxHostnameLength = 253;
inline constexpr std::size_t kMaxErrorsPerFile = 20;
inline constexpr std::size_t kMaxCompanies = 5000;            // in the whole catalog

class ServiceCatalog {
 public:
  ServiceCatalog() = default;

  // Reads and validates one file, then adds its entries (see Layers above). On any error nothing
  // from the file is added, `errors` gets up to kMaxErrorsPerFile messages and false is returned.
  // Never throws (yaml-cpp's exceptions are caught here).
  bool add_file(const std::filesystem::path& file, Layer layer, std::vector<CatalogError>& errors);
  // The same, from text already in memory; `file` only names it in errors.
  bool add_text(std::string_view text, const std::string& file, Layer layer,
                std::vector<CatalogError>& errors);

  // A catalog from built-in files; nullopt if any file failed (errors say why).
  static std::optional<ServiceCatalog> load(const std::vector<std::filesystem::path>& files,
                                            std::vector<CatalogError>& errors);
  // The built-in catalog: data_dir/companies.yaml, then every *.yaml in data_dir/services (or in
  // data_dir itself when it has no services/ folder), in name order.
  static std::optional<ServiceCatalog> load_default(const std::filesystem::path& data_dir,
                                                    std::vector<CatalogError>& errors);

  // A built-in catalog from entries already validated (compiled_catalog.cc): companies with their
  // group resolved, services with their company's fields filled in, all in layer 0.
  static ServiceCatalog from_compiled(std::vector<Company> companies, std::vector<Service> services);

  [[nodiscard]] const Service* match(std::string_view hostname) const noexcept;
  [[nodiscard]] const Service* match(const core::IpAddress& ip) const noexcept;
  [[nodiscard]] const Service* find(std::string_view id) const noexcept;
  [[nodiscard]] const Company* find_company(std::string_view id) const noexcept;

  [[nodiscard]] const std::vector<Company>& companies() const noexcept { return companies_; }

  [[nodiscard]] const std::vector<Service>& services() const noexcept { return services_; }
  [[nodiscard]] std::size_t size() const noexcept { return services_.size(); }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::string_view key;  // into services_; empty = free slot
    std::uint32_t service = 0;
  };
  class NameTable {
   public:
    void build(std::size_t count);
    void insert(std::uint64_t hash, std::string_view key, std::uint32_t service);
    [[nodiscard]] const Slot* find(std::uint64_t hash, std::string_view key) const noexcept;

   private:
    std::vector<Slot> slots_;
    std::size_t mask_ = 0;
  };
  struct PrefixKey {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    std::uint8_t family = 0;
    std::uint8_t prefix = 0;
    bool operator==(const PrefixKey&) const = default;
  };
  struct PrefixKeyHash {
    std::size_t operator()(const PrefixKey& k) const noexcept;
  };

  void rebuild_index();
  static PrefixKey prefix_key(const core::IpAddress& ip, unsigned prefix) noexcept;

  std::vector<Service> services_;  // in layer order
  std::vector<Company> companies_;
  struct IdHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::size_t, IdHash, std::equal_to<>> company_index_;
  int layers_ = 0;                 // user layers added so far
  NameTable hosts_;
  NameTable domains_;
  std::unordered_map<PrefixKey, std::uint32_t, PrefixKeyHash> cidrs_;
  std::vector<std::uint8_t> v4_prefixes_;  // distinct prefix lengths present, longest first
  std::vector<std::uint8_t> v6_prefixes_;
};

// The *.yaml files of the built-in catalog under data_dir (see load_default): the company registry
// data_dir/companies.yaml first when it exists, then the service files sorted by name.
[[nodiscard]] std::vector<std::filesystem::path> catalog_files(const std::filesystem::path& data_dir);

}  // namespace flowaudit::analysis::enrich
