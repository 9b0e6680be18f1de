// Bad input from the command line: one clear line naming the file, exit 2 when nothing could be read,
// and a report of what could be read when something could.
#include <fstream>

#include "e2e/e2e_util.h"

namespace flowaudit::e2e {
namespace {

std::size_t count_lines(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += c == '\n' ? 1 : 0;
  return n;
}

std::string write_temp(const std::string& name, const std::string& content) {
  const auto p = temp_dir() / name;
  std::ofstream(p, std::ios::binary) << content;
  return p.string();
}

}  // namespace

TEST_SUITE("e2e") {

TEST_CASE("a missing file is named in one line and exits 2") {
  const auto path = (temp_dir() / "does-not-exist.pcap").string();
  const auto r = run({"audit", path});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(path) != std::string::npos);
  CHECK(r.err.find("No such file") != std::string::npos);
  CHECK(count_lines(r.err) == 1);
  CHECK(r.out.empty());
}

TEST_CASE("a directory is rejected") {
  const auto r = run({"audit", temp_dir().string()});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("is a directory") != std::string::npos);
  CHECK(count_lines(r.err) == 1);
}

TEST_CASE("an empty file is rejected") {
  const auto path = write_temp("empty.pcap", "");
  const auto r = run({"audit", path});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("empty file") != std::string::npos);
  CHECK(r.err.find(path) != std::string::npos);
}

TEST_CASE("a file that is not a capture is rejected at offset 0") {
  const auto path = write_temp("notes.pcap", "these are my notes, not packets\n");
  const auto r = run({"audit", path});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("not a pcap or pcapng file") != std::string::npos);
  CHECK(r.err.find("offset 0") != std::string::npos);
}

TEST_CASE("a pcap header alone is a readable, empty capture") {
  std::string header("\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x04\x00\x01\x00\x00\x00", 24);
  const auto path = write_temp("header-only.pcap", header);
  const auto report = audit_json({path});
  CHECK(at_int(report, {"summary", "packets"}) == 0);
  CHECK(report.at("inputs").as_array()[0].as_object().at("complete").as_bool());
}

TEST_CASE("an unreadable file among readable ones is a warning, not a failure") {
  const auto good = source_path("examples/deepseek-session.pcapng");
  const auto missing = (temp_dir() / "missing.pcap").string();
  const auto report = audit_json({good, missing});
  const auto& inputs = report.at("inputs").as_array();
  REQUIRE(inputs.size() == 2);
  CHECK(inputs[0].as_object().at("complete").as_bool());
  CHECK_FALSE(inputs[1].as_object().at("complete").as_bool());
  CHECK(inputs[1].as_object().at("error").as_string().find(missing) != std::string::npos);
  CHECK(report.at("warnings").as_array().size() >= 1);
}

TEST_CASE("usage errors exit 2") {
  CHECK(run({"audit"}).exit_code == 2);
  CHECK(run({"audit", "x.pcap", "--report", "pdf"}).exit_code == 2);
  CHECK(run({"audit", "x.pcap", "--client", "not-an-address"}).exit_code == 2);
  CHECK(run({"audit", "-", "-"}).exit_code == 2);
  CHECK(run({"frobnicate"}).exit_code == 2);
  CHECK(run({"--version"}).exit_code == 0);
}

}  // TEST_SUITE
}  // namespace flowaudit::e2e
