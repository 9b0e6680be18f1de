#include "session/clickhouse_client.h"

#include <curl/curl.h>


#include "core/dynamic_library.h"
#include "core/host_port.h"

namespace flowaudit::session {

namespace {

constexpr std::size_t kMaxAnswer = std::size_t{64} << 20;

// libcurl, loaded the first time a client is made (core/dynamic_library.h: only `flowaudit sink`
// needs it, and linking it slowed every start by its 25 dependencies). Each function has the type
// <curl/curl.h> declares.
struct Curl {
  decltype(&curl_global_init) global_init = nullptr;
  decltype(&curl_easy_init) init = nullptr;
  decltype(&curl_easy_cleanup) cleanup = nullptr;
  decltype(&curl_easy_reset) reset = nullptr;
  decltype(&curl_easy_escape) escape = nullptr;
  decltype(&curl_free) free = nullptr;
  decltype(&curl_easy_setopt) setopt = nullptr;
  decltype(&curl_easy_perform) perform = nullptr;
  decltype(&curl_easy_strerror) strerror = nullptr;
  decltype(&curl_easy_getinfo) getinfo = nullptr;
  std::string error;  // why it could not be loaded; "" when every function is there
};

const Curl& curl() {
  static const Curl api = [] {
    static core::DynamicLibrary lib;
    Curl c;
    if (lib.open("libcurl.so.4", "libcurl4")) {
      lib.bind(c.global_init, "curl_global_init");
      lib.bind(c.init, "curl_easy_init");
      lib.bind(c.cleanup, "curl_easy_cleanup");
      lib.bind(c.reset, "curl_easy_reset");
      lib.bind(c.escape, "curl_easy_escape");
      lib.bind(c.free, "curl_free");
      lib.bind(c.setopt, "curl_easy_setopt");
      lib.bind(c.perform, "curl_easy_perform");
      lib.bind(c.strerror, "curl_easy_strerror");
      lib.bind(c.getinfo, "curl_easy_getinfo");
    }
    c.error = lib.error();
    if (c.error.empty()) c.global_init(CURL_GLOBAL_DEFAULT);
    return c;
  }();
  return api;
}

struct Answer {
  std::string* text = nullptr;
  std::size_t bytes = 0;
};

std::size_t on_data(char* data, std::size_t size, std::size_t n, void* closure) {
  auto* a = static_cast<Answer*>(closure);
  const std::size_t len = size * n;
  if (a->bytes + len > kMaxAnswer) return 0;  // curl fails the transfer: an answer past the bound
  a->bytes += len;
  a->text->append(data, len);
  return len;
}

bool database_ok(std::string_view d) {
  if (d.empty() || d.size() > 64) return false;
  for (const char c : d) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// ClickHouse's message, one line: "Code: 60, e.displayText() = DB::Exception: Table ... doesn't exist".
std::string first_line(std::string_view text) {
  const auto nl = text.find('\n');
  std::string out(text.substr(0, std::min<std::size_t>(nl, 400)));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  return out;
}

}  // namespace

std::string ClickHouseTarget::base_url() const {
  return std::string(https ? "https://" : "http://") + (host.find(':') != std::string::npos ? "[" + host + "]" : host) +
         ":" + std::to_string(port) + "/";
}

std::string ClickHouseTarget::text() const { return base_url() + database; }

std::optional<ClickHouseTarget> parse_clickhouse_target(std::string_view url, std::string& error) {
  ClickHouseTarget t;
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    t.https = true;
    t.port = 8443;
    rest = url.substr(8);
  } else {
    error = std::string(url) + ": not http://HOST:PORT/DATABASE or https://HOST:PORT/DATABASE";
    return std::nullopt;
  }
  const auto slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      if (!database_ok(db)) {
        error = std::string(url) + ": the database must be letters, digits and '_'";
        return std::nullopt;
      }
      t.database = std::string(db);
    }
  }
  if (!core::parse_host_port(hostport, t.host, t.port, error)) {
    error = std::string(url) + ": " + error +
            (error.starts_with("no user") ? "; use --clickhouse-user and --clickhouse-password-file" : "");
    return std::nullopt;
  }
  return t;
}

