#include "support/zookeeper_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <system_error>

#include "support/ports.hpp"

namespace registrar::test {

namespace {

// Debian's jars for ZooKeeperServerMain and QuorumPeerMain, without a logging back-end
// (slf4j-nop: the tests read the server's state through its ports, not its log).
constexpr const char* kJars[] = {
    "zookeeper-jute.jar",
    "slf4j-api.jar",
    "slf4j-nop.jar",
    "netty-handler.jar",
    "netty-common.jar",
    "netty-buffer.jar",
    "netty-transport.jar",
    "netty-codec.jar",
    "netty-resolver.jar",
    "netty-transport-native-epoll.jar",
    "netty-transport-native-unix-common.jar",
    "metrics-core.jar",
    "snappy-java.jar",
    "commons-cli.jar",
};

bool exists(const std::string& p) {
  return ::access(p.c_str(), R_OK) == 0;
}

std::string java_bin() {
  return "/usr/bin/java";
}

}  // namespace

std::string zookeeper_jar() {
  const char* from_env = std::getenv("REGISTRAR_TEST_ZOOKEEPER_JAR");
  return from_env != nullptr ? from_env : "/usr/share/java/zookeeper.jar";
}

std::optional<std::string> zookeeper_classpath() {
  if (!exists(zookeeper_jar()) || !exists(java_bin())) return std::nullopt;
  std::string cp = zookeeper_jar();
  for (const char* jar : kJars) {
    const std::string p = std::string("/usr/share/java/") + jar;
    if (exists(p)) cp += ":" + p;
  }
  return cp;
}

ZooKeeperServer::ZooKeeperServer(bool start_now, ZooKeeperSettings settings)
    : own_dir_(std::in_place, "registrar-zk"), settings_(settings) {
  dir_ = own_dir_->path();
  data_dir_ = dir_ / "data";
  client_port_ = free_port();
  if (start_now) start();
}

ZooKeeperServer::ZooKeeperServer(std::filesystem::path dir, std::uint16_t client_port,
                                 ZooKeeperSettings settings, std::vector<std::string> servers,
                                 int my_id)
    : dir_(std::move(dir)),
      client_port_(client_port),
      settings_(settings),
      servers_(std::move(servers)),
      my_id_(my_id) {
  data_dir_ = dir_ / "data";
}

ZooKeeperServer::~ZooKeeperServer() {
  if (process_) process_->kill9();
}

std::string ZooKeeperServer::endpoint() const {
  return "127.0.0.1:" + std::to_string(client_port_);
}

bool ZooKeeperServer::running() const {
  return process_ && process_->running();
}

void ZooKeeperServer::write_config() const {
  std::filesystem::create_directories(data_dir_);
  std::ofstream cfg(dir_ / "zoo.cfg", std::ios::trunc);
  cfg << "tickTime=" << settings_.tick_ms << "\n"
      << "dataDir=" << data_dir_.string() << "\n"
      << "clientPort=" << client_port_ << "\n"
      << "clientPortAddress=127.0.0.1\n"
      << "minSessionTimeout=" << settings_.min_session_timeout_ms << "\n"
      << "maxSessionTimeout=" << settings_.max_session_timeout_ms << "\n"
      << "admin.enableServer=false\n"
      << "4lw.commands.whitelist=ruok,srvr,cons,dump,mntr\n"
      // Containers emptied by a test go within a second, not the default minute.
      << "znode.container.checkIntervalMs=500\n";
  if (!servers_.empty()) {
    cfg << "initLimit=10\nsyncLimit=5\n";
    for (const auto& s : servers_) cfg << s << "\n";
    std::ofstream(data_dir_ / "myid", std::ios::trunc) << my_id_ << "\n";
  }
  if (!cfg) throw std::runtime_error("cannot write " + (dir_ / "zoo.cfg").string());
}

std::string ZooKeeperServer::four_letter(const std::string& word, Millis timeout) const {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(client_port_);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::write(fd, word.data(), word.size()) == static_cast<ssize_t>(word.size())) {
    char buf[4096];
    for (int i = 0; i < 256; ++i) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

std::optional<std::int64_t> ZooKeeperServer::last_zxid() const {
  static const std::regex zxid(R"(Zxid: 0x([0-9a-fA-F]+))");
  const std::string srvr = four_letter("srvr");
  std::smatch m;
  if (!std::regex_search(srvr, m, zxid)) return std::nullopt;
  return static_cast<std::int64_t>(std::stoull(m[1].str(), nullptr, 16));
}

bool ZooKeeperServer::serving() const {
  // ruok answers imok while the database is still loading (and, in an ensemble, before a
  // quorum has formed); srvr shows the server's mode only once it serves requests.
  return four_letter("srvr").find("Mode: ") != std::string::npos;
}

void ZooKeeperServer::start(Millis timeout) {
  if (running()) return;
  const auto cp = zookeeper_classpath();
  if (!cp) throw std::runtime_error("ZooKeeper not installed (" + zookeeper_jar() + ")");
  write_config();
  ++generation_;
  process_.reset();
  const char* main_class = servers_.empty() ? "org.apache.zookeeper.server.ZooKeeperServerMain"
                                            : "org.apache.zookeeper.server.quorum.QuorumPeerMain";
  // A small heap and the client compiler: the server starts in about half a second and holds
  // little, which matters on a 2-core machine running several of them.
  process_ = std::make_unique<Process>(
      java_bin(),
      std::vector<std::string>{"-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                               "-Dzookeeper.admin.enableServer=false", "-cp", *cp, main_class,
                               (dir_ / "zoo.cfg").string()},
      EnvVars{}, "zookeeper#" + std::to_string(my_id_) + "." + std::to_string(generation_));
  // An ensemble member serves only once a quorum is up: its caller waits for that instead.
  if (!servers_.empty()) return;
  const bool up = wait_until([&] { return !process_->running() || serving(); }, timeout, 50ms);
  if (!up || !process_->running()) {
    const std::string log = process_->stderr_text() + process_->stdout_text();
    const std::string how = process_->running()
                                ? "not answering after " + std::to_string(timeout.count()) + " ms"
                                : "exited (" + process_->exit_status()->describe() + ")";
    process_->kill9();
    throw std::runtime_error("ZooKeeper on " + endpoint() + " " + how + "; log:\n" + log);
  }
}

void ZooKeeperServer::kill9() {
  if (process_) process_->kill9();
}

ExitStatus ZooKeeperServer::stop(Millis timeout) {
  if (!process_) return {};
  process_->signal(SIGTERM);
  if (auto st = process_->wait_exit(timeout)) return *st;
  return process_->kill9();
}

void ZooKeeperServer::restart(Millis timeout) {
  if (running()) stop();
  start(timeout);
}

void ZooKeeperServer::wipe_and_restart(Millis timeout) {
  kill9();
  std::error_code ec;
  std::filesystem::remove_all(data_dir_, ec);
  if (ec) throw std::runtime_error("wipe " + data_dir_.string() + ": " + ec.message());
  start(timeout);
}

ZooKeeperEnsemble::ZooKeeperEnsemble(ZooKeeperSettings settings, Millis timeout)
    : dir_("registrar-zk-ensemble") {
  const auto ports = free_ports(9);
  std::vector<std::string> servers;
  for (int i = 0; i < 3; ++i) {
    servers.push_back("server." + std::to_string(i + 1) + "=127.0.0.1:" +
                      std::to_string(ports[3 * i + 1]) + ":" + std::to_string(ports[3 * i + 2]));
  }
  for (int i = 0; i < 3; ++i) {
    members_.push_back(std::unique_ptr<ZooKeeperServer>(new ZooKeeperServer(
        dir_.path() / ("m" + std::to_string(i + 1)), ports[3 * i], settings, servers, i + 1)));
  }
  for (auto& m : members_) m->start(timeout);
  const bool up = wait_until(
      [&] {
        for (auto& m : members_)
          if (!m->serving()) return false;
        return true;
      },
      timeout, 100ms);
  if (!up)
    throw std::runtime_error("ZooKeeper ensemble not serving after " +
                             std::to_string(timeout.count()) + " ms");
}

std::string ZooKeeperEnsemble::connect_string() const {
  std::string out;
  for (const auto& e : endpoints()) out += (out.empty() ? "" : ",") + e;
  return out;
}

std::vector<std::string> ZooKeeperEnsemble::endpoints() const {
  std::vector<std::string> out;
  for (const auto& m : members_) out.push_back(m->endpoint());
  return out;
}

}  // namespace registrar::test
