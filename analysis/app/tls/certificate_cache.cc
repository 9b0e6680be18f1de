#include "analysis/app/tls/certificate_cache.h"

#include "analysis/app/tls/client_hello.h"

namespace flowaudit::analysis::tls {

const CertificateCache::Entry& CertificateCache::get(std::span<const std::uint8_t> body, core::StringPool& strings) {
  std::string key(body.begin(), body.end());
  if (const auto it = entries_.find(key); it != entries_.end()) return it->second;
  if (entries_.size() >= kMaxCached) entries_.clear();
  Entry e;
  Certificate cert;
  if (parse_certificate(body, cert) == app::ParseStatus::kOk) {
    e.ok = true;
    e.subject = strings.intern(cert.subject);
    e.issuer = strings.intern(cert.issuer);
    e.san = strings.intern(core::join_items(cert.san_dns));
  }
  return entries_.emplace(std::move(key), e).first->second;
}

}  // namespace flowaudit::analysis::tls
