// `flowaudit sink`: the events of many sensors from a NATS JetStream subject into ClickHouse
// (issue 19, docs/fleet.md). Batches of messages are turned into rows of the schema
// (report/events/clickhouse_rows.h), inserted per table over ClickHouse's HTTP interface, and
// acknowledged only once every insert of the batch succeeded. An insert that fails hands the batch
// back to NATS, which delivers it again; an event that no schema can hold is refused (never
// delivered again), counted, and written to --refused when given. Redelivery may insert an event
// twice: the tables are ReplacingMergeTree keyed by the event id, which keeps one.
#include <fmt/format.h>
#include <signal.h>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "cli/options.h"
#include "core/input_file.h"
#include "core/output_file.h"
#include "report/events/clickhouse_rows.h"
#include "report/json_writer.h"
#include "session/clickhouse_client.h"
#include "session/nats_consumer.h"

namespace flowaudit::cli {

namespace {

using report::events::EventTable;
using report::events::kEventTables;
using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};
void on_signal(int /*sig*/) { g_stop = true; }

struct SinkArgs {
  std::string from;
  std::string to;
  std::string durable = "flowaudit-sink";
  std::string nats_creds;
  std::string nats_ca;
  std::string nats_stream = "FLOWAUDIT";
  std::string ch_user;
  std::string ch_password_file;
  std::string ch_ca;
  std::string refused_path;
  int batch = 5000;
  double idle_exit = 0;  // seconds; 0: run until stopped
  double stats_every = 60;
  bool create_tables = false;
  bool distributed = false;
  bool print_schema = false;
};

struct Counts {
  std::uint64_t stored = 0;
  std::array<std::uint64_t, kEventTables> per_table{};
  std::uint64_t refused = 0;
  std::uint64_t batches = 0;
  std::uint64_t insert_failures = 0;
  std::uint64_t ack_failures = 0;
  Clock::time_point first{};  // the first batch came
  Clock::time_point last{};   // the last batch was stored
};

std::string counts_line(const Counts& c) {
  const double seconds = c.stored > 0 ? std::chrono::duration<double>(c.last - c.first).count() : 0.0;
  const std::string rate = seconds > 0 ? fmt::format(" over {:.2f} s ({:.0f} events/s)", seconds,
                                                     static_cast<double>(c.stored) / seconds)
                                       : "";
  return fmt::format(
      "flowaudit sink: stored {} events (network {}, http {}, dns {}, findings {}) in {} batches{}; {} refused; {} "
      "inserts failed and were retried; {} acknowledgements not confirmed (delivered again, kept once)",
      c.stored, c.per_table[0], c.per_table[1], c.per_table[2], c.per_table[3], c.batches, rate, c.refused,
      c.insert_failures, c.ack_failures);
}

// One refused event, for the operator to look at: {"reason": ..., "event": "<as received>"}.
// False after saying once why the file cannot be written.
bool write_refused(core::OutputFile& file, const std::string& path, std::string_view reason, std::string_view event) {
  if (file.file() == nullptr) {
    if (auto err = file.open(path, core::OutputFile::Mode::kAppend); !err.empty()) {
      error_line("--refused " + path + ": " + err + "; refused events are counted only");
      return false;
    }
  }
  std::string line;
  report::Output out(line);
  report::JsonWriter w(out, false);
  w.begin_object();
  w.field("reason", reason);
  w.field("event", event.substr(0, report::events::kMaxEventBytes));
  w.end_object();
  w.flush();
  line.push_back('\n');
  if (std::fwrite(line.data(), 1, line.size(), file.file()) != line.size() || std::fflush(file.file()) != 0) {
    error_line("--refused " + path + ": cannot write; refused events are counted only");
    return false;
  }
  return true;
}

int run_sink(const SinkArgs& args) {
  if (args.print_schema) {
    fmt::print("{}", session::clickhouse_schema());
    if (args.distributed) fmt::print("\n{}", session::clickhouse_distributed_schema());
    return kExitOk;
  }
  std::string error;
  const auto ch_target = session::parse_clickhouse_target(args.to, error);
  if (!ch_target) {
    error_line("--to " + error);
    return kExitUsage;
  }
  session::ClickHouseSettings ch_settings;
  ch_settings.user = args.ch_user;
  ch_settings.ca_file = args.ch_ca;
  if (!args.ch_password_file.empty()) {
    if (auto why = core::read_input_file(args.ch_password_file, 4096, ch_settings.password); !why.empty()) {
      error_line("--clickhouse-password-file " + args.ch_password_file + ": " + why);
      return kExitUsage;
    }
    while (!ch_settings.password.empty() &&
           (ch_settings.password.back() == '\n' || ch_settings.password.back() == '\r')) {
      ch_settings.password.pop_back();
    }
  }
  session::ClickHouseClient clickhouse(*ch_target, ch_settings);
  if (args.create_tables) {
    if (auto err = clickhouse.create_tables(args.distributed); !err.empty()) {
      error_line("--create-tables: " + err);
      return kExitUsage;
    }
    fmt::print(stderr, "flowaudit sink: tables ready in {}\n", ch_target->text());
    if (args.from.empty()) return kExitOk;
  }
  if (args.from.empty()) {
    error_line("--from nats://HOST:PORT/SUBJECT is needed (or --create-tables alone)");
    return kExitUsage;
  }
  const auto nats_target = session::parse_nats_target(args.from, error);
  if (!nats_target) {
    error_line("--from " + error);
    return kExitUsage;
  }
  session::NatsSettings nats_settings;
  nats_settings.creds_file = args.nats_creds;
  nats_settings.ca_file = args.nats_ca;
  nats_settings.stream = args.nats_stream;
  auto consumer = session::NatsConsumer::open(*nats_target, nats_settings, args.durable, error);
  if (!consumer) {
    error_line(error);
    return kExitUsage;
  }

  struct sigaction sa {};
  sa.sa_handler = &on_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);

