// --events ocsf (issue 19): the audit as OCSF 1.1 events. Every event of every committed capture
// conforms to the OCSF 1.1.0 classes (tests/data/ocsf, transcribed from the published schema); there
// is one event per flow record, DNS message, request and finding of the JSON report; ids are the
// same on every run and differ between sensors; personal data is redacted as in the report; the
// file is 0600, appended to, rotated by size, never written through a symbolic link.
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "e2e/e2e_util.h"
#include "e2e/ocsf_validator.h"
#include "unit/temp_dir.h"

namespace flowaudit::e2e {
namespace {

namespace fs = std::filesystem;

std::vector<boost::json::object> read_events(const fs::path& file) {
  std::vector<boost::json::object> out;
  std::istringstream in(read_file(file));
  std::string line;
  while (std::getline(in, line)) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    REQUIRE_MESSAGE(!ec, file.string() << ": a line is not JSON: " << line.substr(0, 200));
    REQUIRE(v.is_object());
    out.push_back(std::move(v.as_object()));
  }
  return out;
}

const OcsfValidator& validator() {
  static const OcsfValidator v(source_path("tests/data/ocsf/ocsf-1.1.0.json"));
  return v;
}

std::string uid_of(const boost::json::object& e) { return std::string(e.at("metadata").at("uid").as_string()); }

std::vector<fs::path> committed_captures() {
  std::set<fs::path> found;
  for (const auto& e : fs::recursive_directory_iterator(source_path("tests/data"))) {
    const auto ext = e.path().extension();
    if (e.is_regular_file() && (ext == ".pcap" || ext == ".pcapng")) found.insert(e.path());
  }
  return {found.begin(), found.end()};
}

struct Audited {
  RunResult run;
  boost::json::object report;
  std::vector<boost::json::object> events;
};

// Audits with the default policy, the JSON report and the events in files.
Audited audit_with_events(const std::vector<std::string>& inputs, const std::vector<std::string>& extra = {},
                          bool allow_unreadable = false) {
  static int counter = 0;
  const auto n = std::to_string(counter++);
  const auto report = temp_dir() / ("events-report" + n + ".json");
  const auto events = temp_dir() / ("events" + n + ".ndjson");
  std::vector<std::string> args{"audit"};
  args.insert(args.end(), inputs.begin(), inputs.end());
  for (const auto& a : {std::string("--report"), "json:" + report.string(), std::string("--events"),
                        "ocsf:" + events.string(), std::string("--fail-on"), std::string("never")}) {
    args.push_back(a);
  }
  args.insert(args.end(), extra.begin(), extra.end());
  Audited a;
  a.run = run(args);
  INFO("flowaudit " << binary_command(args) << "\n" << a.run.err);
  // Nothing readable (tests/data/bad): no report and no events, as a usage error.
  if (allow_unreadable && a.run.exit_code == 2 && !fs::exists(report)) {
    CHECK(!fs::exists(events));
    return a;
  }
  REQUIRE(a.run.exit_code == 0);
  boost::system::error_code ec;
  auto v = boost::json::parse(read_file(report), ec);
  REQUIRE(!ec);
  a.report = std::move(v.as_object());
  a.events = read_events(events);
  return a;
}

std::map<std::int64_t, std::size_t> by_class(const std::vector<boost::json::object>& events) {
  std::map<std::int64_t, std::size_t> out;
  for (const auto& e : events) ++out[e.at("class_uid").as_int64()];
  return out;
}

}  // namespace

