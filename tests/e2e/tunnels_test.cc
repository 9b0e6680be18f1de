// tests/data/tunnels: each link type and tunnel gives the inner flows (the audited ones), their
// names, and the outermost tunnel's addresses on the flow.
#include <doctest/doctest.h>

#include <string>

#include "e2e/e2e_util.h"

using namespace flowaudit::e2e;

namespace {

struct Case {
  const char* file;
  const char* link_type;
  const char* tunnel;  // "" when the flows are not tunnelled
  const char* outer_src_prefix;
  int flows;
};

constexpr Case kCases[] = {
    {"vxlan.pcap", "ethernet", "vxlan", "172.16.9.", 4},
    {"nflog.pcap", "nflog", "", "", 4},
    {"gre.pcap", "ethernet", "gre", "172.16.9.", 4},
    {"erspan.pcap", "ethernet", "erspan", "172.16.9.", 4},
    {"geneve.pcap", "ethernet", "geneve", "172.16.9.", 4},
    {"mpls.pcap", "ethernet", "", "", 4},
    {"ipip-4in4-6in4.pcap", "ethernet", "ip-in-ip", "172.16.9.", 4},
    {"ipip-4in6-6in6.pcap", "ethernet", "ip-in-ip", "fd00:9::", 4},
    {"teredo.pcap", "ethernet", "teredo", "172.16.9.", 2},
    {"gtp-u.pcap", "ethernet", "gtp-u", "172.16.9.", 4},
    {"ppp.pcap", "ppp", "", "", 4},
    {"ppp-hdlc.pcap", "ppp-hdlc", "", "", 4},
    {"pppoe.pcap", "ethernet", "", "", 4},
    {"wifi-radiotap.pcap", "ieee802.11-radiotap", "", "", 4},
};

}  // namespace

TEST_SUITE("e2e") {
  TEST_CASE("link types and tunnels: inner flows audited and named, tunnel on the flow") {
    for (const Case& c : kCases) {
      CAPTURE(c.file);
      const auto report = audit_json({source_path(std::string("tests/data/tunnels/") + c.file)});
      const auto& input = report.at("inputs").as_array().at(0).as_object();
      CHECK(input.at("complete").as_bool());
      CHECK(input.at("link_types").as_array().at(0).as_string() == c.link_type);
      CHECK(at_int(report, {"summary", "decode", "malformed"}) == 0);
      const auto& flows = report.at("flows").as_array();
      CHECK(static_cast<int>(flows.size()) == c.flows);
      int tls = 0;
      int dns = 0;
      for (const auto& v : flows) {
        const auto& f = v.as_object();
        const std::string client(f.at("client").as_object().at("ip").as_string());
        CHECK((client == "192.168.1.23" || client == "2a02:8108:1d40:5a00::23"));
        if (f.at("sni").is_string()) {
          CHECK(f.at("sni").as_string() == "chat.deepseek.com");
          ++tls;
        }
        if (f.at("app_protocol").is_string() && f.at("app_protocol").as_string() == "dns") ++dns;
        if (*c.tunnel == '\0') {
          CHECK(f.at("tunnel").is_null());
          continue;
        }
        REQUIRE(f.at("tunnel").is_object());
        const auto& t = f.at("tunnel").as_object();
        CHECK(t.at("type").as_string() == c.tunnel);
        CHECK(std::string(t.at("outer_src").as_string()).rfind(c.outer_src_prefix, 0) == 0);
        CHECK(std::string(t.at("outer_dst").as_string()).rfind(c.outer_src_prefix, 0) == 0);
        CHECK(get_int(t.at("depth")) == 1);
        CHECK_FALSE(t.at("depth_exceeded").as_bool());
      }
      CHECK(tls == c.flows / 2);
      CHECK(dns == c.flows / 2);
      bool named = false;
      for (const auto& d : report.at("dns").as_array()) named = named || d.as_object().at("query").as_string() == "chat.deepseek.com";
      CHECK(named);
    }
    const auto wifi = audit_json({source_path("tests/data/tunnels/wifi-radiotap.pcap")});
    CHECK(at_int(wifi, {"summary", "decode", "wlan_protected"}) == 1);
    CHECK(at_int(wifi, {"summary", "decode", "wlan_non_data"}) == 1);
  }

  TEST_CASE("netlink captures are refused with the reason, not skipped in silence") {
    // A pcap header for LINKTYPE_NETLINK (253) and one record.
    const auto path = temp_dir() / "netlink.pcap";
    std::string bytes = std::string("\xd4\xc3\xb2\xa1\x02\x00\x04\x00", 8) + std::string(8, '\0') +
                        std::string("\x00\x00\x04\x00\xfd\x00\x00\x00", 8) + std::string(8, '\0') +
                        std::string("\x10\x00\x00\x00\x10\x00\x00\x00", 8) + std::string(16, '\x01');
    FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f != nullptr);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    const auto r = run({"audit", path.string()});
    CHECK(r.exit_code != 0);
    CHECK(r.err.find("unsupported link type netlink: Linux netlink messages") != std::string::npos);
    CHECK(r.err.find("not IP traffic") != std::string::npos);
  }
}
