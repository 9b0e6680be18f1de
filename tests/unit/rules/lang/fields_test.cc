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
}