  const std::string suffix = args.distributed ? "_all" : "";
  fmt::print(stderr, "flowaudit sink: {} (consumer {}) -> {}{}\n", nats_target->text(), args.durable,
             ch_target->text(), args.distributed ? " (Distributed tables *_all)" : "");
  Counts counts;
  core::OutputFile refused_file;
  std::array<std::string, kEventTables> rows;
  std::string event_id;
  std::string why;
  std::string last_problem;
  auto last_activity = Clock::now();
  auto last_stats = Clock::now();
  Counts stats_at;
  auto backoff = std::chrono::milliseconds(500);
  bool ever_connected = false;
  bool failing = false;  // the last insert failed: the events are not stored yet
  bool refused_failed = false;  // --refused could not be written: said once
  std::string reason;
  std::string scratch;
  constexpr std::uint64_t kRefusalsNamed = 20;
  const auto report_problem = [&](const std::string& problem) {
    if (problem != last_problem) error_line(problem);
    last_problem = problem;
  };

  while (!g_stop) {
    const auto now = Clock::now();
    if (args.stats_every > 0 && now - last_stats >= std::chrono::duration<double>(args.stats_every)) {
      if (counts.stored != stats_at.stored || counts.refused != stats_at.refused) {
        fmt::print(stderr, "{}\n", counts_line(counts));
      }
      stats_at = counts;
      last_stats = now;
    }
    if (args.idle_exit > 0 && !failing && now - last_activity >= std::chrono::duration<double>(args.idle_exit)) break;
    const auto got = consumer->fetch(args.batch, std::chrono::milliseconds(1000), why);
    if (got == session::NatsConsumer::Fetch::kWaiting) {
      report_problem(why);
      // NATS went away after the sink reached it: events may wait there, so this is not idleness.
      // (A server never reached lets --idle-exit end the run, with an error.)
      if (ever_connected) last_activity = Clock::now();
      continue;
    }
    ever_connected = true;
    if (got == session::NatsConsumer::Fetch::kNone) continue;
    last_activity = Clock::now();
    if (counts.first == Clock::time_point{}) counts.first = last_activity;
    for (auto& r : rows) r.clear();
    std::array<std::uint64_t, kEventTables> batch_counts{};
    std::uint64_t batch_events = 0;
    for (std::size_t i = 0; i < consumer->size(); ++i) {
      const std::string_view event = consumer->data(i);
      reason.clear();
      scratch.clear();
      // Rows are appended per table; the converter needs its table first, so it writes to scratch.
      const auto table = report::events::clickhouse_row(event, scratch, event_id, reason);
      if (!table) {
        // Named one by one up to a bound (a publisher gone wrong can send millions), then counted.
        if (++counts.refused <= kRefusalsNamed) {
          error_line("sink: refused an event" + (event_id.empty() ? "" : " " + event_id) + ": " + reason +
                     (args.refused_path.empty() ? " (--refused FILE keeps them)" : ""));
          if (counts.refused == kRefusalsNamed) {
            error_line("sink: further refused events are counted, not named" +
                       std::string(args.refused_path.empty() ? "" : " (all are in --refused)"));
          }
        }
        if (!args.refused_path.empty() && !refused_failed &&
            !write_refused(refused_file, args.refused_path, reason, event)) {
          refused_failed = true;
        }
        consumer->refuse(i);
        continue;
      }
      rows[static_cast<std::size_t>(*table)] += scratch;
      ++batch_counts[static_cast<std::size_t>(*table)];
      ++batch_events;
    }
    std::string insert_error;
    for (std::size_t t = 0; t < kEventTables && insert_error.empty(); ++t) {
      insert_error = clickhouse.insert(std::string(report::events::table_name(static_cast<EventTable>(t))) + suffix,
                                       rows[t]);
    }
    if (!insert_error.empty()) {
      ++counts.insert_failures;
      failing = true;
      report_problem("sink: " + insert_error + "; the batch goes back to NATS and is tried again");
      consumer->hand_back(backoff);
      for (int k = 0; k < 10 && !g_stop; ++k) std::this_thread::sleep_for(backoff / 10);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(30000));
      continue;
    }
    failing = false;
    backoff = std::chrono::milliseconds(500);
    if (!consumer->ack_all()) ++counts.ack_failures;
    last_activity = Clock::now();  // an acknowledgement can wait for a server that went away
    ++counts.batches;
    counts.stored += batch_events;
    counts.last = Clock::now();
    for (std::size_t t = 0; t < kEventTables; ++t) counts.per_table[t] += batch_counts[t];
    if (!last_problem.empty()) {
      fmt::print(stderr, "flowaudit sink: storing again\n");
      last_problem.clear();
    }
  }
  if (refused_file.file() != nullptr) refused_file.commit();
  fmt::print(stderr, "{}\n", counts_line(counts));
  if (!ever_connected) {
    error_line("NATS " + nats_target->server_url() + " was never reached");
    return kExitUsage;
  }
  if (failing) {
    error_line("stopped while ClickHouse refused the last batch: it waits in NATS for the next run");
    return kExitUsage;
  }
  return counts.refused > 0 ? kExitFindings : kExitOk;
}

}  // namespace

