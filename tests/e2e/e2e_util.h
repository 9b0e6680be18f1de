// Runs the flowaudit binary as a user would and reads back its exit code, output and JSON report.
#pragma once

#include <boost/json.hpp>
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace flowaudit::e2e {

inline std::string source_path(const std::string& relative) {
  return std::string(FLOWAUDIT_SOURCE_DIR) + "/" + relative;
}

inline std::filesystem::path temp_dir() {
  static const std::filesystem::path dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "flowaudit-e2e-XXXXXX").string();
    const char* made = ::mkdtemp(tmpl.data());
    REQUIRE(made != nullptr);
    return std::filesystem::path(made);
  }();
  return dir;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a shell command line with its standard output and error captured (in temp files).
inline RunResult run_shell(const std::string& command) {
  static int counter = 0;
  const auto dir = temp_dir();
  const auto out_path = dir / ("out" + std::to_string(counter) + ".txt");
  const auto err_path = dir / ("err" + std::to_string(counter) + ".txt");
  ++counter;
  const std::string cmd = command + " > '" + out_path.string() + "' 2> '" + err_path.string() + "'";
  const int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(out_path);
  r.err = read_file(err_path);
  return r;
}

// The binary with `args` single-quoted, after `prefix` (e.g. "timeout 120"); `stdin_file`
// (optional) is redirected in.
inline std::string binary_command(const std::vector<std::string>& args, const std::string& prefix = "",
                                  const std::string& stdin_file = "") {
  std::string cmd = prefix.empty() ? std::string() : prefix + " ";
  cmd += std::string("'") + FLOWAUDIT_BINARY + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  if (!stdin_file.empty()) cmd += " < '" + stdin_file + "'";
  return cmd;
}

// Arguments are passed to the shell single-quoted; `stdin_file` (optional) is redirected in.
inline RunResult run(const std::vector<std::string>& args, const std::string& stdin_file = "") {
  return run_shell(binary_command(args, "", stdin_file));
}

// The report's warnings without the one about a missing geolocation database: whether the machine
// has one (scripts/fetch-geodb) is not what a test about reading captures checks.
inline std::vector<std::string> capture_warnings(const boost::json::object& report) {
  std::vector<std::string> out;
  for (const auto& w : report.at("warnings").as_array()) {
    const std::string s(w.as_string());
    if (s.rfind("no geolocation database found", 0) != 0) out.push_back(s);
  }
  return out;
}

// The report's first flow whose app_protocol is `protocol` (fails the test when there is none).
inline const boost::json::object& first_flow(const boost::json::object& report, const char* protocol) {
  for (const auto& v : report.at("flows").as_array()) {
    if (v.as_object().at("app_protocol") == protocol) return v.as_object();
  }
  FAIL("no flow with app_protocol " << protocol);
  static const boost::json::object none;
  return none;
}

// Audits captures with a JSON report to a temp file and returns the parsed report.
inline boost::json::object audit_json(const std::vector<std::string>& captures,
                                      const std::vector<std::string>& extra = {}, int expected_exit = 0) {
  static int counter = 0;
  const auto report = temp_dir() / ("report" + std::to_string(counter++) + ".json");
  std::vector<std::string> args{"audit"};
  args.insert(args.end(), captures.begin(), captures.end());
  args.insert(args.end(), extra.begin(), extra.end());
  // Pipeline tests run without a policy (their exit codes and verdicts are about reading captures);
  // the policy tests say which policy they want.
  if (std::find(extra.begin(), extra.end(), "--policy") == extra.end()) {
    args.push_back("--policy");
    args.push_back("none");
  }
  args.push_back("--report");
  args.push_back("json:" + report.string());
  const RunResult r = run(args);
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == expected_exit);
  boost::json::error_code ec;
  auto v = boost::json::parse(read_file(report), ec);
  REQUIRE_MESSAGE(!ec, "report is not JSON: " << ec.message());
  REQUIRE(v.is_object());
  return v.as_object();
}

inline std::int64_t get_int(const boost::json::value& v) { return v.to_number<std::int64_t>(); }

inline std::int64_t at_int(const boost::json::object& o, std::initializer_list<const char*> path) {
  const boost::json::value* v = nullptr;
  const boost::json::object* cur = &o;
  for (const char* key : path) {
    v = cur->if_contains(key);
    REQUIRE_MESSAGE(v != nullptr, "missing key " << key);
    if (v->is_object()) cur = &v->as_object();
  }
  return get_int(*v);
}

}  // namespace flowaudit::e2e