ClickHouseClient::ClickHouseClient(ClickHouseTarget target, ClickHouseSettings settings)
    : target_(std::move(target)), settings_(std::move(settings)) {
  const Curl& api = curl();
  if (api.error.empty()) curl_ = api.init();
}

ClickHouseClient::~ClickHouseClient() {
  if (curl_ != nullptr) curl().cleanup(static_cast<CURL*>(curl_));
}

std::string ClickHouseClient::execute(std::string_view sql, std::string_view body, std::string* answer,
                                      bool in_database) {
  const Curl& api = curl();
  if (!api.error.empty()) return "ClickHouse: " + api.error;
  auto* c = static_cast<CURL*>(curl_);
  if (c == nullptr) return "ClickHouse: cannot create a libcurl handle";
  api.reset(c);
  // The statement goes in the URL when there is data, else as the body (schema statements are long).
  std::string url = target_.base_url() + "?";
  if (in_database) url += "database=" + target_.database + "&";
  std::string post;
  if (!body.empty()) {
    char* q = api.escape(c, sql.data(), static_cast<int>(sql.size()));
    if (q == nullptr) return "ClickHouse: cannot escape the statement";
    url += "query=";
    url += q;
    api.free(q);
  } else {
    post.assign(sql);
    body = post;
  }
  std::string text;
  Answer a{&text, 0};
  api.setopt(c, CURLOPT_URL, url.c_str());
  api.setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  api.setopt(c, CURLOPT_NOSIGNAL, 1L);
  api.setopt(c, CURLOPT_PROXY, "");  // never through a proxy from the environment
  api.setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  api.setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  api.setopt(c, CURLOPT_TIMEOUT, settings_.timeout_seconds);
  api.setopt(c, CURLOPT_POST, 1L);
  api.setopt(c, CURLOPT_POSTFIELDS, body.data());
  api.setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  api.setopt(c, CURLOPT_WRITEFUNCTION, &on_data);
  api.setopt(c, CURLOPT_WRITEDATA, &a);
  if (!settings_.user.empty()) {
    api.setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    api.setopt(c, CURLOPT_USERNAME, settings_.user.c_str());
    api.setopt(c, CURLOPT_PASSWORD, settings_.password.c_str());
  }
  if (!settings_.ca_file.empty()) api.setopt(c, CURLOPT_CAINFO, settings_.ca_file.c_str());
  const CURLcode rc = api.perform(c);
  if (rc != CURLE_OK) {
    return "ClickHouse " + target_.base_url() + ": " +
           (rc == CURLE_WRITE_ERROR ? std::string("answer larger than 64 MiB") : std::string(api.strerror(rc)));
  }
  long status = 0;
  api.getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    return "ClickHouse " + target_.base_url() + ": HTTP " + std::to_string(status) + ": " + first_line(text);
  }
  if (answer != nullptr) *answer = std::move(text);
  return {};
}

std::string ClickHouseClient::insert(std::string_view table, std::string_view rows) {
  if (rows.empty()) return {};
  return execute("INSERT INTO " + std::string(table) + " FORMAT JSONEachRow", rows);
}

std::string ClickHouseClient::create_tables(bool distributed) {
  if (auto err = execute("CREATE DATABASE IF NOT EXISTS " + target_.database, {}, nullptr, false); !err.empty()) {
    return err;
  }
  const auto run_file = [&](std::string_view sql) -> std::string {
    // Statements end with ';'; lines starting with "--" are comments.
    std::string statement;
    std::size_t pos = 0;
    while (pos < sql.size()) {
      const auto nl = sql.find('\n', pos);
      const std::string_view line = sql.substr(pos, nl == std::string_view::npos ? sql.size() - pos : nl - pos);
      pos = nl == std::string_view::npos ? sql.size() : nl + 1;
      if (line.starts_with("--")) continue;
      statement.append(line).push_back('\n');
      if (line.ends_with(";")) {
        statement.resize(statement.size() - 2);  // the ';' and '\n'
        if (auto err = execute(statement); !err.empty()) return err;
        statement.clear();
      }
    }
    return {};
  };
  if (auto err = run_file(clickhouse_schema()); !err.empty()) return err;
  if (distributed) return run_file(clickhouse_distributed_schema());
  return {};
}

}  // namespace flowaudit::session
