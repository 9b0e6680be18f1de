// The HTML report as its reader gets it: one file with the verdict, the findings, both charts, the
// map and the databases' attribution; nothing fetched from anywhere; every string from the capture
// escaped; and, when Debian's chromium is installed, a real browser renders it to a screenshot.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "analysis/audit.h"
#include "core/format.h"
#include "e2e/e2e_util.h"
#include "rules/eval/evaluator.h"
#include "rules/load/loader.h"
#include "report/html_report.h"
#include "report/report.h"
#include "unit/session/audited.h"

namespace flowaudit::e2e {
namespace {


analysis::AuditResult audit(const std::string& capture) {
  return test::audited({source_path("tests/data/" + capture)});
}

// The default policy, evaluated; kept alive for the whole run (findings point into it).
struct Evaluated {
  rules::Policy policy;
  rules::eval::Evaluation evaluation;
  report::PolicyOutcome outcome;
};

Evaluated evaluate(const analysis::AuditResult& r, bool redact = true) {
  rules::load::LoadOptions options;
  options.builtin_dir = source_path("data/policies");
  auto loaded = rules::load::load_policy({"default"}, options);
  REQUIRE(loaded.ok());
  Evaluated e;
  e.policy = std::move(loaded.policy);
  rules::eval::EvalOptions eval_options;
  eval_options.redact = redact;
  e.evaluation = rules::eval::evaluate(e.policy, r, eval_options);
  return e;
}

std::string html_of(const analysis::AuditResult& r, const report::PolicyOutcome* outcome, bool redact = true) {
  report::ReportOptions options;
  options.redact = redact;
  return report::render(report::Format::kHtml, {r, outcome}, options);
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) ++n;
  return n;
}

// Every "http://" or "https://" in a tag must be the value of an href; anything else would be a
// resource the browser fetches (src, style url(), xmlns is not needed for inline SVG in HTML).
void check_no_fetches(const std::string& html) {
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("<iframe") == std::string::npos);
  CHECK(html.find("<object") == std::string::npos);
  CHECK(html.find("<embed") == std::string::npos);
  const auto style = html.find("<style>");
  REQUIRE(style != std::string::npos);
  const std::string css = html.substr(style, html.find("</style>") - style);
  CHECK(css.find("@import") == std::string::npos);
  CHECK(css.find("url(") == std::string::npos);
  CHECK(count(html, "<style") == 1);
  CHECK(html.find("Content-Security-Policy") != std::string::npos);
  CHECK(html.find("default-src 'none'") != std::string::npos);
  std::size_t links = 0;
  std::size_t pos = 0;
  while ((pos = html.find('<', pos)) != std::string::npos) {
    const std::size_t end = html.find('>', pos);
    REQUIRE(end != std::string::npos);
    const std::string tag = html.substr(pos, end - pos + 1);
    INFO("tag: " << tag);
    CHECK(tag.find(" src=") == std::string::npos);
    CHECK(tag.find(" srcset=") == std::string::npos);
    CHECK(tag.find("url(") == std::string::npos);
    for (const char* scheme : {"http://", "https://"}) {
      for (auto at = tag.find(scheme); at != std::string::npos; at = tag.find(scheme, at + 1)) {
        CHECK(tag.compare(0, 3, "<a ") == 0);
        CHECK(at >= 6);
        CHECK(tag.compare(at - 6, 6, "href=\"") == 0);
        ++links;
      }
    }
    pos = end + 1;
  }
  MESSAGE("links in the report: " << links);
}

}  // namespace

