// scripts/import-catalog on a small list tree (tests/data/dlc-mini): includes, attribute filters,
// cycles, skipped rule types, the hand-kept catalog winning, provenance, and a catalog that loads.
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

TEST_SUITE("e2e") {
  TEST_CASE("import-catalog: v2fly lists become catalog entries beneath the hand-kept ones, with provenance") {
    const fs::path data = temp_dir() / "import-data";
    fs::remove_all(data);
    fs::create_directories(data / "services");
    std::ofstream(data / "companies.yaml") << "companies:\n"
                                              "  - {id: acme, name: Acme Ltd., jurisdiction: DE, source: test}\n"
                                              "  - {id: other, name: Other Inc., jurisdiction: US, source: test}\n";
    std::ofstream(data / "services" / "hand.yaml")
        << "services:\n"
           "  - {id: hand, name: Hand, category: analytics, company: other, domains: [hand.example], source: test}\n";
    const std::string commit(40, 'a');
    const auto r = run_shell("python3 '" + source_path("scripts/import-catalog") + "' --dlc '" +
                             source_path("tests/data/dlc-mini") + "' --lists '" +
                             source_path("tests/data/dlc-mini/lists.yaml") + "' --commit " + commit + " --data '" +
                             data.string() + "'");
    INFO("out: " << r.out << "\nerr: " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("conflict: domain hand.example: data/acme:10 says acme (acme); hand-kept hand.yaml entry hand "
                     "says other: hand-kept wins") != std::string::npos);
    CHECK(r.out.find("loop-a -> loop-b -> loop-a: include cycle, cut") != std::string::npos);
    CHECK(r.out.find("keyword: 1 and regexp: 1 rules skipped") != std::string::npos);
    CHECK(r.out.find("data/acme:13: 'bad_name'") != std::string::npos);

    const CatalogIds id_of(data);
    CHECK(id_of("www.acme.example") == "dlc-acme");
    CHECK(id_of("api.acme.example") == "dlc-acme");
    CHECK(id_of("x.acmecdn.example") == "dlc-acme");    // through include:acme-cdn
    CHECK(id_of("ads.acmecdn.example") == "dlc-acme");  // include:acme-ads-only @ads took it in
    CHECK(id_of("notads.acmecdn.example") == "dlc-acme");  // under acmecdn.example anyway
    CHECK(id_of("chat.acme-ai.example") == "dlc-acme-ai");  // a mapped include keeps its own mapping
    CHECK(id_of("loopa.example") == "dlc-acme");
    CHECK(id_of("loopb.example") == "dlc-acme");
    CHECK(id_of("tracker.thirdparty.example") == "-");  // @ads of a list whose ads are third parties'
    CHECK(id_of("hand.example") == "hand");             // hand-kept wins
    CHECK(id_of("pixel.hand.example") == "hand");       // a fallback host beneath a hand-kept domain: left out
    CHECK(id_of("sub.hand.example") == "hand");
    const auto* acme = id_of.catalog().find("dlc-acme");
    REQUIRE(acme != nullptr);
    CHECK(acme->company == "acme");
    CHECK(acme->jurisdiction == "DE");
    CHECK(acme->source.find("data/acme") != std::string::npos);
    CHECK(acme->source.find(commit) != std::string::npos);
    const std::string text = read_file(data / "services" / "imported-companies.yaml");
    CHECK(text.find("- acme.example  # data/acme:5") != std::string::npos);
    CHECK(text.find("- acmecdn.example  # data/acme-cdn:1") != std::string::npos);
  }

  TEST_CASE("import-catalog: companiesdb takes AdGuard's own records of mapped companies, beneath the catalog") {
    const fs::path data = temp_dir() / "import-cdb-data";
    fs::remove_all(data);
    fs::create_directories(data / "services");
    std::ofstream(data / "companies.yaml") << "companies:\n"
                                              "  - {id: acme, name: Acme Ltd., jurisdiction: DE, source: test}\n"
                                              "  - {id: other, name: Other Inc., jurisdiction: US, source: test}\n";
    std::ofstream(data / "services" / "hand.yaml")
        << "services:\n"
           "  - {id: hand, name: Hand, category: analytics, company: other, domains: [hand.example, other.example], "
           "source: test}\n";
    const std::string commit(40, 'b');
    const auto r = run_shell("python3 '" + source_path("scripts/import-catalog") + "' --companiesdb '" +
                             source_path("tests/data/companiesdb-mini") + "' --companiesdb-map '" +
                             source_path("tests/data/companiesdb-mini/map.yaml") + "' --companiesdb-commit " + commit +
                             " --data '" + data.string() + "'");
    INFO("out: " << r.out << "\nerr: " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("conflict: domain hand.example: companiesdb acme_ads says acme; hand.yaml entry hand says other: "
                     "the catalog wins") != std::string::npos);
    CHECK(r.out.find("conflict: domain pixel.hand.example:") != std::string::npos);
    CHECK(r.out.find("skipped companies (not in COMPANIES, names): stranger_co 1") != std::string::npos);
    CHECK(r.out.find("companiesdb: WhoTracks.me-derived (licence): 1; already in the catalog: 3; category not mapped: "
                     "1; company not mapped: 1; imported: 2; invalid name: 1; no tracker: 2") != std::string::npos);

    const CatalogIds id_of(data);
    CHECK(id_of("ads.acme.example") == "cdb-acme_ads");
    CHECK(id_of("www.acme.example") == "cdb-acme_misc");
    CHECK(id_of("wtm.example") == "-");           // not AdGuard's own: licence
    CHECK(id_of("stranger.example") == "-");      // company not mapped
    CHECK(id_of("acme-unknown.example") == "-");  // category not mapped
    CHECK(id_of("pixel.hand.example") == "hand");
    const auto* ads = id_of.catalog().find("cdb-acme_ads");
    REQUIRE(ads != nullptr);
    CHECK(ads->company == "acme");
    CHECK(ads->jurisdiction == "DE");
    CHECK(analysis::enrich::category_name(ads->category) == "ads");
    CHECK(ads->source.find("companiesdb/blob/" + commit + "/dist/trackers.json") != std::string::npos);
    CHECK(analysis::enrich::category_name(id_of.catalog().find("cdb-acme_misc")->category) == "company-domain");
    CHECK(read_file(data / "services" / "imported-companiesdb.yaml").find("CC BY-SA 4.0") != std::string::npos);
  }
}

}  // namespace flowaudit::e2e
