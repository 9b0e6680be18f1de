// Fail closed: a binary without its data does not audit (it would pass everything), data is never
// taken from the working directory, and report paths are checked before the audit and never
// followed through a planted symlink.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "e2e/e2e_util.h"

namespace {

using namespace flowaudit::e2e;
namespace fs = std::filesystem;

// `command` run by the shell in `cwd` (with `env` prefixed); stderr is returned with the exit code.
RunResult run_in(const fs::path& cwd, const std::string& env, const std::string& command) {
  return run_shell("cd '" + cwd.string() + "' && " + env + " " + command);
}

std::size_t lines(const std::string& text) { return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')); }

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = temp_dir() / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

const std::string kSession = "examples/deepseek-session.pcapng";

}  // namespace

TEST_SUITE("e2e") {
  TEST_CASE("without built-in policies or catalog, audit exits 2 with one line instead of passing") {
    const fs::path empty = fresh_dir("empty-data");
    const std::string env = "FLOWAUDIT_DATA_DIR='" + empty.string() + "'";
    const std::string bin = std::string("'") + FLOWAUDIT_BINARY + "'";
    const std::string capture = "'" + source_path(kSession) + "'";

    auto r = run_in(empty, env, bin + " audit " + capture);
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find("no built-in policies found") != std::string::npos);
    CHECK(r.out.empty());

    // --policy none: still no catalog, still an error; with a catalog of the user's own it runs.
    r = run_in(empty, env, bin + " audit " + capture + " --policy none");
    CHECK(r.exit_code == 2);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find("no built-in service catalog found") != std::string::npos);
    r = run_in(empty, env,
               bin + " audit " + capture + " --policy none --catalog '" + source_path("data/companies.yaml") +
                   "' --catalog '" + source_path("data/services/ai-services.yaml") + "'");
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 0);

    // An explicit policy file needs no built-in packs.
    r = run_in(empty, env,
               bin + " audit " + capture + " --policy '" + source_path("data/policies/plaintext.yaml") +
                   "' --catalog '" + source_path("data/companies.yaml") + "' --catalog '" +
                   source_path("data/services/ai-services.yaml") + "'");
    CHECK(r.exit_code != 2);

    for (const std::string sub : {"rules list", "rules explain plaintext.http-request", "geo 1.1.1.1"}) {
      CAPTURE(sub);
      r = run_in(empty, env, bin + " " + sub);
      CHECK(r.exit_code == 2);
      CHECK(lines(r.err) == 1);
    }
  }

  TEST_CASE("a data directory in the working directory (or beside a copied binary) is not used") {
    const fs::path repo = fresh_dir("untrusted-repo");
    fs::create_directories(repo / "data" / "policies");
    fs::create_directories(repo / "data" / "services");
    {
      std::ofstream p(repo / "data" / "policies" / "default.yaml");
      p << "policy:\n  name: default\nrules:\n  - id: planted.rule\n    title: planted\n    severity: low\n"
           "    scope: destination\n    condition: port = 1\n";
    }
    fs::copy_file(source_path("data/services/ai-services.yaml"), repo / "data" / "services" / "ai-services.yaml");
    // The build's own binary, run from the checkout, and a copy of it dropped into the checkout.
    fs::copy_file(FLOWAUDIT_BINARY, repo / "flowaudit", fs::copy_options::overwrite_existing);
    for (const std::string& bin : {std::string("'") + FLOWAUDIT_BINARY + "'", std::string("./flowaudit")}) {
      CAPTURE(bin);
      const auto r = run_in(repo, "env -u FLOWAUDIT_DATA_DIR", bin + " rules list");
      INFO("stderr: " << r.err);
      CHECK(r.exit_code == 0);
      CHECK(r.out.find("planted.rule") == std::string::npos);
      CHECK(r.out.find("plaintext.") != std::string::npos);  // the real built-in policy
    }
  }

  TEST_CASE("a geolocation database planted in the working directory's data/geoip is not used") {
    const fs::path repo = fresh_dir("untrusted-geo");
    const fs::path home = fresh_dir("empty-home");
    fs::create_directories(repo / "data" / "geoip");
    fs::copy_file(source_path("tests/data/geo/fixture-country.mmdb"), repo / "data" / "geoip" / "planted.mmdb");
    const auto r = run_in(repo, "env -u FLOWAUDIT_GEOIP_DIR HOME='" + home.string() + "'",
                          std::string("'") + FLOWAUDIT_BINARY + "' geo 1.1.1.1 --json");
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("planted.mmdb") == std::string::npos);
  }

  TEST_CASE("report paths are checked before the audit; symlinks to files are refused") {
    const fs::path dir = fresh_dir("report-paths");
    {
      std::ofstream v(dir / "victim");
      v << "precious\n";
    }
    fs::create_symlink(dir / "victim", dir / "r.json");
    fs::create_symlink(dir / "nowhere", dir / "d.json");
    // A capture that does not exist: the report path is refused before any capture is opened.
    auto r = run({"audit", (dir / "missing.pcap").string(), "--policy", "none", "--report",
                  "json:" + (dir / "r.json").string()});
    CHECK(r.exit_code == 2);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find("symbolic link to a regular file") != std::string::npos);
    CHECK(r.err.find("missing.pcap") == std::string::npos);
    CHECK(read_file(dir / "victim") == "precious\n");

    r = run({"audit", source_path(kSession), "--policy", "none", "--report", "json:" + (dir / "d.json").string()});
    CHECK(r.exit_code == 2);
    CHECK_FALSE(fs::exists(dir / "nowhere"));

    r = run({"diff", source_path(kSession), source_path(kSession), "--policy", "none", "--report",
             "json:" + (dir / "out.json").string(), "--report", "md:" + (dir / "." / "out.json").string()});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("given twice") != std::string::npos);
    CHECK(r.err.find(kSession) == std::string::npos);

    r = run({"audit", source_path(kSession), "--policy", "none", "--report",
             "json:" + (dir / "no-dir" / "r.json").string()});
    CHECK(r.exit_code == 2);
    CHECK(lines(r.err) == 1);

    // A regular file is replaced (mode 0600) and nothing else is left in the directory.
    r = run({"audit", source_path(kSession), "--policy", "none", "--report", "json:" + (dir / "ok.json").string(),
             "--report", "md:/dev/null"});
    CHECK(r.exit_code == 0);
    struct stat st {};
    REQUIRE(::stat((dir / "ok.json").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
    CHECK(n == 4);  // victim, r.json, d.json, ok.json
  }
}
