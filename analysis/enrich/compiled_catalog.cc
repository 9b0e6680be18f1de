#include "analysis/enrich/compiled_catalog.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <system_error>
#include <unordered_set>

#include "analysis/enrich/catalog_yaml.h"
#include "core/byte_reader.h"
#include "core/input_file.h"

namespace flowaudit::analysis::enrich {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic{"FACATLG\0", 8};
constexpr std::uint32_t kVersion = 1;

std::string relative_name(const fs::path& data_dir, const fs::path& file) {
  return file.lexically_relative(data_dir).generic_string();
}

bool read_whole(const fs::path& file, std::size_t limit, std::string& out, std::string& error) {
  if (const std::string problem = core::read_input_file(file, limit, out); !problem.empty()) {
    error = file.string() + ": " + problem;
    return false;
  }
  return true;
}

// ---- writing ----

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
}
void put_str(std::string& out, std::string_view s) {
  // Every string of a validated catalog is far below 64 KiB (kMaxTextLength, kMaxHostnameLength).
  const auto n = static_cast<std::uint16_t>(std::min<std::size_t>(s.size(), 0xFFFF));
  out.push_back(static_cast<char>(n & 0xFFu));
  out.push_back(static_cast<char>(n >> 8));
  out.append(s.substr(0, n));
}

// ---- reading ----

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : r_(bytes) {}

  bool u32(std::uint32_t& v, std::string_view what) {
    const std::size_t at = r_.offset();
    if (!r_.read_u32le(v)) return fail(at, std::string(what) + " is cut short");
    return true;
  }
  bool count(std::uint32_t& v, std::size_t limit, std::string_view what) {
    const std::size_t at = r_.offset();
    if (!u32(v, what)) return false;
    if (v > limit) return fail(at, std::string(what) + " " + std::to_string(v) + " is over the limit " + std::to_string(limit));
    return true;
  }
  // A string of at most `max` bytes without control characters; empty only when `may_be_empty`.
  bool str(std::string& out, std::size_t max, std::string_view what, bool may_be_empty = false) {
    const std::size_t at = r_.offset();
    std::uint16_t n = 0;
    std::span<const std::uint8_t> bytes;
    if (!r_.read_u16le(n) || !r_.read_bytes(n, bytes)) return fail(at, std::string(what) + " is cut short");
    if (n > max) return fail(at, std::string(what) + " is longer than " + std::to_string(max) + " bytes");
    if (n == 0 && !may_be_empty) return fail(at, std::string(what) + " is empty");
    if (std::any_of(bytes.begin(), bytes.end(), [](std::uint8_t c) { return c < 0x20; })) {
      return fail(at, std::string(what) + " has a control character");
    }
    out.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return true;
  }
  bool country(std::string& out, std::string_view what, bool may_be_empty) {
    const std::size_t at = r_.offset();
    if (!str(out, 2, what, may_be_empty)) return false;
    if (!out.empty() && !detail::is_country_code(out)) return fail(at, std::string(what) + " is not a country code");
    return true;
  }
  bool id(std::string& out, std::string_view what, bool may_be_empty) {
    const std::size_t at = r_.offset();
    if (!str(out, kMaxIdLength, what, may_be_empty)) return false;
    if (!out.empty() && !detail::valid_id(out)) return fail(at, std::string(what) + " is not a valid id");
    return true;
  }
  bool u8(std::uint8_t& v, std::string_view what) {
    const std::size_t at = r_.offset();
    if (!r_.read_u8(v)) return fail(at, std::string(what) + " is cut short");
    return true;
  }
  bool bytes(std::size_t n, std::span<const std::uint8_t>& out, std::string_view what) {
    const std::size_t at = r_.offset();
    if (!r_.read_bytes(n, out)) return fail(at, std::string(what) + " is cut short");
    return true;
  }
  bool fail(std::size_t at, std::string message) {
    if (error_.empty()) error_ = "offset " + std::to_string(at) + ": " + std::move(message);
    return false;
  }
  [[nodiscard]] std::size_t offset() const { return r_.offset(); }
  [[nodiscard]] std::size_t remaining() const { return r_.remaining(); }
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  core::ByteReader r_;
  std::string error_;
};