TEST_SUITE("e2e") {

TEST_CASE("events: every event of every committed capture conforms to OCSF 1.1.0, one per record") {
  // One `audit --each` over every committed capture (one process start, not 94: the sanitizer build
  // starts slowly), every key log given to every audit, a report per capture and one stream.
  const auto captures = committed_captures();
  REQUIRE(captures.size() > 80);
  const test::TempDir dir;
  std::vector<std::string> args{"audit", "--each"};
  for (const auto& c : captures) args.push_back(c.string());
  for (const auto& c : captures) {
    auto keys = c;
    keys.replace_extension(".keys");
    if (fs::exists(keys)) {
      args.emplace_back("--keylog");
      args.push_back(keys.string());
    }
  }
  const auto stream = dir.path() / "all.ndjson";
  for (const auto& a : {std::string("--jobs"), std::string("2"), std::string("--sensor-id"), std::string("e2e-sensor"),
                        std::string("--fail-on"), std::string("never"), std::string("--events"),
                        "ocsf:" + stream.string(), std::string("--report"),
                        "json:" + (dir.path() / "{index}.json").string()}) {
    args.push_back(a);
  }
  const RunResult r = run(args);
  INFO(r.err);
  CHECK(r.exit_code == 2);  // tests/data/bad holds captures that cannot be read
  std::map<std::string, std::vector<boost::json::object>> by_source;
  std::set<std::string> uids;
  for (auto& e : read_events(stream)) {
    const auto problems = validator().check(e);
    std::string text;
    for (const auto& p : problems) text += "\n  " + p;
    CHECK_MESSAGE(problems.empty(), boost::json::serialize(e).substr(0, 400) << text);
    CHECK(uids.insert(uid_of(e)).second);
    CHECK(e.at("metadata").at("loggers").at(0).at("name") == "e2e-sensor");
    by_source[std::string(e.at("metadata").at("log_name").as_string())].push_back(std::move(e));
  }
  std::map<std::int64_t, std::size_t> total;
  std::size_t read = 0;
  for (std::size_t i = 0; i < captures.size(); ++i) {
    const auto report_path = dir.path() / (std::to_string(i + 1) + ".json");
    if (!fs::exists(report_path)) continue;  // not readable: no report, no events
    ++read;
    INFO(captures[i].string());
    const auto report = boost::json::parse(read_file(report_path)).as_object();
    const auto& events = by_source["file:" + captures[i].string()];
    // One event per record of the report.
    const auto counts = by_class(events);
    const auto count = [&](std::int64_t k) { return counts.count(k) != 0 ? counts.at(k) : std::size_t{0}; };
    std::size_t requests = 0;
    for (const auto& f : report.at("flows").as_array()) {
      if (const auto* q = f.as_object().if_contains("requests")) requests += q->as_array().size();
    }
    CHECK(count(4001) == report.at("flows").as_array().size());
    CHECK(count(4002) == requests);
    CHECK(count(4003) == report.at("dns").as_array().size());
    CHECK(count(2004) == report.at("findings").as_array().size());
    for (const auto& [k, n] : counts) total[k] += n;
  }
  CHECK(read > 80);
  CHECK(by_source.size() <= read);
  // The committed captures exercise every class.
  MESSAGE("events of the committed captures: " << total[4001] << " network, " << total[4002] << " HTTP, "
                                               << total[4003] << " DNS, " << total[2004] << " findings");
  CHECK(total[4001] > 200);
  CHECK(total[4002] > 10);
  CHECK(total[4003] > 50);
  CHECK(total[2004] > 50);
}

TEST_CASE("events: the OCSF validator refuses what does not conform") {
  const auto good = boost::json::parse(R"({"class_uid":4001,"category_uid":4,"activity_id":2,"type_uid":400102,
    "time":1717236000000,"severity_id":1,"metadata":{"version":"1.1.0","product":{"name":"flowaudit","vendor_name":"x"}},
    "src_endpoint":{"ip":"192.168.1.2","port":5000},"dst_endpoint":{"ip":"3.1.2.3","port":443,"hostname":"a.example"}})");
  REQUIRE(validator().check(good).empty());
  const auto problems_of = [&](const std::function<void(boost::json::object&)>& change) {
    auto bad = good;
    change(bad.as_object());
    const auto p = validator().check(bad);
    return p.empty() ? std::string() : p.front();
  };
  CHECK(problems_of([](auto& e) { e.erase("metadata"); }).find("metadata: required") != std::string::npos);
  CHECK(problems_of([](auto& e) { e["type_uid"] = 400106; }).find("type_uid") != std::string::npos);
  CHECK(problems_of([](auto& e) { e["category_uid"] = 2; }).find("category") != std::string::npos);
  CHECK(problems_of([](auto& e) { e["activity_id"] = 7; }).find("not one of its values") != std::string::npos);
  CHECK(problems_of([](auto& e) { e["invented"] = 1; }).find("not an attribute") != std::string::npos);
  CHECK(problems_of([](auto& e) { e["time"] = "now"; }).find("must be an integer") != std::string::npos);
  CHECK(problems_of([](auto& e) { e["src_endpoint"] = boost::json::object{{"port", 1}}; }).find("at least one") !=
        std::string::npos);
  CHECK(problems_of([](auto& e) { e["dst_endpoint"].as_object()["port"] = 70000; }).find("outside") !=
        std::string::npos);
  CHECK(problems_of([](auto& e) { e["dst_endpoint"].as_object()["hostname"] = "a b"; }).find("not a hostname") !=
        std::string::npos);
  CHECK(problems_of([](auto& e) { e["dst_endpoint"].as_object()["ip"] = "300.1.1.1"; }).find("ip_t") !=
        std::string::npos);
  CHECK(problems_of([](auto& e) { e["metadata"].as_object().erase("version"); }).find("version: required") !=
        std::string::npos);
  CHECK(problems_of([](auto& e) { e["enrichments"] = boost::json::object{}; }).find("array") != std::string::npos);
}

