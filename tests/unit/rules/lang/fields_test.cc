#include "rules/lang/fields.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

namespace lang = flowaudit::rules::lang;

TEST_SUITE("rules.lang.fields") {
  TEST_CASE("every field has a unique name, a description and is found by name") {
    std::set<std::string> names;
    for (const lang::FieldInfo& field : lang::all_fields()) {
      CAPTURE(field.name);
      CHECK(names.insert(std::string(field.name)).second);
      CHECK_FALSE(field.description.empty());
      REQUIRE(lang::find_field(field.name).has_value());
      CHECK(*lang::find_field(field.name) == field.id);
      CHECK(&lang::field_info(field.id) == &field);
    }
    CHECK(names.size() == lang::kFieldCount);
    CHECK_FALSE(lang::find_field("geo.nope").has_value());
  }

  TEST_CASE("the fields of the report have the documented types and scopes") {
    auto type_of = [](std::string_view name) { return lang::field_info(*lang::find_field(name)).type; };
    CHECK(type_of("hostname") == lang::FieldType::kString);
    CHECK(type_of("ip") == lang::FieldType::kAddress);
    CHECK(type_of("port") == lang::FieldType::kInteger);
    CHECK(type_of("encrypted") == lang::FieldType::kBoolean);
    CHECK(type_of("geo.country") == lang::FieldType::kCountry);
    CHECK(type_of("service.jurisdiction") == lang::FieldType::kCountry);
    CHECK(type_of("service.parent_jurisdiction") == lang::FieldType::kCountry);
    CHECK(lang::field_info(*lang::find_field("service.parent_jurisdiction")).scope == lang::Scope::kDestination);
    CHECK(type_of("tls.alpn") == lang::FieldType::kList);
    CHECK(lang::field_info(lang::FieldId::kDnsQuery).scope == lang::Scope::kDns);
    CHECK(lang::field_info(lang::FieldId::kCaptureCoverage).scope == lang::Scope::kCapture);
    for (const char* name : {"hostname_source", "transport", "app_protocol", "geo.asn", "geo.as_org", "service.id",
                             "service.name", "service.category", "service.operator", "bytes_out", "bytes_in", "flows",
                             "tls.version", "tls.cipher", "tls.ja3", "tls.ja4", "tls.ech", "tls.sni", "http.method",
                             "http.host", "http.path", "http.user_agent", "dns.qtype", "blind_spot"}) {
      CAPTURE(name);
      CHECK(lang::find_field(name).has_value());
    }
  }

  TEST_CASE("visibility: a flow sees its destination, everything sees the capture") {
    using lang::Scope;
    CHECK(lang::field_visible(Scope::kDestination, Scope::kFlow));
    CHECK(lang::field_visible(Scope::kCapture, Scope::kDns));
    CHECK_FALSE(lang::field_visible(Scope::kFlow, Scope::kDestination));
    CHECK_FALSE(lang::field_visible(Scope::kDns, Scope::kDestination));
    CHECK(lang::field_type_name(lang::FieldType::kCountry) == "country");
    CHECK(lang::scope_name(Scope::kDns) == "dns");
  }
  TEST_CASE("every flow field names its flow value, once: the group key of the memory cap follows") {
    // analysis/audit_records.cc groups dropped flows by the values of analysis/flow_values.h; a
    // flow field read any other way would let flows a rule tells apart share a group.
    std::vector<int> named(flowaudit::analysis::kFlowValueCount, 0);
    for (const auto& info : lang::all_fields()) {
      CAPTURE(info.name);
      if (info.scope == lang::Scope::kFlow) CHECK(info.flow.has_value());
      if (info.flow) ++named[static_cast<std::size_t>(*info.flow)];
    }
    for (std::size_t v = 0; v < named.size(); ++v) {
      CAPTURE(v);
      CHECK(named[v] == 1);
    }
    for (const char* name : {"hostname", "hostname_source", "app_protocol", "encrypted", "bytes_out", "bytes_in"}) {
      CAPTURE(name);
      CHECK(lang::field_info(*lang::find_field(name)).flow.has_value());  // a flow's own view of these
    }
    CHECK_FALSE(lang::field_info(*lang::find_field("flows")).flow.has_value());
  }

  TEST_CASE("only http.path and request.path are redacted as request targets in messages") {
    for (const auto& info : lang::all_fields()) {
      CAPTURE(info.name);
      CHECK(info.request_target == (info.id == lang::FieldId::kHttpPath || info.id == lang::FieldId::kRequestPath));
    }
  }

  TEST_CASE("a request rule sees its request's, flow's, destination's and the capture's fields, no DNS") {
    using lang::Scope;
    CHECK(lang::field_visible(Scope::kRequest, Scope::kRequest));
    CHECK(lang::field_visible(Scope::kFlow, Scope::kRequest));
    CHECK(lang::field_visible(Scope::kDestination, Scope::kRequest));
    CHECK(lang::field_visible(Scope::kCapture, Scope::kRequest));
    CHECK_FALSE(lang::field_visible(Scope::kDns, Scope::kRequest));
    CHECK_FALSE(lang::field_visible(Scope::kRequest, Scope::kFlow));
    CHECK(lang::scope_name(Scope::kRequest) == "request");
  }
}