bool read_file_index(Reader& r, std::size_t files, const std::vector<fs::path>& paths, std::string& out, int& line) {
  const std::size_t at = r.offset();
  std::uint32_t index = 0, l = 0;
  if (!r.u32(index, "file index") || !r.u32(l, "line")) return false;
  if (index >= files) return r.fail(at, "file index " + std::to_string(index) + " is past the file count");
  if (l > 100'000'000) return r.fail(at + 4, "line " + std::to_string(l) + " is not plausible");
  out = paths[index].string();
  line = static_cast<int>(l);
  return true;
}

bool read_names(Reader& r, std::size_t& budget, std::vector<std::string>& out, std::string_view what) {
  std::uint32_t n = 0;
  if (!r.count(n, std::min(budget, kMaxNamesPerService), std::string(what) + " count")) return false;
  budget -= n;
  out.resize(n);
  for (auto& name : out) {
    const std::size_t at = r.offset();
    if (!r.str(name, kMaxHostnameLength, what)) return false;
    if (const char* why = detail::name_problem(name)) return r.fail(at, std::string(what) + " " + why);
  }
  return true;
}

bool read_company(Reader& r, std::size_t files, const std::vector<fs::path>& paths, Company& c) {
  return r.id(c.id, "company id", false) && r.str(c.name, kMaxTextLength, "company name") &&
         r.country(c.jurisdiction, "company jurisdiction", false) &&
         r.country(c.incorporated, "company incorporated", true) && r.id(c.parent, "company parent", true) &&
         r.str(c.source, kMaxTextLength, "company source") &&
         r.str(c.group, kMaxTextLength, "company group", true) &&
         r.country(c.group_jurisdiction, "company group jurisdiction", true) &&
         read_file_index(r, files, paths, c.file, c.line);
}

bool read_service(Reader& r, std::size_t files, const std::vector<fs::path>& paths,
                  const std::unordered_set<std::string_view>& company_ids, std::size_t& names, Service& s) {
  std::uint8_t category = 0;
  if (!(r.id(s.id, "service id", false) && r.str(s.name, kMaxTextLength, "service name"))) return false;
  const std::size_t at = r.offset();
  if (!r.u8(category, "category")) return false;
  if (category_name(static_cast<Category>(category)) == "unknown") {
    return r.fail(at, "category " + std::to_string(category) + " is unknown");
  }
  s.category = static_cast<Category>(category);
  const std::size_t company_at = r.offset();
  if (!r.id(s.company, "service company", true)) return false;
  if (!s.company.empty() && company_ids.count(s.company) == 0) return r.fail(company_at, "service company is not defined");
  if (!(r.str(s.operator_name, kMaxTextLength, "operator") &&
        r.country(s.jurisdiction, "jurisdiction", false) &&
        r.str(s.parent, kMaxTextLength, "parent", true) &&
        r.country(s.parent_jurisdiction, "parent jurisdiction", true) &&
        r.str(s.source, kMaxTextLength, "source") && read_file_index(r, files, paths, s.file, s.line))) {
    return false;
  }
  std::size_t budget = std::min(names, kMaxNamesPerService);
  const std::size_t before = budget;
  std::vector<std::string> cidrs;
  if (!read_names(r, budget, s.domains, "domain") || !read_names(r, budget, s.hosts, "host")) return false;
  std::uint32_t n = 0;
  if (!r.count(n, budget, "cidr count")) return false;
  budget -= n;
  s.cidrs.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::size_t cat = r.offset();
    std::string text;
    if (!r.str(text, 64, "cidr")) return false;
    const auto cidr = core::Cidr::parse(text);
    if (!cidr || cidr->to_string() != text) return r.fail(cat, "cidr is not a canonical address/prefix");
    s.cidrs.push_back(*cidr);
  }
  if (s.domains.empty() && s.hosts.empty() && s.cidrs.empty()) return r.fail(at, "service has no names");
  names -= before - budget;
  return true;
}

}  // namespace

