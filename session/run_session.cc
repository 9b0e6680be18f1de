#include "session/run_session.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "capture/exec_args.h"
#include "capture/pasta_runner.h"
#include "capture/pcap_file_source.h"
#include "capture/pcapng_writer.h"
#include "session/replay_session.h"

namespace flowaudit::session {

namespace {

struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

// --user, else the user who ran sudo, else whoever runs flowaudit (root in a root CI job).
bool resolve_account(const std::string& requested, Account& out, std::string& error) {
  std::string name = requested;
  if (name.empty()) {
    const char* sudo_user = std::getenv("SUDO_USER");
    if (sudo_user != nullptr && *sudo_user != '\0') name = sudo_user;
  }
  std::vector<char> buffer(16384);
  passwd pw{};
  passwd* found = nullptr;
  const int rc = name.empty() ? ::getpwuid_r(::getuid(), &pw, buffer.data(), buffer.size(), &found)
                              : ::getpwnam_r(name.c_str(), &pw, buffer.data(), buffer.size(), &found);
  if (rc != 0 || found == nullptr) {
    error = name.empty() ? std::string("cannot look up the invoking user") : fmt::format("--user: no such user '{}'", name);
    return false;
  }
  out.name = pw.pw_name;
  out.uid = pw.pw_uid;
  out.gid = pw.pw_gid;
  int count = 64;
  out.groups.resize(static_cast<std::size_t>(count));
  if (::getgrouplist(pw.pw_name, pw.pw_gid, out.groups.data(), &count) < 0 && count > 0 && count <= 65536) {
    out.groups.resize(static_cast<std::size_t>(count));
    ::getgrouplist(pw.pw_name, pw.pw_gid, out.groups.data(), &count);
  }
  out.groups.resize(static_cast<std::size_t>(std::max(count, 0)));
  return true;
}

std::string signal_name(int signal) {
  const char* abbrev = ::sigabbrev_np(signal);
  return abbrev != nullptr ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", signal);
}

}  // namespace

RunSession::RunSession(AuditSession& audit, RunSettings settings, LiveSink& sink)
    : audit_(audit), settings_(std::move(settings)), sink_(sink) {}

RunSession::~RunSession() = default;

// The run's directory for the key log (and the namespace's resolv.conf), in dir_. The pid in the
// name: a later run removes the directory of one that was killed.
bool RunSession::make_dir(mode_t mode) {
  std::string dir = fmt::format("/tmp/flowaudit-run.{}.XXXXXX", ::getpid());
  if (::mkdtemp(dir.data()) == nullptr || ::chmod(dir.c_str(), mode) != 0) {
    sink_.error(fmt::format("run: cannot make a directory in /tmp: {}", std::strerror(errno)));
    return false;
  }
  dir_ = dir;
  return true;
}

bool RunSession::open() {
  info_.command = settings_.command;
  info_.network = "netns";
  const bool root = ::geteuid() == 0;
  if (settings_.network == "pasta" || (settings_.network == "auto" && !root)) {
    if (root) {
      sink_.error("run --network pasta: pasta does not run as root; run flowaudit as the user, or use --network netns");
      return false;
    }
    if (const auto why = capture::pasta_unavailable(); !why.empty()) {
      sink_.error("run: not root, and the rootless mode cannot work here: " + why +
                  "; run it with sudo (a network namespace of its own)");
      return false;
    }
    return open_pasta();
  }
  if (!root) {
    sink_.error("run --network netns: needs root (a network namespace with a veth pair and NAT); try sudo");
    return false;
  }
  Account account;
  std::string error;
  if (!resolve_account(settings_.user, account, error)) {
    sink_.error(error);
    return false;
  }
  info_.user = account.name;
  // The key log and the namespace's resolv.conf: a directory only root can change, a key log only
  // the command's user can write (and flowaudit reads through the descriptor opened here).
  if (!make_dir(0711)) return false;
  const std::string keylog = dir_ + "/keylog";
  const std::string resolv = dir_ + "/resolv.conf";
  capture::SandboxCommand command;
  command.argv = settings_.command;
  command.uid = account.uid;
  command.gid = account.gid;
  command.groups = account.groups;
  command.resolv_conf = resolv;
  if (settings_.keylog) {
    const int wfd = ::open(keylog.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (wfd < 0 || ::fchown(wfd, account.uid, account.gid) != 0) {
      sink_.error(fmt::format("run: cannot make the key log {}: {}", keylog, std::strerror(errno)));
      if (wfd >= 0) ::close(wfd);
      return false;
    }
    ::close(wfd);
    const int rfd = ::open(keylog.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (rfd < 0) {
      sink_.error(fmt::format("run: cannot read the key log {}: {}", keylog, std::strerror(errno)));
      return false;
    }
    keys_ = std::make_unique<capture::KeyLogTap>(rfd);
    command.env = capture::keylog_environment(keylog);
    command.remove.push_back(keylog);
    info_.keylog = true;
  }
  command.remove.push_back(resolv);
  command.remove.push_back(dir_);
  sandbox_ = capture::NetnsSandbox::create(command, error);
  if (!sandbox_) {
    sink_.error("run: " + error);
    ::unlink(keylog.c_str());
    ::unlink(resolv.c_str());
    ::rmdir(dir_.c_str());
    return false;
  }
  info_.interface = sandbox_->host_interface();
  info_.dns = sandbox_->resolver().empty()
                  ? std::string("the host's resolv.conf (it names no IPv4 resolver)")
                  : fmt::format("{} -> {}", sandbox_->addresses().host(), sandbox_->resolver());
  LiveSettings live = settings_.live;
  live.interface = sandbox_->host_interface();
  live.user = account.uid != 0 ? account.name : std::string();
  live.keep_net_admin = true;
  live.filter.clear();
  live_ = std::make_unique<LiveSession>(audit_, live, sink_);
  return live_->open();
}

bool RunSession::open_pasta() {
  pasta_ = true;
  info_.network = "pasta";
  info_.interface = "pasta (tap, written to a pcap file)";
  info_.dns = "pasta's mapping of the host's resolver";
  const passwd* pw = ::getpwuid(::getuid());
  info_.user = pw != nullptr ? pw->pw_name : std::to_string(::getuid());
  if (!make_dir(0700)) return false;
  pcap_ = dir_ + "/pasta.pcap";
  if (settings_.keylog) {
    keylog_ = dir_ + "/keylog";
    const int fd = ::open(keylog_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
      sink_.error(fmt::format("run: cannot make the key log {}: {}", keylog_, std::strerror(errno)));
      return false;
    }
    keys_ = std::make_unique<capture::KeyLogTap>(fd);
    info_.keylog = true;
  }
  return true;
}

// The pasta pcap as the --write pcapng: every key first (in one Decryption Secrets Block), then
// the packets. False and a message when it cannot be written.
static bool write_pcapng(const std::string& pcap, const std::string& keys, const std::string& path,
                         std::string& error) {
  auto opened = capture::open_capture_file(pcap);
  if (!opened.source) {
    error = opened.info.error;
    return false;
  }
  capture::PcapngWriter writer;
  capture::RawPacket packet;
  bool first = true;
  for (std::uint64_t n = 0; n < (1ULL << 32); ++n) {
    const auto status = opened.source->next(packet);
    if (status != capture::ReadStatus::kPacket) break;
    if (first) {
      if (!writer.open(path, packet.link_type, 262144, "pasta", error) || !writer.write_tls_keys(keys)) {
        if (error.empty()) error = writer.error();
        return false;
      }
      first = false;
    }
    if (!writer.write(packet.ts_ns, packet.orig_len, packet.data)) {
      error = writer.error();
      return false;
    }
  }
  if (first && (!writer.open(path, 1, 262144, "pasta", error) || !writer.write_tls_keys(keys))) return false;
  writer.close();
  return writer.error().empty() || (error = writer.error(), false);
}

bool RunSession::run_pasta() {
  const auto begin = std::chrono::steady_clock::now();
  capture::PastaCommand command;
  command.argv = settings_.command;
  command.pcap = pcap_;
  command.duration = settings_.live.duration;
  if (keys_) command.env = capture::keylog_environment(keylog_);
  std::string error;
  const auto exit = capture::run_in_pasta(command, error);
  const auto cleanup = [&] {
    for (const auto& f : {pcap_, keylog_}) {
      if (!f.empty()) ::unlink(f.c_str());
    }
    ::rmdir(dir_.c_str());
  };
  if (!error.empty()) {
    sink_.error("run: " + error);
    cleanup();
    return false;
  }
  info_.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  info_.started = exit.exited;
  info_.pid = exit.pid;
  if (exit.exited && exit.signal == 0) info_.exit_code = exit.exit_code;
  if (exit.signal != 0) info_.signal = signal_name(exit.signal);
  std::string keys;
  if (keys_) {
    keys = keys_->take_new_lines();
    info_.keys = keys_->keys();
    info_.keys_malformed = keys_->malformed();
  }
  std::string audited = pcap_;
  if (!settings_.live.write.empty()) {
    if (!write_pcapng(pcap_, keys, settings_.live.write, error)) {
      sink_.error("run: --write " + settings_.live.write + ": " + error);
      cleanup();
      return false;
    }
    audited = settings_.live.write;
  }
  const bool ok = session::replay(audit_, {audited});
  cleanup();
  if (!ok) return false;
  auto& warnings = audit_.result().warnings;
  warnings.push_back("run: rootless (pasta): the traffic was written by pasta and audited when the command ended; "
                     "the namespace's addresses are the host's, IPv6 is switched off (--ipv4-only)");
  if (info_.keys_malformed != 0) {
    warnings.push_back(fmt::format("run: {} malformed lines in the key log were left out", info_.keys_malformed));
  }
  audit_.result().run = info_;
  return true;
}

bool RunSession::run() {
  if (pasta_) return run_pasta();
  const auto begin = std::chrono::steady_clock::now();
  std::string start_error;
  LiveHooks hooks;
  hooks.stop_fd = sandbox_->done_fd();
  hooks.on_signal = [&](int signal) { sandbox_->forward_signal(signal); };
  hooks.on_duration = [&] { sandbox_->terminate(); };
  hooks.on_started = [&] {
    if (sandbox_->start(start_error)) return true;
    sink_.error(fmt::format("run: cannot start {}: {}", settings_.command.front(), start_error));
    return false;
  };
  bool write_failed = false;
  hooks.before_read = [&](capture::PcapngWriter* writer) {
    if (!keys_) return;
    const std::string lines = keys_->take_new_lines();
    if (lines.empty()) return;
    // The same secrets decrypt the live audit, before the packets of this read.
    audit_.add_secrets(std::span(reinterpret_cast<const std::uint8_t*>(lines.data()), lines.size()),
                       "the command's key log");
    if (writer == nullptr || write_failed) return;
    write_failed = !writer->write_tls_keys(lines);
  };
  const bool ran = live_->run(hooks);
  const auto exit = sandbox_->finish(5000);
  info_.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  info_.started = exit.exited || exit.pid > 0;
  info_.pid = exit.pid;
  if (exit.exited && exit.signal == 0) info_.exit_code = exit.exit_code;
  if (exit.signal != 0) info_.signal = signal_name(exit.signal);
  info_.leftovers_terminated = exit.leftovers_terminated;
  info_.leftovers_killed = exit.leftovers_killed;
  if (keys_) {
    keys_->take_new_lines();  // counted, even when nothing more is written
    info_.keys = keys_->keys();
    info_.keys_malformed = keys_->malformed();
  }
  if (!ran) return false;
  auto& warnings = audit_.result().warnings;
  warnings.push_back("run: IPv6 is switched off inside the namespace; the command's traffic is IPv4 only");
  for (const auto& s : sandbox_->stale_removed()) warnings.push_back("run: removed a stale " + s + " of a run that is gone");
  if (sandbox_->forwarding_switched_on()) {
    warnings.push_back("run: IPv4 forwarding was off on this host; switched on for the run and off again after it");
  }
  if (info_.keys_malformed != 0) {
    warnings.push_back(fmt::format("run: {} malformed lines in the key log were left out", info_.keys_malformed));
  }
  if (keys_ && keys_->limit_reached()) warnings.push_back("run: the key log grew past 64 MiB; the rest was not read");
  if (info_.leftovers_terminated != 0) {
    warnings.push_back(fmt::format("run: {} processes were left in the namespace when the command ended: sent "
                                   "SIGTERM ({} still there 2 s later: SIGKILL)",
                                   info_.leftovers_terminated, info_.leftovers_killed));
  }
  audit_.result().run = info_;
  return true;
}

}  // namespace flowaudit::session
