// scripts/import-prebid on a small fake package (tests/data/prebid-mini): URL literals of mapped
// modules and their libraries, comments not read, stage/local/excluded/other-party hosts dropped,
// run-time hosts noted, the catalog winning, a host two companies' modules name, a bad map refused.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "analysis/enrich/service_catalog.h"
#include "e2e/catalog_ids.h"
#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace fs = std::filesystem;

namespace {

fs::path prebid_data(const char* name) {
  const fs::path data = temp_dir() / name;
  fs::remove_all(data);
  fs::create_directories(data / "services");
  fs::create_directories(data / "import");
  std::ofstream(data / "companies.yaml") << "companies:\n"
                                            "  - {id: acme, name: Acme Ltd., jurisdiction: DE, source: test}\n"
                                            "  - {id: zeta, name: Zeta Inc., jurisdiction: US, source: test}\n"
                                            "  - {id: other, name: Other SA, jurisdiction: FR, source: test}\n";
  std::ofstream(data / "services" / "hand.yaml")
      << "services:\n"
         "  - {id: hand, name: Hand, category: ads, company: other, domains: [acme-shared.com], source: test}\n";
  return data;
}

RunResult import_prebid(const fs::path& data) {
  return run_shell("python3 '" + source_path("scripts/import-prebid") + "' --prebid '" +
                   source_path("tests/data/prebid-mini") + "' --data '" + data.string() + "'");
}

}  // namespace

TEST_SUITE("e2e") {
  TEST_CASE("import-prebid: mapped modules' URL hosts become catalog entries beneath the catalog, with provenance") {
    const fs::path data = prebid_data("import-prebid-data");
    fs::copy_file(source_path("tests/data/prebid-mini/map.yaml"), data / "import" / "prebid-test.yaml");
    const auto r = import_prebid(data);
    INFO("out: " << r.out << "\nerr: " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("conflict: px.acme-shared.com: modules/acmeBidAdapter.js:13 says acme (acmeBidAdapter); "
                     "hand.yaml entry hand says other: the catalog wins") != std::string::npos);
    CHECK(r.out.find("conflict: sync.both-parties.com: modules/zetaIdSystem.ts:4 (zetaIdSystem, zeta); other "
                     "modules name it for acme: left out of all") != std::string::npos);
    CHECK(r.out.find("note: modules/acmeBidAdapter.js:7: acmeBidAdapter: host built at run time "
                     "('${region}.acme-ssp.com')") != std::string::npos);
    CHECK(r.out.find("conflict: px.zeta-cdn.net: modules/acmeBidAdapter.js:18 says acme (acmeBidAdapter); "
                     "zetaIdSystem maps zeta-cdn.net to zeta: left out") != std::string::npos);
    CHECK(r.out.find("prebid: already in the catalog: 1; beneath another company's map domain: 1; conflicts: 1; "
                     "dropped: another party's domain: 1; dropped: excluded by the map: 1; dropped: local or an "
                     "address: 1; dropped: stage or test host: 2; imported: 7; named by modules of two companies: 2; "
                     "run-time hosts: 1; scheme-only literals: 1; urls: 15") != std::string::npos);

    const CatalogIds id_of(data);
    CHECK(id_of("ads.acme-ssp.com") == "prebid-acme-bid-adapter");
    CHECK(id_of("sync.acme-ssp.com") == "prebid-acme-bid-adapter");     // a template literal
    CHECK(id_of("render.acme-ssp.com") == "prebid-acme-bid-adapter");   // after a regex literal with quotes
    CHECK(id_of("video.acme-ssp.com") == "prebid-acme-bid-adapter");    // protocol-relative
    CHECK(id_of("id.zeta-id.net") == "prebid-zeta-id-system");          // libraries: [zetaUtils]
    CHECK(id_of("log.zeta-id.net") == "prebid-zeta-id-system");         // a .ts module
    CHECK(id_of("ads-stg.acme-ssp.com") == "-");                        // stage hosts
    CHECK(id_of("stg2.acme-ssp.com") == "-");
    CHECK(id_of("old.acme-ssp.com") == "-");                            // exclude:
    CHECK(id_of("docs.commented-out.com") == "-");                      // in a comment
    CHECK(id_of("legacy.acme-ssp.com") == "-");                         // quoted, in a comment
    CHECK(id_of("cdn.jsdelivr.net") == "-");                            // another party's
    CHECK(id_of("c.acme-ssp.com") == "-");                              // a path, not a URL
    CHECK(id_of("sync.both-parties.com") == "-");                       // two companies
    CHECK(id_of("px.acme-shared.com") == "hand");                       // the catalog wins
    CHECK(id_of("px.zeta-cdn.net") == "prebid-zeta-id-system");         // beneath zeta's map domain
    const auto* acme = id_of.catalog().find("prebid-acme-bid-adapter");
    REQUIRE(acme != nullptr);
    CHECK(acme->name == "Acme SSP (Prebid bidder)");
    CHECK(acme->company == "acme");
    CHECK(acme->jurisdiction == "DE");
    CHECK(analysis::enrich::category_name(acme->category) == "ads");
    CHECK(acme->source.find("prebid.js 0.0.1-test modules/acmeBidAdapter") != std::string::npos);
    CHECK(id_of.catalog().find("prebid-zeta-id-system")->name == "Zeta ID (Prebid user ID)");
    const std::string text = read_file(data / "services" / "imported-prebid.yaml");
    CHECK(text.find("- sync.acme-ssp.com  # modules/acmeBidAdapter.js:6") != std::string::npos);
    CHECK(text.find("- id.zeta-id.net  # libraries/zetaUtils/hosts.js:2") != std::string::npos);
  }

  TEST_CASE("import-prebid: a map naming an unknown company, category, key or module is refused with its file") {
    const fs::path data = prebid_data("import-prebid-bad");
    const auto refused = [&](const std::string& map, const std::string& why) {
      std::ofstream(data / "import" / "prebid-bad.yaml") << "modules:\n" << map;
      const auto r = import_prebid(data);
      INFO("out: " << r.out << "\nerr: " << r.err);
      CHECK(r.exit_code != 0);
      CHECK(r.err.find("prebid-bad.yaml: module ") != std::string::npos);
      CHECK(r.err.find(why) != std::string::npos);
      CHECK(!fs::exists(data / "services" / "imported-prebid.yaml"));
    };
    refused("  acmeBidAdapter: {company: nobody, category: ads, name: A}\n", "company 'nobody' is not in companies.yaml");
    refused("  acmeBidAdapter: {company: acme, category: identity, name: A}\n", "category 'identity' is not one of");
    refused("  acmeBidAdapter: {company: acme, category: ads, name: A, exclud: [x.com]}\n", "unknown key(s) exclud");
    refused("  missingBidAdapter: {company: acme, category: ads, name: A}\n", "no modules/missingBidAdapter.js|.ts");
  }
}

}  // namespace flowaudit::e2e