TEST_CASE("events: what a network event says about a named, catalogued destination") {
  const Audited a = audit_with_events({source_path("examples/deepseek-session.pcapng")});
  bool found = false;
  for (const auto& e : a.events) {
    if (e.at("class_uid") != 4001) continue;
    const auto& dst = e.at("dst_endpoint").as_object();
    if (!dst.contains("hostname") || dst.at("hostname") != "chat.deepseek.com") continue;
    found = true;
    CHECK(e.at("tls").at("sni") == "chat.deepseek.com");
    CHECK(e.at("app_name") == "DeepSeek");
    const auto& x = e.at("unmapped").at("flowaudit").as_object();
    CHECK(x.at("hostname_source") == "tls-sni");
    CHECK(x.at("service_id") == "deepseek");
    CHECK(x.at("jurisdiction") == "CN");
    CHECK(x.at("encrypted") == true);
    CHECK(x.at("ja4").is_string());
    const auto& enrichment = e.at("enrichments").at(0).as_object();
    CHECK(enrichment.at("name") == "dst_endpoint.hostname");
    CHECK(enrichment.at("data").at("operator").as_string().find("DeepSeek") != boost::json::string::npos);
    CHECK(e.at("traffic").at("bytes_out").as_int64() > 0);
  }
  CHECK(found);
}

TEST_CASE("events: ids are the same on every run, differ between sensors and between audits") {
  const auto capture = source_path("examples/deepseek-leaks.pcapng");
  const Audited one = audit_with_events({capture}, {"--sensor-id", "a"});
  const Audited again = audit_with_events({capture}, {"--sensor-id", "a"});
  const Audited other = audit_with_events({capture}, {"--sensor-id", "b"});
  REQUIRE(one.events.size() == again.events.size());
  REQUIRE(one.events.size() == other.events.size());
  REQUIRE(!one.events.empty());
  std::set<std::string> a_ids;
  for (std::size_t i = 0; i < one.events.size(); ++i) {
    CHECK(uid_of(one.events[i]) == uid_of(again.events[i]));
    CHECK(uid_of(one.events[i]) != uid_of(other.events[i]));
    a_ids.insert(uid_of(one.events[i]));
  }
  const Audited session = audit_with_events({source_path("examples/deepseek-session.pcapng")}, {"--sensor-id", "a"});
  for (const auto& e : session.events) CHECK(a_ids.count(uid_of(e)) == 0);
}

TEST_CASE("events: personal data is redacted as in the report, and kept with --no-redact") {
  const auto capture = source_path("examples/deepseek-leaks.pcapng");
  const auto text = [](const std::vector<boost::json::object>& events) {
    std::string all;
    for (const auto& e : events) all += boost::json::serialize(e) + "\n";
    return all;
  };
  const Audited redacted = audit_with_events({capture});
  const Audited full = audit_with_events({capture}, {"--no-redact"});
  // The request paths of the events are the report's paths, redacted or not alike.
  std::vector<std::string> report_paths, event_paths;
  for (const auto& f : redacted.report.at("flows").as_array()) {
    if (const auto* r = f.as_object().if_contains("requests")) {
      for (const auto& q : r->as_array()) report_paths.emplace_back(q.at("path").as_string());
    }
  }
  for (const auto& e : redacted.events) {
    if (e.at("class_uid") == 4002) event_paths.emplace_back(e.at("http_request").at("url").at("path").as_string());
  }
  CHECK(event_paths == report_paths);
  CHECK(text(redacted.events).find("REDACTED") != std::string::npos);
  // What the example leaks (examples/README.md): a device id sent to Volcengine, masked unless asked.
  CHECK(text(redacted.events).find("7321456789012345678") == std::string::npos);
  CHECK(text(full.events).find("7321456789012345678") != std::string::npos);
}

