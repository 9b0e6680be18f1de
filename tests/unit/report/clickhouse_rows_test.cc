// OCSF events to ClickHouse rows (report/events/clickhouse_rows.h) and the sink's URL and labels:
// each class to its table with its columns, and every kind of event the sink must refuse.
#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <string>

#include "report/events/clickhouse_rows.h"
#include "report/events/ocsf.h"
#include "session/clickhouse_client.h"

namespace flowaudit::report::events {
namespace {

const std::string kDns =
    R"({"class_uid":4003,"category_uid":4,"activity_id":2,"activity_name":"Response","type_uid":400302,)"
    R"("time":1717236000123,"metadata":{"version":"1.1.0","uid":"3c761d3a-0d30-852b-b48a-4858657183ce",)"
    R"("log_name":"file:a.pcap","logged_time":1796660532265,"labels":["app=deepseek","app_version=1.2.3"],)"
    R"("product":{"name":"flowaudit","vendor_name":"flowaudit","version":"0.1.0"},"loggers":[{"name":"lab-7"}]},)"
    R"("severity_id":1,"src_endpoint":{"ip":"192.168.1.23","port":5353},"dst_endpoint":{"ip":"192.168.1.1","port":53},)"
    R"("query":{"hostname":"chat.deepseek.com","type":"A","class":"IN"},"rcode":"NOERROR",)"
    R"("answers":[{"rdata":"3.173.21.63"},{"rdata":"3.173.21.64"}],)"
    R"("connection_info":{"protocol_num":17,"protocol_name":"udp","direction_id":0},)"
    R"("unmapped":{"flowaudit":{"flow_id":4,"query":"chat.deepseek.com","ech":false}}})";

boost::json::object row_of(const std::string& event, EventTable want) {
  std::string rows, id, error;
  const auto table = clickhouse_row(event, rows, id, error);
  INFO(error);
  REQUIRE(table.has_value());
  CHECK(*table == want);
  REQUIRE(!rows.empty());
  CHECK(rows.back() == '\n');
  CHECK(rows.find('\n') == rows.size() - 1);
  return boost::json::parse(rows).as_object();
}

std::string refused(std::string event) {
  std::string rows = "kept\n", id, error;
  CHECK(!clickhouse_row(event, rows, id, error).has_value());
  CHECK(rows == "kept\n");
  return error;
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("clickhouse rows: a DNS event becomes a dns_activity row with the common columns") {
  const auto row = row_of(kDns, EventTable::kDns);
  CHECK(row.at("event_id").as_string() == "3c761d3a-0d30-852b-b48a-4858657183ce");
  CHECK(row.at("time").to_number<std::uint64_t>() == 1717236000);  // seconds
  CHECK(row.at("logged").to_number<std::uint64_t>() == 1796660532);
  CHECK(row.at("sensor").as_string() == "lab-7");
  CHECK(row.at("device").as_string() == "lab-7");  // no device label: the sensor
  CHECK(row.at("app").as_string() == "deepseek");
  CHECK(row.at("app_version").as_string() == "1.2.3");
  CHECK(row.at("labels").as_array().size() == 2);
  CHECK(row.at("source").as_string() == "file:a.pcap");
  CHECK(row.at("activity").as_string() == "Response");
  CHECK(row.at("query").as_string() == "chat.deepseek.com");
  CHECK(row.at("qtype").as_string() == "A");
  CHECK(row.at("rcode").as_string() == "NOERROR");
  CHECK(row.at("answers").as_array().size() == 2);
  CHECK(row.at("src_port").to_number<std::uint64_t>() == 5353);
  CHECK(row.at("ech").to_number<std::uint64_t>() == 0);
  CHECK(!row.contains("dst_name"));  // dns_activity has no destination columns
  CHECK(table_name(EventTable::kDns) == "dns_activity");
}

TEST_CASE("clickhouse rows: a device label names the device") {
  const auto row = row_of(replaced(kDns, "\"app=deepseek\"", "\"device=phone-1\""), EventTable::kDns);
  CHECK(row.at("device").as_string() == "phone-1");
  CHECK(row.at("sensor").as_string() == "lab-7");
}

TEST_CASE("clickhouse rows: events the sink must refuse, rows untouched") {
  CHECK(refused("not json").starts_with("not JSON"));
  CHECK(refused("[1,2]") == "not a JSON object");
  CHECK(refused(std::string(100, '[')).starts_with("not JSON"));  // deeper than the parser's bound
  CHECK(refused(replaced(kDns, "\"name\":\"flowaudit\"", "\"name\":\"other\"")).find("not an event of flowaudit") !=
        std::string::npos);
  CHECK(refused(replaced(kDns, "3c761d3a-0d30", "3c761d3a-0d3x")) == "metadata.uid is not a UUID");
  CHECK(refused(replaced(kDns, "\"time\":1717236000123,", "")) == "no time");
  CHECK(refused(replaced(kDns, "\"class_uid\":4003", "\"class_uid\":1001")).find("class_uid") != std::string::npos);
  // A time DateTime cannot hold, a port past 65535, a string where a count goes, a huge array.
  CHECK(refused(replaced(kDns, "1717236000123", "99999999999999999")) == "time is not at most 4294967295000");
  CHECK(refused(replaced(kDns, "\"port\":5353", "\"port\":70000")) == "src_endpoint.port is not at most 65535");
  CHECK(refused(replaced(kDns, "\"flow_id\":4", "\"flow_id\":\"4\"")) == "unmapped.flowaudit.flow_id is not a count");
  CHECK(refused(replaced(kDns, "\"flow_id\":4", "\"flow_id\":-4")) == "unmapped.flowaudit.flow_id is not a count");
  CHECK(refused(replaced(kDns, "\"rcode\":\"NOERROR\"", "\"rcode\":3")) == "rcode is not a string");
  std::string many = "[";
  for (int i = 0; i < 5000; ++i) many += std::string(i == 0 ? "" : ",") + "{\"rdata\":\"x\"}";
  many += "]";
  CHECK(refused(replaced(kDns, "[{\"rdata\":\"3.173.21.63\"},{\"rdata\":\"3.173.21.64\"}]", many)) ==
        "answers is not at most 4096 items");
  CHECK(refused(std::string(kMaxEventBytes + 1, ' ')).find("bytes (at most") != std::string::npos);
}

TEST_CASE("clickhouse rows: what came from the wire is escaped in the row") {
  const auto row = row_of(replaced(kDns, "\"query\":\"chat.deepseek.com\"", "\"query\":\"a\\\"b\\u0001\\n.example\""),
                          EventTable::kDns);
  CHECK(row.at("query").as_string() == "a\"b\x01\n.example");
}

TEST_CASE("sink URLs and labels") {
  std::string error;
  auto t = session::parse_clickhouse_target("http://127.0.0.1:18123/fleet", error);
  REQUIRE(t);
  CHECK(t->port == 18123);
  CHECK(t->database == "fleet");
  t = session::parse_clickhouse_target("https://[::1]", error);
  REQUIRE(t);
  CHECK(t->https);
  CHECK(t->host == "::1");
  CHECK(t->port == 8443);
  CHECK(t->database == "flowaudit");
  CHECK(t->base_url() == "https://[::1]:8443/");
  CHECK(!session::parse_clickhouse_target("http://u:p@host/db", error));
  CHECK(error.find("no user or password") != std::string::npos);
  CHECK(!session::parse_clickhouse_target("http://host/db;DROP", error));
  CHECK(!session::parse_clickhouse_target("ftp://host/db", error));
  CHECK(!session::parse_clickhouse_target("http://host:0/db", error));
  CHECK(!session::parse_clickhouse_target("http://:8123/db", error));

  CHECK(label_error("app=deepseek").empty());
  CHECK(label_error("app_version=1.2.3").empty());
  CHECK(!label_error("app").empty());
  CHECK(!label_error("=x").empty());
  CHECK(!label_error("app=").empty());
  CHECK(!label_error("a b=x").empty());
  CHECK(!label_error("app=x\x1b[31m").empty());
  CHECK(!label_error("app=" + std::string(257, 'x')).empty());
}

}  // namespace flowaudit::report::events
