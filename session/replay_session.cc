#include "session/replay_session.h"

#include <fmt/format.h>

#include "analysis/packet/link_layer.h"
#include "capture/pcap_file_source.h"

namespace flowaudit::session {

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
  analysis::Auditor auditor(options);
  std::vector<capture::SourceInfo> infos;
  std::size_t readable = 0;
  analysis::Auditor::Progress on_progress;
  if (progress != nullptr) {
    on_progress = [progress](std::uint64_t packets, std::uint64_t position) { progress->update(packets, position); };
  }
  for (const auto& path : captures) {
    auto opened = capture::open_capture_file(path);
    if (!opened.source) {
      messages.error(opened.info.error);
      infos.push_back(std::move(opened.info));
      continue;
    }
    const auto& first = opened.source->info();
    if (first.format != "pcapng" && !first.link_types.empty() &&
        !capture::is_supported_link_type(first.link_types.front())) {
      auto info = first;
      info.error = fmt::format("{}: {}", path, capture::unsupported_link_type_message(first.link_types.front()));
      messages.error(info.error);
      infos.push_back(std::move(info));
      continue;
    }
    opened.source->set_secrets_sink([&session, &path](std::span<const std::uint8_t> text, std::uint64_t at) {
      session.add_secrets(text, fmt::format("{} (secrets block at offset {})", path, at));
    });
    const auto input = static_cast<std::uint32_t>(infos.size());
    if (progress != nullptr) progress->start(path);
    auto info = auditor.run(*opened.source, input, on_progress);
    if (progress != nullptr) progress->done();
    if (!info.error.empty()) messages.error(info.error);
    ++readable;
    infos.push_back(std::move(info));
  }
  if (readable == 0) {
    if (captures.size() > 1) messages.error("no input could be read");
    return false;
  }
  session.complete(auditor, std::move(infos));
  return true;
}

}  // namespace flowaudit::session
