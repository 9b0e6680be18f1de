// Servers the fleet tests start (and a capture big enough for an event stream) on this machine and stop after: nats-server with JetStream and
// clickhouse-server (Debian's), each on free loopback ports with its store in a test directory.
// Nothing listens beyond 127.0.0.1.
#pragma once

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e/e2e_util.h"

extern char** environ;

namespace flowaudit::e2e {

inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline bool port_open(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// Every flowaudit run of the fleet tests is bounded: a publish or a sink that stalls must fail the
// test, not hang the suite.
inline RunResult run_bounded(const std::vector<std::string>& args) {
  return run_shell(binary_command(args, "timeout 300"));
}

inline bool have_program(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// A server process: spawned with `args`, ready once `port` accepts connections; killed (SIGKILL,
// as a crash) by kill() or when destroyed.
class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess() { kill(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  void spawn(std::vector<std::string> args, int port) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    REQUIRE_MESSAGE(::posix_spawnp(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) == 0,
                    args[0] << " is a test dependency (scripts/install-deps)");
    for (int i = 0; i < 600 && !port_open(port); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    REQUIRE_MESSAGE(port_open(port), args[0] << " did not listen on port " << port);
  }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// nats-server with JetStream on 127.0.0.1:port, its store in `dir`.
class NatsServer {
 public:
  NatsServer(std::filesystem::path dir, int port) : dir_(std::move(dir)), port_(port) {
    std::filesystem::create_directories(dir_);
    start();
  }
  void start() {
    process_.spawn({"nats-server", "-js", "-sd", dir_.string(), "-a", "127.0.0.1", "-p", std::to_string(port_), "-l",
                    (dir_ / "server.log").string()},
                   port_);
  }
  void kill() { process_.kill(); }
  [[nodiscard]] std::string url(const std::string& subject) const {
    return "nats://127.0.0.1:" + std::to_string(port_) + "/" + subject;
  }
  [[nodiscard]] int port() const { return port_; }

 private:
  std::filesystem::path dir_;
  int port_;
  ServerProcess process_;
};

// clickhouse-server on 127.0.0.1 (HTTP and native ports free ones), its data in `dir`, with a
// one-shard cluster named `flowaudit` over itself for the Distributed tables.
class ClickHouseServer {
 public:
  explicit ClickHouseServer(std::filesystem::path dir)
      : dir_(std::move(dir)), http_port_(free_port()), tcp_port_(free_port()) {
    std::filesystem::create_directories(dir_);
    const std::string d = dir_.string() + "/";
    std::ofstream(dir_ / "config.xml")
        << "<yandex>\n"
           "  <logger><level>warning</level><log>"
        << d << "server.log</log><errorlog>" << d
        << "error.log</errorlog><console>0</console></logger>\n"
           "  <http_port>"
        << http_port_ << "</http_port>\n  <tcp_port>" << tcp_port_
        << "</tcp_port>\n"
           "  <listen_host>127.0.0.1</listen_host>\n"
           "  <path>"
        << d << "data/</path>\n  <tmp_path>" << d << "tmp/</tmp_path>\n  <user_files_path>" << d
        << "user_files/</user_files_path>\n  <format_schema_path>" << d
        << "format_schemas/</format_schema_path>\n"
           "  <users_config>users.xml</users_config>\n"
           "  <default_profile>default</default_profile>\n"
           "  <default_database>default</default_database>\n"
           "  <mark_cache_size>5368709</mark_cache_size>\n"
           "  <max_concurrent_queries>50</max_concurrent_queries>\n"
           "  <timezone>UTC</timezone>\n"
           "  <remote_servers><flowaudit><shard><replica><host>127.0.0.1</host><port>"
        << tcp_port_
        << "</port></replica></shard></flowaudit></remote_servers>\n"
           "</yandex>\n";
    std::ofstream(dir_ / "users.xml")
        << "<yandex>\n"
           "  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>\n"
           "  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>"
           "<profile>default</profile><quota>default</quota></default></users>\n"
           "  <quotas><default></default></quotas>\n"
           "</yandex>\n";
    start();
  }
  void start() {
    process_.spawn({"clickhouse-server", "--config-file=" + (dir_ / "config.xml").string()}, http_port_);
  }
  void kill() { process_.kill(); }
  [[nodiscard]] std::string url(const std::string& database) const {
    return "http://127.0.0.1:" + std::to_string(http_port_) + "/" + database;
  }
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  int http_port_;
  int tcp_port_;
  ServerProcess process_;
};

// A capture of `n` DNS exchanges from distinct ports (n flows, n DNS events), written by libpcap:
// enough events for a stream that lasts while the server is killed.
inline void write_dns_capture(const std::filesystem::path& file, int n) {
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* d = pcap_dump_open(dead, file.c_str());
  REQUIRE(d != nullptr);
  const auto packet = [&](bool response, int i) {
    std::vector<std::uint8_t> p;
    const auto u16 = [&](unsigned v) {
      p.push_back(static_cast<std::uint8_t>(v >> 8));
      p.push_back(static_cast<std::uint8_t>(v));
    };
    const std::uint8_t client[4] = {192, 168, 1, 23}, server[4] = {192, 168, 1, 1};
    for (int k = 0; k < 12; ++k) p.push_back(static_cast<std::uint8_t>(k));  // MACs
    u16(0x0800);
    const std::size_t ip = p.size();
    p.insert(p.end(), {0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0});
    p.insert(p.end(), response ? server : client, (response ? server : client) + 4);
    p.insert(p.end(), response ? client : server, (response ? client : server) + 4);
    const unsigned port = 20000 + static_cast<unsigned>(i % 40000);
    u16(response ? 53 : port);
    u16(response ? port : 53);
    const std::size_t udp = p.size() - 4;
    u16(0);
    u16(0);
    u16(static_cast<unsigned>(i & 0xFFFF));  // DNS id
    u16(response ? 0x8180 : 0x0100);
    u16(1);
    u16(response ? 1 : 0);
    u16(0);
    u16(0);
    const std::string label = "h" + std::to_string(i);
    p.push_back(static_cast<std::uint8_t>(label.size()));
    p.insert(p.end(), label.begin(), label.end());
    p.insert(p.end(), {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0});
    u16(1);
    u16(1);
    if (response) {
      u16(0xC00C);
      u16(1);
      u16(1);
      p.insert(p.end(), {0, 0, 0, 60});
      u16(4);
      p.insert(p.end(), {203, 0, 113, static_cast<std::uint8_t>(i % 250 + 1)});
    }
    const std::size_t ip_len = p.size() - ip;
    p[ip + 2] = static_cast<std::uint8_t>(ip_len >> 8);
    p[ip + 3] = static_cast<std::uint8_t>(ip_len);
    const std::size_t udp_len = p.size() - udp;
    p[udp + 4] = static_cast<std::uint8_t>(udp_len >> 8);
    p[udp + 5] = static_cast<std::uint8_t>(udp_len);
    std::uint32_t sum = 0;
    for (std::size_t k = 0; k < 20; k += 2) sum += static_cast<std::uint32_t>(p[ip + k] << 8 | p[ip + k + 1]);
    while (sum > 0xFFFF) sum = (sum & 0xFFFF) + (sum >> 16);
    p[ip + 10] = static_cast<std::uint8_t>(~sum >> 8);
    p[ip + 11] = static_cast<std::uint8_t>(~sum);
    pcap_pkthdr h{};
    h.ts.tv_sec = 1717236000 + i / 1000;
    h.ts.tv_usec = (i % 1000) * 1000 + (response ? 500 : 0);
    h.caplen = h.len = static_cast<bpf_u_int32>(p.size());
    pcap_dump(reinterpret_cast<u_char*>(d), &h, p.data());
  };
  for (int i = 0; i < n; ++i) {
    packet(false, i);
    packet(true, i);
  }
  pcap_dump_close(d);
  pcap_close(dead);
}

}  // namespace flowaudit::e2e