std::optional<CatalogDigest> catalog_digest(const fs::path& data_dir, const std::vector<fs::path>& files,
                                            std::string& error) {
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    error = "SHA-256 is not available";
    return std::nullopt;
  }
  std::string text;
  for (const auto& f : files) {
    if (!read_whole(f, kMaxCatalogFileBytes, text, error)) return std::nullopt;
    std::string head = relative_name(data_dir, f);
    head.push_back('\0');
    put_u32(head, static_cast<std::uint32_t>(text.size()));
    EVP_DigestUpdate(ctx.get(), head.data(), head.size());
    EVP_DigestUpdate(ctx.get(), text.data(), text.size());
  }
  CatalogDigest d{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), d.data(), &len) != 1 || len != d.size()) {
    error = "SHA-256 failed";
    return std::nullopt;
  }
  return d;
}

std::string write_compiled_catalog(const ServiceCatalog& catalog, const CatalogDigest& digest,
                                   const std::vector<fs::path>& files) {
  std::string out(kMagic);
  put_u32(out, kVersion);
  out.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  put_u32(out, static_cast<std::uint32_t>(files.size()));
  const auto file_index = [&](const std::string& name) {
    for (std::size_t i = 0; i < files.size(); ++i) {
      if (files[i].string() == name) return static_cast<std::uint32_t>(i);
    }
    return std::uint32_t{0};
  };
  put_u32(out, static_cast<std::uint32_t>(catalog.companies().size()));
  for (const Company& c : catalog.companies()) {
    for (const std::string* s : {&c.id, &c.name, &c.jurisdiction, &c.incorporated, &c.parent, &c.source, &c.group,
                                 &c.group_jurisdiction}) {
      put_str(out, *s);
    }
    put_u32(out, file_index(c.file));
    put_u32(out, static_cast<std::uint32_t>(c.line));
  }
  put_u32(out, static_cast<std::uint32_t>(catalog.services().size()));
  for (const Service& s : catalog.services()) {
    put_str(out, s.id);
    put_str(out, s.name);
    out.push_back(static_cast<char>(s.category));
    for (const std::string* t : {&s.company, &s.operator_name, &s.jurisdiction, &s.parent, &s.parent_jurisdiction,
                                 &s.source}) {
      put_str(out, *t);
    }
    put_u32(out, file_index(s.file));
    put_u32(out, static_cast<std::uint32_t>(s.line));
    for (const auto* list : {&s.domains, &s.hosts}) {
      put_u32(out, static_cast<std::uint32_t>(list->size()));
      for (const auto& n : *list) put_str(out, n);
    }
    put_u32(out, static_cast<std::uint32_t>(s.cidrs.size()));
    for (const auto& c : s.cidrs) put_str(out, c.to_string());
  }
  return out;
}

