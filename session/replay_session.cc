#include "session/replay_session.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "analysis/packet/link_layer.h"
#include "analysis/parallel_audit.h"
#include "capture/pcap_file_source.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <cstdlib>
#include <thread>

namespace flowaudit::session {

PhaseClock::PhaseClock() : on_(std::getenv("FLOWAUDIT_PHASES") != nullptr), last_(std::chrono::steady_clock::now()) {}

void PhaseClock::lap(std::string_view phase) {
  if (!on_) return;
  const auto now = std::chrono::steady_clock::now();
  fmt::print(stderr, "flowaudit: phase {} {:.3f} s\n", phase, std::chrono::duration<double>(now - last_).count());
  last_ = now;
}

namespace {

// Whether the file starts with a pcapng section header (its magic reads the same in both byte
// orders). Standard input cannot be looked at twice: there, only secrets before a flow count.
bool starts_as_pcapng(const std::string& path) {
  if (path == "-") return false;
  std::ifstream in(path, std::ios::binary);
  std::array<char, 4> magic{};
  in.read(magic.data(), magic.size());
  return in.gcount() == 4 && magic == std::array<char, 4>{0x0A, 0x0D, 0x0D, 0x0A};
}

}  // namespace

bool replay(AuditSession& session, const std::vector<std::string>& captures, ReplayProgress* progress) {
  Messages& messages = session.messages();
  analysis::AuditOptions options;
  if (!session.auditor_options(options)) return false;
  int stdin_uses = 0;
  for (const auto& c : captures) stdin_uses += c == "-" ? 1 : 0;
  if (stdin_uses > 1) {
    messages.error("standard input ('-') can be given only once");
    return false;
  }
  if (!session.prepare()) return false;
  options.group_by_flow_bytes = session.group_by_flow_bytes();
  // A pcapng can carry secrets blocks after the flows they open (app::AppConfig::keys_may_follow).
  options.app.keys_may_follow = std::any_of(captures.begin(), captures.end(), starts_as_pcapng);
  const std::size_t threads = replay_threads(session.settings(), captures);
  std::vector<capture::SourceInfo> infos;
  std::size_t readable = 0;
  analysis::Auditor::Progress on_progress;
  if (progress != nullptr) {
    on_progress = [progress](std::uint64_t packets, std::uint64_t position) { progress->update(packets, position); };
  }
  // Opens a capture and checks its first link type; null (error reported, info kept) if it cannot be read.
  const auto open = [&](const std::string& path) -> std::unique_ptr<capture::PacketSource> {
    auto opened = capture::open_capture_file(path);
    if (!opened.source) {
      messages.error(opened.info.error);
      infos.push_back(std::move(opened.info));
      return nullptr;
    }
    const auto& first = opened.source->info();
    if (first.format != "pcapng" && !first.link_types.empty() &&
        !capture::is_supported_link_type(first.link_types.front())) {
      auto info = first;
      info.error = fmt::format("{}: {}", path, capture::unsupported_link_type_message(first.link_types.front()));
      messages.error(info.error);
      infos.push_back(std::move(info));
      return nullptr;
    }
    return std::move(opened.source);
  };
  // A capture's secrets blocks go to the session's key log (with their place for its warnings).
  const auto to_session = [&session](const std::string& path) {
    return [&session, path](std::span<const std::uint8_t> text, std::uint64_t at) {
      session.add_secrets(text, fmt::format("{} (secrets block at offset {})", path, at));
    };
  };
  if (threads > 1) {
    // Each worker opens each capture itself and keeps its own key log (a copy of the session's,
    // to which it adds the secrets blocks it reads); worker 0's secrets go through the session.
    const auto keys = options.app.keys;
    std::vector<std::shared_ptr<analysis::decrypt::KeyLog>> worker_keys(threads);
    analysis::ParallelAuditor auditor(options, threads, [&](std::size_t k, analysis::AuditOptions& o) {
      if (k == 0 || !keys) return;
      worker_keys[k] = std::make_shared<analysis::decrypt::KeyLog>(*keys);
      o.app.keys = worker_keys[k];
    });
    std::vector<analysis::ParallelAuditor::Input> inputs;
    std::vector<std::size_t> slots;  // the position in infos of each readable input
    for (const auto& path : captures) {
      // Opened here once to find what cannot be read, as with one thread; the workers open it again.
      if (!open(path)) continue;
      analysis::ParallelAuditor::Input in;
      in.index = static_cast<std::uint32_t>(infos.size());
      slots.push_back(infos.size());
      infos.emplace_back();
      in.open = [&to_session, &worker_keys, path](std::size_t k, std::string& error) -> std::unique_ptr<capture::PacketSource> {
        auto opened = capture::open_capture_file(path);
        if (!opened.source) {
          error = opened.info.error;
          return nullptr;
        }
        if (k == 0) {
          opened.source->set_secrets_sink(to_session(path));
        } else if (auto log = worker_keys[k]) {
          opened.source->set_secrets_sink([log](std::span<const std::uint8_t> text, std::uint64_t) {
            (void)log->add_text(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()));
          });
        }
        return std::move(opened.source);
      };
      if (progress != nullptr) {
        in.before = [progress, path] { progress->start(path); };
        in.after = [progress] { progress->done(); };
      }
      inputs.push_back(std::move(in));
    }
    if (inputs.empty()) {
      if (captures.size() > 1) messages.error("no input could be read");
      return false;
    }
    PhaseClock phases;
    auto read = auditor.run(inputs, on_progress);
    phases.lap(fmt::format("read ({} threads; processor seconds per worker: {:.3f})", threads,
                           fmt::join(auditor.worker_cpu_seconds(), ", ")));
    for (std::size_t i = 0; i < read.size(); ++i) {
      if (!read[i].error.empty()) messages.error(read[i].error);
      infos[slots[i]] = std::move(read[i]);
    }
    auto result = auditor.finish(std::move(infos));
    phases.lap("finish and merge");
    session.complete(std::move(result));
    phases.lap("enrich and evaluate");
    return true;
  }
  analysis::Auditor auditor(options);
  PhaseClock phases;
  for (const auto& path : captures) {
    auto source = open(path);
    if (!source) continue;
    source->set_secrets_sink(to_session(path));
    const auto input = static_cast<std::uint32_t>(infos.size());
    if (progress != nullptr) progress->start(path);
    auto info = auditor.run(*source, input, on_progress);
    if (progress != nullptr) progress->done();
    if (!info.error.empty()) messages.error(info.error);
    ++readable;
    infos.push_back(std::move(info));
  }
  if (readable == 0) {
    if (captures.size() > 1) messages.error("no input could be read");
    return false;
  }
  phases.lap("read (1 thread)");
  auto result = auditor.finish(std::move(infos));
  phases.lap("finish");
  session.complete(std::move(result));
  phases.lap("enrich and evaluate");
  return true;
}

std::size_t replay_threads(const Settings& settings, const std::vector<std::string>& captures) {
  std::uint64_t bytes = 0;
  for (const auto& path : captures) {
    struct stat st {};
    // Every worker reads every input itself: only regular files can be read more than once.
    if (path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 1;
    bytes += static_cast<std::uint64_t>(st.st_size);
  }
  if (settings.threads != 0) return settings.threads;
  if (bytes < Settings::kThreadsFromBytes) return 1;
  return std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 8);
}

}  // namespace flowaudit::session
