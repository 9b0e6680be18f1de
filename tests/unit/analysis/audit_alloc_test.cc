// The packet path must not allocate: once a flow exists, its packets are decoded and accounted
// without touching the heap. Global operator new is replaced in this test binary to count calls.
#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <new>
#include <string>
#include <vector>

#include "analysis/audit.h"
#include "analysis/enrich/compiled_catalog.h"

namespace {
std::atomic<std::size_t> g_allocations{0};
}

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
// Every other plain form goes through malloc/free too: a sanitizer runtime supplies its own
// versions of any form left out, and memory from its nothrow new freed by the delete above is
// reported as an alloc-dealloc mismatch (std::stable_sort's temporary buffer does exactly that).
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return ::operator new(n, std::nothrow); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace flowaudit::analysis {

TEST_CASE("steady-state packets of known flows allocate nothing") {
  // Ethernet + IPv4 + TCP (ACK) + 4 payload bytes, 10.0.0.1:40000 -> 3.173.21.63:443.
  std::array<std::uint8_t, 58> frame = {
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00,                    // Ethernet
      0x45, 0, 0, 44, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 3, 173, 21, 63,  // IPv4
      0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0,  // TCP
      'd', 'a', 't', 'a'};
  Auditor auditor{AuditOptions{}};
  capture::RawPacket raw;
  raw.link_type = 1;
  raw.data = frame;
  raw.orig_len = frame.size();
  // Create a few flows first (the table and pools may grow here).
  for (std::uint8_t host = 1; host <= 8; ++host) {
    frame[29] = host;
    raw.ts_ns += 1000;
    auditor.process(raw, 0);
  }
  const std::size_t before = g_allocations.load();
  for (int i = 0; i < 10000; ++i) {
    frame[29] = static_cast<std::uint8_t>(1 + i % 8);
    raw.ts_ns += 1000;
    auditor.process(raw, 0);
  }
  CHECK(g_allocations.load() == before);
  const auto result = auditor.finish({});
  CHECK(result.flows.size() == 8);
  CHECK(result.packets == 10008);
}

// Catalog lookups run once per destination and per live name: they must not allocate either, in the
// compiled form flowaudit starts from as in the YAML form.
TEST_CASE("catalog lookups allocate nothing, YAML or compiled") {
  const std::filesystem::path data = std::filesystem::path(FLOWAUDIT_SOURCE_DIR) / "data";
  const auto files = enrich::catalog_files(data);
  std::vector<enrich::CatalogError> errors;
  const auto yaml = enrich::ServiceCatalog::load(files, errors);
  REQUIRE(yaml.has_value());
  std::string error;
  const auto digest = enrich::catalog_digest(data, files, error);
  REQUIRE(digest.has_value());
  const std::string bin = enrich::write_compiled_catalog(*yaml, *digest, files);
  const auto compiled = enrich::read_compiled_catalog(
      {reinterpret_cast<const std::uint8_t*>(bin.data()), bin.size()}, "catalog.bin", files, &*digest, error);
  REQUIRE(compiled.has_value());
  const auto ip = core::IpAddress::parse("160.79.104.10");
  REQUIRE(ip.has_value());
  for (const enrich::ServiceCatalog* c : {&*yaml, &*compiled}) {
    const std::size_t before = g_allocations.load();
    std::size_t found = 0;
    for (int i = 0; i < 1000; ++i) {
      found += c->match("chat.deepseek.com") != nullptr;
      found += c->match("GATOR.VOLCES.COM.") != nullptr;
      found += c->match("a.b.c.d.unknown-host.example") != nullptr;
      found += c->match(*ip) != nullptr;
    }
    CHECK(g_allocations.load() == before);
    CHECK(found == 3000);
  }
}

}  // namespace flowaudit::analysis