TEST_SUITE("e2e") {

TEST_CASE("html report: verdict, findings, charts, map, destinations, attribution; fetches nothing") {
  auto r = audit("deepseek-session.pcapng");
  // The fixture databases ask for no attribution; a DB-IP database does (its licence: CC BY 4.0).
  analysis::enrich::GeoDatabaseInfo dbip;
  dbip.path = "/usr/share/flowaudit/geoip/dbip-country-lite-2025-01.mmdb";
  dbip.database_type = "DBIP-Country-Lite";
  dbip.build_date = "2025-01-01";
  dbip.attribution = "IP Geolocation by DB-IP (https://db-ip.com), licensed under CC BY 4.0";
  r.geo_databases.push_back(dbip);
  auto e = evaluate(r);
  e.outcome = report::PolicyOutcome{&e.policy, &e.evaluation, "high"};
  REQUIRE(e.evaluation.failed);
  const std::string html = html_of(r, &e.outcome);

  CHECK(html.starts_with("<!DOCTYPE html>"));
  CHECK(html.ends_with("</html>\n"));
  // Title with the capture and the time range.
  CHECK(html.find("<title>flowaudit report: deepseek-session.pcapng (2024-06-01 10:00:00 – 10:00:01 UTC)</title>") !=
        std::string::npos);
  // The verdict, before anything else in the body, with --fail-on and counts by severity.
  const auto verdict = html.find("<section class=\"verdict fail\"><div class=\"word\">FAIL</div>");
  REQUIRE(verdict != std::string::npos);
  CHECK(verdict < html.find("<h2>"));
  CHECK(html.find("10 findings at or above <b>high</b> (<code>--fail-on high</code>)") != std::string::npos);
  CHECK(html.find("<b>2</b> critical") != std::string::npos);  // data-leaks: the device id over plain HTTP, to CN
  CHECK(html.find("<b>8</b> high") != std::string::npos);
  CHECK(html.find("<b>5</b> medium") != std::string::npos);
  CHECK(html.find("<b>3</b> low") != std::string::npos);
  CHECK(html.find("<b>4</b> info") != std::string::npos);
  // Findings grouped by severity, highest first, each rule with its title, id, references as links.
  const auto high = html.find("<span class=\"badge sev3\">high</span> 8 findings");
  const auto medium = html.find("<span class=\"badge sev2\">medium</span> 5 findings");
  const auto info = html.find("<span class=\"badge sev0\">info</span> 4 findings");
  REQUIRE(high != std::string::npos);
  REQUIRE(medium != std::string::npos);
  REQUIRE(info != std::string::npos);
  CHECK(high < medium);
  CHECK(medium < info);
  CHECK(html.find("Service operated under Chinese jurisdiction") != std::string::npos);
  CHECK(html.find("china-transfer.operator") != std::string::npos);
  CHECK(html.find("<a href=\"https://eur-lex.europa.eu/eli/reg/2016/679/oj\" rel=\"noopener noreferrer\">") !=
        std::string::npos);
  CHECK(html.find("What to do:") != std::string::npos);
  // Evidence: destination, flows, bytes, first seen, name source.
  CHECK(html.find("<b>chat.deepseek.com</b> <span class=\"mono\">3.173.21.63:443/tcp</span>") != std::string::npos);
  CHECK(html.find("first seen 2024-06-01 10:00:00.196 UTC") != std::string::npos);
  CHECK(html.find("name from tls-sni") != std::string::npos);
  CHECK(html.find("name from http-host") != std::string::npos);
  // Redacted by default: the device registration's path keeps its shape.
  CHECK(html.find("http://gator.volces.com/service/2/device_register/") != std::string::npos);
  // Both charts and the map, as inline SVG; the DeepSeek story: US server, CN operator.
  CHECK(html.find("Bytes sent by server country") != std::string::npos);
  CHECK(html.find("Bytes sent by operator jurisdiction") != std::string::npos);
  CHECK(html.find("aria-label=\"World map of destination countries\"") != std::string::npos);
  CHECK(count(html, "<svg ") == 3);
  CHECK(html.find(">US United States</text>") != std::string::npos);
  CHECK(html.find(">CN China</text>") != std::string::npos);
  CHECK(html.find("operator law: CN") != std::string::npos);
  CHECK(html.find("<b>chat.deepseek.com</b>: server in United States (Amazon.com, Inc.), DeepSeek operated by "
                  "Hangzhou DeepSeek Artificial Intelligence Co., Ltd. under <b>China</b> law") != std::string::npos);
  CHECK(count(html, "<circle ") == 3);  // US, SG, SE; the LAN resolver has no country
  // The destinations table with where each name came from, and the plaintext one marked.
  CHECK(html.find("<th>Name from</th>") != std::string::npos);
  CHECK(count(html, "<tr><td class=\"host\">") == r.destinations.size());
  CHECK(html.find("<td class=\"host\">gator.volces.com</td><td>http-host</td>") != std::string::npos);
  CHECK(html.find("<span class=\"plain\">NO</span>") != std::string::npos);
  CHECK(html.find("<td class=\"differs\">CN</td>") != std::string::npos);
  // Coverage, warnings, and the databases with their attribution.
  CHECK(html.find("<h2>What could be seen</h2>") != std::string::npos);
  CHECK(html.find("<h2>Warnings</h2>") != std::string::npos);
  REQUIRE(!r.geo_databases.empty());
  CHECK(html.find("fixture-country.mmdb") != std::string::npos);
  CHECK(html.find("<td class=\"mono\">dbip-country-lite-2025-01.mmdb</td><td>DBIP-Country-Lite</td><td>2025-01-01</td>") !=
        std::string::npos);
  CHECK(html.find("IP Geolocation by DB-IP (<a href=\"https://db-ip.com\" rel=\"noopener noreferrer\">"
                  "https://db-ip.com</a>), licensed under CC BY 4.0") != std::string::npos);
  check_no_fetches(html);
}

TEST_CASE("html report: a proxied flow's bytes are counted once, at the destination the client meant") {
  // tests/data/proxy-connect.pcap: two flows through tinyproxy, each in its target's destination and
  // in the proxy's. The total sent is the flows' own sum; the proxy's country gets none of it.
  const auto r = audit("proxy-connect.pcap");
  std::uint64_t sent = 0;
  for (const auto& f : r.flows) sent += f.out().bytes;
  const std::string html = html_of(r, nullptr);
  CHECK(html.find("<b>" + core::human_bytes(sent) + "</b>sent to") != std::string::npos);
  std::uint64_t proxied = 0;
  for (const auto& d : r.destinations) proxied += d.proxied_bytes_out;
  CHECK(proxied == sent);
}

TEST_CASE("html report: strings from the capture and the policy are escaped") {
  auto r = audit("deepseek-session.pcapng");
  REQUIRE(!r.destinations.empty());
  const std::string hostile = "<script>alert(1)</script>.example";
  r.destinations[0].hostname = hostile;
  r.destinations[0].names.push_back({"\"><img src=x onerror=alert(2)>", "dns", 1});
  r.destinations[0].hostname_source = "tls-sni";
  r.warnings.push_back("a warning with <b>markup</b> & \x01 a control character and \xE2\x80\xAE an override");
  auto e = evaluate(r);
  e.outcome = report::PolicyOutcome{&e.policy, &e.evaluation, "high"};
  REQUIRE(!e.evaluation.findings.empty());
  e.evaluation.findings.front().message = "sent to <iframe src=\"https://evil.example/\"></iframe>";
  const std::string html = html_of(r, &e.outcome);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("<iframe") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;.example") != std::string::npos);
  CHECK(html.find("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;") != std::string::npos);
  CHECK(html.find("a warning with &lt;b&gt;markup&lt;/b&gt; &amp; \\x01 a control character and \\u202e an "
                  "override") != std::string::npos);
  CHECK(html.find("sent to &lt;iframe src=&quot;https://evil.example/&quot;&gt;&lt;/iframe&gt;") != std::string::npos);
  check_no_fetches(html);
}

TEST_CASE("html report: redaction of messages, no policy, and the destinations cap") {
  auto r = audit("deepseek-session.pcapng");
  // The plaintext rules quote {http.path}: the evaluation redacts the value before it is quoted.
  bool has_http = false;
  for (auto& f : r.flows) {
    if (f.details && f.details->http) {
      f.details->http->path = "/v1/collect?device_id=8f3a9c1e2b7d4f60&email=a@b.c";
      has_http = true;
    }
  }
  REQUIRE(has_http);
  auto e = evaluate(r);
  e.outcome = report::PolicyOutcome{&e.policy, &e.evaluation, "never"};
  REQUIRE(!e.evaluation.findings.empty());
  const std::string redacted = html_of(r, &e.outcome, true);
  CHECK(redacted.find("/v1/collect?device_id=REDACTED&amp;email=REDACTED") != std::string::npos);
  CHECK(redacted.find("8f3a9c1e2b7d4f60") == std::string::npos);
  auto e_kept = evaluate(r, false);
  e_kept.outcome = report::PolicyOutcome{&e_kept.policy, &e_kept.evaluation, "never"};
  const std::string kept = html_of(r, &e_kept.outcome, false);
  CHECK(kept.find("device_id=8f3a9c1e2b7d4f60&amp;email=a@b.c") != std::string::npos);

  // A pass: nothing reaches --fail-on critical once the data-leaks rules (two critical findings
  // here) are off; the counts are still shown.
  rules::eval::EvalOptions critical;
  critical.fail_on = rules::Severity::kCritical;
  rules::Policy no_leaks = [] {
    rules::load::LoadOptions options;
    options.builtin_dir = source_path("data/policies");
    auto loaded = rules::load::load_policy({"default"}, options);
    REQUIRE(loaded.ok());
    return std::move(loaded.policy);
  }();
  for (auto& rule : no_leaks.rules) {
    if (rule.id.starts_with("data-leaks.")) rule.enabled = false;
  }
  auto passed = rules::eval::evaluate(no_leaks, r, critical);
  REQUIRE(!passed.failed);
  const report::PolicyOutcome pass_outcome{&no_leaks, &passed, "critical"};
  const std::string pass = html_of(r, &pass_outcome);
  CHECK(pass.find("<section class=\"verdict pass\"><div class=\"word\">PASS</div>") != std::string::npos);
  CHECK(pass.find("No finding at or above <b>critical</b> (<code>--fail-on critical</code>); 19 findings below it.") !=
        std::string::npos);

  // No policy: "not evaluated", no findings, the inventory still there.
  const std::string none = html_of(r, nullptr);
  CHECK(none.find("<div class=\"word\">NOT EVALUATED</div>") != std::string::npos);
  CHECK(none.find("Not evaluated: no policy was run.") != std::string::npos);
  CHECK(none.find("Bytes sent by server country") != std::string::npos);
  check_no_fetches(none);

  // More destinations than the table shows: capped, with a note.
  const auto one = r.destinations.front();
  r.destinations.assign(report::kHtmlMaxDestinations + 100, one);
  const std::string big = html_of(r, nullptr);
  CHECK(count(big, "<tr><td class=\"host\">") == report::kHtmlMaxDestinations);
  CHECK(big.find("the first 500 of 600") != std::string::npos);
  CHECK(big.find("100 more destinations are not shown here.") != std::string::npos);
}

TEST_CASE("html report: headless chromium renders it (screenshot)") {
  const auto r = audit("deepseek-session.pcapng");
  auto e = evaluate(r);
  e.outcome = report::PolicyOutcome{&e.policy, &e.evaluation, "high"};
  const auto dir = temp_dir();
  const auto html_path = dir / "report.html";
  const auto png_path = dir / "report.png";
  {
    std::FILE* f = std::fopen(html_path.c_str(), "w");
    REQUIRE(f != nullptr);
    report::Output out(f);
    report::write(report::Format::kHtml, {r, &e.outcome}, {}, out);
    std::fclose(f);
  }
  const std::string cmd = "'" + source_path("tests/tools/screenshot-report") + "' '" + html_path.string() + "' '" +
                          png_path.string() + "' 2>'" + (dir / "screenshot.err").string() + "'";
  const int status = std::system(cmd.c_str());
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 77) {
    MESSAGE("chromium is not installed: screenshot skipped");
    return;
  }
  INFO("screenshot-report: " << read_file(dir / "screenshot.err"));
  REQUIRE(code == 0);
  const std::string png = read_file(png_path);
  REQUIRE(png.size() > 24);
  CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  CHECK(png.compare(12, 4, "IHDR") == 0);
  const auto byte = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(png[i])); };
  const std::uint32_t width = (byte(16) << 24) | (byte(17) << 16) | (byte(18) << 8) | byte(19);
  const std::uint32_t height = (byte(20) << 24) | (byte(21) << 16) | (byte(22) << 8) | byte(23);
  CHECK(width == 1280);
  CHECK(height == 2400);
  // A blank page compresses to a few kilobytes; the report's text, charts and map do not.
  CHECK(png.size() > 20 * 1024);
  MESSAGE("screenshot: " << png_path.string() << " (" << png.size() << " bytes)");
}

}  // TEST_SUITE
}  // namespace flowaudit::e2e
