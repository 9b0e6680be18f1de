// Nothing skipped in silence (issue 13 class 9): on committed captures every flow without a name
// carries flows[].unnamed_reason, summary.coverage.unnamed counts them, the text, Markdown and HTML
// reports say why, and a policy can test the field.
#include <map>

#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

using boost::json::object;

std::string data(const std::string& name) { return source_path("tests/data/" + name); }

// reason -> flows, from flows[] (every unnamed flow must have one, no named flow may)
std::map<std::string, int> reasons_of(const object& report) {
  std::map<std::string, int> out;
  for (const auto& v : report.at("flows").as_array()) {
    const auto& f = v.as_object();
    const bool named = !f.at("hostname").is_null();
    const auto& why = f.at("unnamed_reason");
    CHECK(named == why.is_null());
    if (!why.is_null()) ++out[std::string(why.as_string())];
  }
  const auto& counts = report.at("summary").at("coverage").at("unnamed").as_object();
  for (const auto& [reason, n] : out) CHECK(get_int(counts.at(reason)) == n);
  return out;
}

}  // namespace

TEST_CASE("e2e: every unnamed flow says why, per committed capture" * doctest::test_suite("e2e")) {
  struct Case {
    const char* capture;
    const char* reason;
    int flows;
  };
  for (const Case c : {Case{"tls12-nosni.pcap", "no-sni", 1}, Case{"ech-quic.pcap", "quic-undecryptable", 1},
                       Case{"blind-spots.pcap", "unknown-protocol", 2}, Case{"blind-spots.pcap", "no-sni", 1},
                       Case{"dns-records.pcap", "dns-exchange", 6},
                       Case{"hostile/injection.pcap", "http-no-host", 1},
                       Case{"hostile/injection.pcap", "http-no-request", 1},
                       Case{"hostile/undecided-first-bytes.pcap", "inspection-limit", 2},
                       Case{"hostile/tls-reorder-limit.pcap", "inspection-limit", 1}}) {
    INFO(c.capture);
    const auto report = audit_json({data(c.capture)});
    const auto reasons = reasons_of(report);
    CHECK(reasons.count(c.reason) == 1);
    if (reasons.count(c.reason) == 1) CHECK(reasons.at(c.reason) == c.flows);
  }
}

TEST_CASE("e2e: unnamed reasons in the text, Markdown and HTML reports" * doctest::test_suite("e2e")) {
  const auto text = run({"audit", data("blind-spots.pcap"), "--policy", "none", "--color", "never"});
  CHECK(text.out.find("Unnamed (flows, why): 1 no-sni, 2 unknown-protocol") != std::string::npos);
  const auto md = run({"audit", data("blind-spots.pcap"), "--policy", "none", "--report", "md"});
  CHECK(md.out.find("unnamed (flows, why): 1 no-sni, 2 unknown-protocol") != std::string::npos);
  const auto html = run({"audit", data("blind-spots.pcap"), "--policy", "none", "--report", "html"});
  CHECK(html.out.find("Flows without a name") != std::string::npos);
  CHECK(html.out.find("<td>unknown-protocol</td><td class=\"num\">2</td>") != std::string::npos);
  // A capture where every flow is named says nothing about it.
  const auto named = run({"audit", data("tls13-sni-alpn.pcap"), "--policy", "none", "--color", "never"});
  CHECK(named.out.find("Unnamed (flows") == std::string::npos);
}

TEST_CASE("e2e: a policy can require or match unnamed_reason" * doctest::test_suite("e2e")) {
  const auto policy = temp_dir() / "unnamed-policy.yaml";
  {
    std::ofstream out(policy);
    out << "policy:\n  name: unnamed\nrules:\n"
           "  - id: unnamed.no-sni\n    title: TLS without a server name\n    severity: medium\n"
           "    scope: flow\n    condition: unnamed_reason == \"no-sni\"\n"
           "    message: \"{ip}:{port} sent a ClientHello without SNI ({unnamed_reason})\"\n";
  }
  const auto report = audit_json({data("blind-spots.pcap")}, {"--policy", policy.string(), "--fail-on", "never"});
  int hits = 0;
  for (const auto& v : report.at("findings").as_array()) {
    const auto& f = v.as_object();
    if (f.at("rule").as_string() != "unnamed.no-sni") continue;
    ++hits;
    CHECK(std::string(f.at("message").as_string()).find("(no-sni)") != std::string::npos);
  }
  CHECK(hits == 1);
  const auto fields = run({"rules", "fields"});
  CHECK(fields.out.find("unnamed_reason") != std::string::npos);
}

}  // namespace flowaudit::e2e