Commands add_sink_command(CLI::App& app) {
  auto args = std::make_shared<SinkArgs>();
  auto* cmd = app.add_subcommand(
      "sink", "Store the events of many sensors: from a NATS JetStream subject into ClickHouse (docs/fleet.md)");
  cmd->add_option("--from", args->from, "nats://HOST:PORT/SUBJECT or tls://...: where the sensors publish");
  cmd->add_option("--to", args->to, "http://HOST:PORT/DATABASE or https://...: ClickHouse's HTTP interface")
      ->default_str("http://127.0.0.1:8123/flowaudit");
  args->to = "http://127.0.0.1:8123/flowaudit";
  cmd->add_option("--durable", args->durable,
                  "The JetStream consumer's name: a sink started again goes on where it stopped; sinks sharing the "
                  "name share the work")
      ->default_str("flowaudit-sink");
  cmd->add_option("--batch", args->batch, "Events per insert (at most)")
      ->check(CLI::Range(1, 100000))
      ->default_str("5000");
  cmd->add_option("--idle-exit", args->idle_exit,
                  "Stop once no event came for this many seconds (and the last batch was stored); default: run "
                  "until SIGINT or SIGTERM")
      ->check(CLI::Range(0.0, 1e9));
  cmd->add_option("--stats-every", args->stats_every, "Seconds between progress lines on standard error (0: none)")
      ->check(CLI::Range(0.0, 1e9))
      ->default_str("60");
  cmd->add_flag("--create-tables", args->create_tables,
                "Create the database and the tables of docs/clickhouse/schema.sql when missing (alone: only that)");
  cmd->add_flag("--distributed", args->distributed,
                "Insert into the Distributed tables *_all of docs/clickhouse/distributed.sql (a cluster named "
                "flowaudit); with --create-tables, create them too");
  cmd->add_flag("--print-schema", args->print_schema, "Print the ClickHouse schema and exit");
  cmd->add_option("--refused", args->refused_path,
                  "Append events that no table can hold here (NDJSON: reason and event as received; 0600)");
  cmd->add_option("--nats-creds", args->nats_creds, "A NATS credentials file (JWT and seed)");
  cmd->add_option("--nats-ca", args->nats_ca, "With tls://: CA certificates to trust (PEM)");
  cmd->add_option("--nats-stream", args->nats_stream, "The JetStream stream of the subject (created when missing)")
      ->default_str("FLOWAUDIT");
  cmd->add_option("--clickhouse-user", args->ch_user, "ClickHouse user (HTTP basic authentication)");
  cmd->add_option("--clickhouse-password-file", args->ch_password_file,
                  "A file holding the ClickHouse user's password (never on the command line)");
  cmd->add_option("--clickhouse-ca", args->ch_ca, "With https://: CA certificates to trust (PEM)");
  return {{cmd, [args] { return run_sink(*args); }}};
}

}  // namespace flowaudit::cli
