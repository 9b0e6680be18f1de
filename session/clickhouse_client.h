// ClickHouse's HTTP interface (libcurl): what `flowaudit sink` needs of it, inserting rows as
// JSONEachRow and running the schema's statements. Credentials go as HTTP basic authentication
// (ClickHouse 18.16 and later take it), never in the URL.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace flowaudit::session {

struct ClickHouseTarget {
  bool https = false;
  std::string host;
  int port = 8123;
  std::string database = "flowaudit";
  [[nodiscard]] std::string base_url() const;  // http[s]://HOST:PORT/
  [[nodiscard]] std::string text() const;      // base_url() and the database
};

// http://HOST[:PORT][/DATABASE] or https://...; the database is letters, digits and '_' (default
// flowaudit). nullopt and a one-line reason otherwise.
std::optional<ClickHouseTarget> parse_clickhouse_target(std::string_view url, std::string& error);

struct ClickHouseSettings {
  std::string user;           // --clickhouse-user; empty: the server's default user
  std::string password;       // read from --clickhouse-password-file
  std::string ca_file;        // --clickhouse-ca, for https://
  long timeout_seconds = 120;  // one request, connection included
};

class ClickHouseClient {
 public:
  ClickHouseClient(ClickHouseTarget target, ClickHouseSettings settings);
  ~ClickHouseClient();
  ClickHouseClient(const ClickHouseClient&) = delete;
  ClickHouseClient& operator=(const ClickHouseClient&) = delete;

  // Runs one statement (in the target's database unless `in_database` is false) with `body` as its
  // data; the server's answer (at most 64 MiB) in `answer` when given. "" on success, else a
  // one-line reason: no connection, or the HTTP status and the first line of ClickHouse's message.
  std::string execute(std::string_view sql, std::string_view body = {}, std::string* answer = nullptr,
                      bool in_database = true);

  // INSERT INTO table FORMAT JSONEachRow with `rows` (one object per line).
  std::string insert(std::string_view table, std::string_view rows);

  // CREATE DATABASE IF NOT EXISTS, then every statement of the schema (and of the Distributed
  // tables when `distributed`); "" or the first failure.
  std::string create_tables(bool distributed);

  [[nodiscard]] const ClickHouseTarget& target() const noexcept { return target_; }

 private:
  ClickHouseTarget target_;
  ClickHouseSettings settings_;
  void* curl_ = nullptr;  // CURL*, reused: one kept-alive connection
};

// The statements of docs/clickhouse/schema.sql and distributed.sql, built into the binary.
std::string_view clickhouse_schema() noexcept;
std::string_view clickhouse_distributed_schema() noexcept;

}  // namespace flowaudit::session