TEST_CASE("events: standard output, the report moves to standard error") {
  const auto capture = source_path("examples/deepseek-session.pcapng");
  const RunResult r = run({"audit", capture, "--events", "ocsf", "--fail-on", "never"});
  REQUIRE(r.exit_code == 0);
  std::istringstream in(r.out);
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    boost::system::error_code ec;
    const auto v = boost::json::parse(line, ec);
    REQUIRE(!ec);
    CHECK(validator().check(v).empty());
    ++n;
  }
  CHECK(n > 10);
  CHECK(r.err.find("Destinations by bytes sent") != std::string::npos);
  // With a report on standard output as well, the two would mix: refused before any work.
  const RunResult both = run({"audit", capture, "--events", "ocsf:-", "--report", "json"});
  CHECK(both.exit_code == 2);
  CHECK(both.err.find("standard output") != std::string::npos);
}

TEST_CASE("events: a file is 0600, appended to, rotated by size, never written through a link") {
  const test::TempDir dir;
  const auto file = dir.path() / "events.ndjson";
  const auto capture = source_path("examples/deepseek-session.pcapng");
  const std::vector<std::string> base{"audit", capture, "--fail-on", "never", "--report", "json:/dev/null",
                                      "--events", "ocsf:" + file.string()};
  REQUIRE(run(base).exit_code == 0);
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const auto first = read_events(file).size();
  REQUIRE(first > 10);
  REQUIRE(run(base).exit_code == 0);
  CHECK(read_events(file).size() == 2 * first);  // appended: a restarted sensor keeps what it wrote

  // Rotation: no file past 4 KiB (an event is far smaller), nothing lost.
  fs::remove(file);
  auto rotated = base;
  rotated.insert(rotated.end(), {"--events-rotate", "4k"});
  const RunResult r = run(rotated);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::size_t files = 0, events = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    ++files;
    CHECK(fs::file_size(e.path()) <= 4096);
    CHECK(e.path().filename().string().rfind("events.ndjson", 0) == 0);
    events += read_events(e.path()).size();
    REQUIRE(::stat(e.path().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  CHECK(files > 2);
  CHECK(events == first);

  // A planted link is refused, and its target left alone.
  const auto target = dir.path() / "target";
  { std::ofstream(target) << "keep\n"; }
  const auto link = dir.path() / "link.ndjson";
  fs::create_symlink(target, link);
  const RunResult refused = run({"audit", capture, "--events", "ocsf:" + link.string()});
  CHECK(refused.exit_code == 2);
  CHECK(read_file(target) == "keep\n");
}

TEST_CASE("events: audit --each, one audit per capture into one stream") {
  const test::TempDir dir;
  const std::vector<std::string> captures{source_path("examples/deepseek-leaks.pcapng"),
                                          source_path("examples/deepseek-session.pcapng"),
                                          source_path("tests/data/dns-records.pcap")};
  const auto stream = dir.path() / "all.ndjson";
  std::vector<std::string> args{"audit", "--each"};
  args.insert(args.end(), captures.begin(), captures.end());
  for (const auto& a : {std::string("--jobs"), std::string("2"), std::string("--sensor-id"), std::string("lab"),
                        std::string("--events"), "ocsf:" + stream.string(), std::string("--report"),
                        "json:" + (dir.path() / "{name}.json").string()}) {
    args.push_back(a);
  }
  const RunResult r = run(args);
  INFO(r.err);
  CHECK(r.exit_code == 1);  // the worst: the DeepSeek captures fail the default policy
  const auto events = read_events(stream);
  // Each capture's events are the ones its own audit writes, ids included, and come together.
  std::set<std::string> all;
  for (const auto& e : events) all.insert(uid_of(e));
  CHECK(all.size() == events.size());
  std::size_t alone_total = 0;
  for (const auto& c : captures) {
    CHECK(r.out.find(c + ": ") != std::string::npos);
    CHECK(fs::exists(dir.path() / (fs::path(c).stem().string() + ".json")));
    const Audited alone = audit_with_events({c}, {"--sensor-id", "lab"});
    alone_total += alone.events.size();
    for (const auto& e : alone.events) CHECK(all.count(uid_of(e)) == 1);
  }
  CHECK(events.size() == alone_total);
  std::vector<std::string> order;
  for (const auto& e : events) {
    const std::string source(e.at("metadata").at("log_name").as_string());
    if (order.empty() || order.back() != source) order.push_back(source);
  }
  CHECK(order.size() == captures.size());

  // A capture that cannot be read: its line says so, the others are audited, the exit code is 2.
  const RunResult bad = run({"audit", "--each", captures[2], source_path("tests/data/bad/not-a-capture.pcap"),
                             "--policy", "none"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.out.find("dns-records.pcap: not evaluated") != std::string::npos);
  CHECK(bad.out.find("not-a-capture.pcap: not read") != std::string::npos);
  CHECK(run({"audit", "--each", captures[2], "--policy", "none"}).exit_code == 0);

  // Reports must be one per capture; standard input cannot be shared; --jobs needs --each.
  CHECK(run({"audit", "--each", captures[0], captures[1], "--report", "json:" + (dir.path() / "r.json").string()})
            .exit_code == 2);
  CHECK(run({"audit", "--each", captures[0], "--report", "json"}).exit_code == 2);
  CHECK(run({"audit", "--each", "-"}, captures[0]).exit_code == 2);
  CHECK(run({"audit", captures[0], "--jobs", "2"}).exit_code == 2);
  // Two captures with the same name: {name} collides, {index} does not.
  const auto other = dir.path() / "x";
  fs::create_directories(other);
  fs::copy_file(captures[2], other / "dns-records.pcap");
  const std::string same = (other / "dns-records.pcap").string();
  CHECK(run({"audit", "--each", captures[2], same, "--report", "json:" + (dir.path() / "{name}.json").string()})
            .exit_code == 2);
  CHECK(run({"audit", "--each", captures[2], same, "--policy", "none", "--report",
             "json:" + (dir.path() / "{index}-{name}.json").string()})
            .exit_code == 0);
  CHECK(fs::exists(dir.path() / "2-dns-records.json"));
}

TEST_CASE("events: labels in every event's metadata, conforming; flows past the record cap are said to have none") {
  const Audited a = audit_with_events({source_path("examples/deepseek-session.pcapng")},
                                      {"--label", "app=deepseek", "--label", "app_version=1.2.3", "--max-flow-records",
                                       "2"});
  REQUIRE(!a.events.empty());
  for (const auto& e : a.events) {
    const auto& labels = e.at("metadata").at("labels").as_array();
    REQUIRE(labels.size() == 2);
    CHECK(labels[0] == "app=deepseek");
    CHECK(labels[1] == "app_version=1.2.3");
    CHECK(validator().check(e).empty());
  }
  // Two flow records kept: the other flows have no Network Activity event, and the run says so.
  const auto dropped = at_int(a.report, {"summary", "caps", "flow_records_dropped"});
  REQUIRE(dropped > 0);
  CHECK(by_class(a.events)[4001] == 2);
  CHECK(a.run.err.find(std::to_string(dropped) + " of ") != std::string::npos);
  CHECK(a.run.err.find("have no Network Activity event") != std::string::npos);
  const auto capture = source_path("examples/deepseek-session.pcapng");
  CHECK(run({"audit", capture, "--events", "ocsf:/dev/null", "--label", "no-equals"}).exit_code == 2);
  CHECK(run({"audit", capture, "--events", "ocsf:/dev/null", "--label", "app=\x1b[2J"}).exit_code == 2);
}

TEST_CASE("events: bad options are usage errors before any work") {
  const auto capture = source_path("examples/deepseek-session.pcapng");
  CHECK(run({"audit", capture, "--events", "json"}).exit_code == 2);
  CHECK(run({"audit", capture, "--events-rotate", "1M"}).exit_code == 2);
  CHECK(run({"audit", capture, "--events", "ocsf:/dev/null", "--events-rotate", "10"}).exit_code == 2);
  CHECK(run({"audit", capture, "--events", "ocsf", "--events-rotate", "1h"}).exit_code == 2);
  const RunResult r = run({"audit", capture, "--events", "ocsf:" + (temp_dir() / "no/such/dir/e.ndjson").string()});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--events") != std::string::npos);
}

}  // TEST_SUITE

}  // namespace flowaudit::e2e
