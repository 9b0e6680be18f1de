// The JSON report applies redaction to HTTP paths unless --no-redact.
#include <doctest/doctest.h>

#include "analysis/packet/transport.h"
#include "report/report.h"

namespace flowaudit::report {

TEST_SUITE("report") {

TEST_CASE("flows[].http.path is redacted by default and kept with redact off") {
  analysis::AuditResult r;
  analysis::flow::Flow f;
  f.id = 1;
  f.key.addr[0] = *core::IpAddress::parse("192.168.1.23");
  f.key.addr[1] = *core::IpAddress::parse("43.109.38.198");
  f.key.port[0] = 50000;
  f.key.port[1] = 80;
  f.key.protocol = analysis::packet::kProtoTcp;
  auto& d = r.flows.emplace_back(f).details.emplace();
  d.app = analysis::app::AppProtocol::kHttp;
  d.http = std::make_unique<analysis::app::HttpDetails>();
  d.http->method = "POST";
  d.http->host = "gator.volces.com";
  d.http->path = "/service/2/app_log/?device_id=7351861239000&aid=1";
  r.destinations = analysis::destinations_of(r.flows);
  const std::string redacted = render(Format::kJson, {r});
  CHECK(redacted.find("\"/service/2/app_log/?device_id=REDACTED&aid=REDACTED\"") != std::string::npos);
  CHECK(redacted.find("7351861239000") == std::string::npos);
  ReportOptions keep;
  keep.redact = false;
  CHECK(render(Format::kJson, {r}, keep).find("device_id=7351861239000") != std::string::npos);
}

}  // TEST_SUITE
}  // namespace flowaudit::report