std::optional<ServiceCatalog> read_compiled_catalog(std::span<const std::uint8_t> bytes, const std::string& name,
                                                    const std::vector<fs::path>& files,
                                                    const CatalogDigest* expected, std::string& error) {
  Reader r(bytes);
  const auto failed = [&]() -> std::optional<ServiceCatalog> {
    error = name + ": " + r.error();
    for (char& c : error) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
    }
    return std::nullopt;
  };
  std::span<const std::uint8_t> magic, digest;
  std::uint32_t version = 0, file_count = 0, company_count = 0, service_count = 0;
  if (!r.bytes(kMagic.size(), magic, "magic")) return failed();
  if (!std::equal(magic.begin(), magic.end(), kMagic.begin(),
                  [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); })) {
    r.fail(0, "not a compiled flowaudit catalog (bad magic)");
    return failed();
  }
  if (!r.u32(version, "version")) return failed();
  if (version != kVersion) {
    r.fail(8, "version " + std::to_string(version) + " (this flowaudit reads " + std::to_string(kVersion) + ")");
    return failed();
  }
  if (!r.bytes(32, digest, "digest")) return failed();
  if (expected != nullptr && !std::equal(digest.begin(), digest.end(), expected->begin())) {
    r.fail(12, "compiled from other YAML files than those beside it (edited since it was built?)");
    return failed();
  }
  const std::size_t files_at = r.offset();
  if (!r.count(file_count, kMaxCatalogFiles, "file count")) return failed();
  if (file_count != files.size()) {
    r.fail(files_at, "compiled from " + std::to_string(file_count) + " files, " + std::to_string(files.size()) +
                         " are there");
    return failed();
  }
  if (!r.count(company_count, kMaxCompanies, "company count")) return failed();
  // Each entry takes at least a few bytes: a count larger than the rest of the file is a lie.
  if (company_count > r.remaining() / 8) {
    r.fail(r.offset() - 4, "company count is larger than the file can hold");
    return failed();
  }
  std::vector<Company> companies(company_count);
  for (auto& c : companies) {
    if (!read_company(r, file_count, files, c)) return failed();
  }
  if (!r.count(service_count, kMaxServices, "service count")) return failed();
  if (service_count > r.remaining() / 8) {
    r.fail(r.offset() - 4, "service count is larger than the file can hold");
    return failed();
  }
  std::unordered_set<std::string_view> company_ids;
  for (const auto& c : companies) {
    if (!company_ids.insert(c.id).second) {
      r.fail(r.offset(), "company id " + c.id + " is defined twice");
      return failed();
    }
  }
  std::vector<Service> services(service_count);
  std::size_t names = kMaxCatalogNames;
  for (auto& s : services) {
    if (!read_service(r, file_count, files, company_ids, names, s)) return failed();
  }
  if (r.remaining() != 0) {
    r.fail(r.offset(), "unexpected bytes after the last service");
    return failed();
  }
  return ServiceCatalog::from_compiled(std::move(companies), std::move(services));
}

std::optional<ServiceCatalog> load_builtin_catalog(const fs::path& data_dir, const std::vector<fs::path>& files,
                                                   std::vector<CatalogError>& errors,
                                                   std::vector<std::string>& warnings, std::string* used) {
  std::vector<fs::path> candidates{data_dir / kCompiledCatalogName};
#if defined(FLOWAUDIT_SOURCE_DATA_DIR) && defined(FLOWAUDIT_BUILD_CATALOG)
  // A build tree run in place: its catalog.bin belongs to the source tree's data only.
  std::error_code same_ec;
  if (fs::equivalent(data_dir, fs::path(FLOWAUDIT_SOURCE_DATA_DIR), same_ec)) {
    candidates.emplace_back(FLOWAUDIT_BUILD_CATALOG);
  }
#endif
  for (const auto& bin : candidates) {
    std::error_code ec;
    if (!fs::is_regular_file(bin, ec)) continue;
    std::string why;
    std::string bytes;
    const auto digest = catalog_digest(data_dir, files, why);
    if (digest && read_whole(bin, kMaxCompiledCatalogBytes, bytes, why)) {
      const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
      if (auto c = read_compiled_catalog({data, bytes.size()}, bin.string(), files, &*digest, why)) {
        if (used != nullptr) *used = bin.string();
        return c;
      }
    }
    warnings.push_back(why + "; loading the YAML catalog instead (slower start; rebuild, or run "
                             "flowaudit-catalog-compile " + data_dir.string() + " " + bin.string() + ")");
    break;
  }
  if (used != nullptr) used->clear();
  return ServiceCatalog::load(files, errors);
}

}  // namespace flowaudit::analysis::enrich
