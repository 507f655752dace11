// load_manifest on real files: temporary ones, the size limit (a file past it, /dev/zero), a
// FIFO and a pipe, and the manifests shipped under config/.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "config/effective.hpp"
#include "config/manifest_parser.hpp"
#include "test_env.hpp"

using namespace registrar::config;
using registrar::config::test::env_of;
using ms = std::chrono::milliseconds;
namespace fs = std::filesystem;

namespace {

// A private temporary directory, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "registrar-config-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path write(const std::string& name, const std::string& content) const {
    fs::path p = path_ / name;
    std::ofstream(p) << content;
    return p;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string load_error(const std::string& path, const EnvLookup& env = env_of({})) {
  try {
    load_manifest(path, env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "loaded without error";
}

const std::string kConfigDir = REGISTRAR_CONFIG_DIR;

// An example manifest with its commented-out keys turned on: "<indent># key: value" and
// "<indent>#   key: value" lose their "# ", so that the keys an example only shows in comments
// are parsed as well. Prose comments do not have that shape.
std::string uncommented(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  static const std::regex commented_key(R"(^(\s*)# (\s*[a-z_]+:(\s.*)?)$)", std::regex::multiline);
  return std::regex_replace(text.str(), commented_key, "$1$2");
}

// A manifest of `n` services, one line each (about 60 bytes a service).
std::string manifest_of(int n) {
  std::string text = "services:\n";
  for (int i = 0; i < n; ++i) {
    text += "  - {name: svc-" + std::to_string(i) +
            ", address: 127.0.0.1, port: " + std::to_string(1000 + i) + "}\n";
  }
  return text;
}

// Writes all of `text` to `fd`. SIGPIPE is blocked in the calling thread, so that a reader gone
// early makes the write fail (EPIPE) instead of killing the test.
bool write_all(int fd, const std::string& text) {
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Waits (up to 10 s) until the FIFO whose write end is `fd` has a reader: until then poll()
// reports POLLERR on that end.
bool wait_for_reader(int fd) {
  for (int i = 0; i < 10000; ++i) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 0) == 1 && (p.revents & POLLERR) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

}  // namespace

TEST_CASE("load_manifest reads a file and names it in the result and in errors") {
  TempDir dir;
  fs::path good = dir.write(
      "services.yaml", "services:\n  - name: hello\n    address: 127.0.0.1\n    port: 50051\n");
  Manifest m = load_manifest(good.string(), env_of({}));
  CHECK(m.source == good.string());
  REQUIRE(m.services.size() == 1);
  CHECK(m.services[0].name == "hello");
  CHECK(m.services[0].location.file == good.string());
  CHECK(m.services[0].location.line == 2);

  fs::path bad = dir.write("bad.yaml", "services:\n  - name: hello\n    address: h\n    port: 0\n");
  CHECK(load_error(bad.string()) ==
        bad.string() + ":4:11: services[0].port: 0 is out of range (1-65535)");
}

TEST_CASE("load_manifest refuses missing, unreadable and empty files") {
  TempDir dir;
  std::string missing = (dir.path() / "nope.yaml").string();
  CHECK(load_error(missing) == missing + ": cannot read: " + std::strerror(ENOENT));
  CHECK(load_error(missing) == missing + ": cannot read: No such file or directory");

  std::string directory = dir.path().string();
  CHECK(load_error(directory) == directory + ": cannot read: " + std::strerror(EISDIR));

  fs::path empty = dir.write("empty.yaml", "");
  CHECK(load_error(empty.string()) == empty.string() + ": the manifest is empty");

  if (::geteuid() != 0) {  // root reads anything
    fs::path locked = dir.write("locked.yaml", "services: []\n");
    fs::permissions(locked, fs::perms::none);
    CHECK(load_error(locked.string()) ==
          locked.string() + ": cannot read: " + std::strerror(EACCES));
  }

  try {
    load_manifest(missing, env_of({}));
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK(e.where.file == missing);
    CHECK(e.where.line == 0);
    CHECK(e.field.empty());
  }
}

TEST_CASE("load_manifest reads a file up to kMaxManifestBytes and refuses a larger one") {
  TempDir dir;
  const std::string services = manifest_of(1);
  // Padded with a comment to exactly the limit: read and parsed.
  const std::string exact =
      services + "#" + std::string(kMaxManifestBytes - services.size() - 2, 'x') + "\n";
  REQUIRE(exact.size() == kMaxManifestBytes);
  fs::path at_limit = dir.write("at-limit.yaml", exact);
  CHECK(load_manifest(at_limit.string(), env_of({})).services.size() == 1);

  // One byte more is refused, naming the file and the limit.
  fs::path over = dir.write("over.yaml", exact + "\n");
  CHECK(load_error(over.string()) ==
        over.string() + ": larger than 1048576 bytes, the limit for a manifest");

  // 20 MiB (sparse: cheap to make), which was read and parsed whole before being refused, in
  // 5 s: the same line now, after reading the first MiB.
  fs::path huge = dir.write("huge.yaml", services);
  fs::resize_file(huge, 20 << 20);
  CHECK(load_error(huge.string()) ==
        huge.string() + ": larger than 1048576 bytes, the limit for a manifest");
}

TEST_CASE("load_manifest refuses a file that never ends, at the limit") {
  // Before the limit, memory grew without end (2 GB in 5 s) and the call never returned.
  CHECK(load_error("/dev/zero") ==
        "/dev/zero: larger than 1048576 bytes, the limit for a manifest");
}

TEST_CASE("load_manifest reads a pipe to its end, as -c <(command) gives it") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  // More than a pipe holds (64 KiB), so the writer is still writing while the manifest is read.
  const std::string text = manifest_of(1300);
  REQUIRE(text.size() > 65536);
  bool written = false;
  std::thread writer([&] {
    written = write_all(fds[1], text);
    ::close(fds[1]);
  });
  std::string error = "loaded";
  std::size_t count = 0;
  try {
    count = load_manifest("/dev/fd/" + std::to_string(fds[0]), env_of({})).services.size();
  } catch (const ConfigError& e) {
    error = e.what();
  }
  ::close(fds[0]);  // before join: a writer left blocked fails with EPIPE
  writer.join();
  CHECK(error == "loaded");
  CHECK(count == 1300);
  CHECK(written);
}

TEST_CASE("load_manifest reads a FIFO to its writer's close, and one without a writer as empty") {
  TempDir dir;
  const std::string fifo = (dir.path() / "m.fifo").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // No process has it open for writing: empty at once, instead of waiting for a writer forever.
  CHECK(load_error(fifo) == fifo + ": the manifest is empty");

  // A writer that has the FIFO open first (opening it for writing needs a reader: `keeper`
  // stands in, and is gone before load_manifest opens it) and writes once load_manifest reads.
  const int keeper = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(keeper >= 0);
  const int write_end = ::open(fifo.c_str(), O_WRONLY);
  REQUIRE(write_end >= 0);
  ::close(keeper);
  const std::string text = manifest_of(1300);
  bool written = false;
  std::thread writer([&] {
    written = wait_for_reader(write_end) && write_all(write_end, text);
    ::close(write_end);
  });
  std::string error = "loaded";
  std::size_t count = 0;
  try {
    count = load_manifest(fifo, env_of({})).services.size();
  } catch (const ConfigError& e) {
    error = e.what();
  }
  writer.join();
  CHECK(error == "loaded");
  CHECK(count == 1300);
  CHECK(written);
}

TEST_CASE("config/services.example.yaml parses and sets every key") {
  Manifest m = load_manifest(kConfigDir + "/services.example.yaml", env_of({}));
  CHECK(m.registry.kind == RegistryKind::Etcd);
  CHECK(m.registry.etcd.endpoints == std::vector<std::string>{"127.0.0.1:2379"});
  CHECK(m.registry.etcd.format == EtcdKeyFormat::Json);
  CHECK(m.registry.backoff.multiplier == 1.6);
  REQUIRE(m.services.size() == 2);
  const ServiceSpec& hello = m.services[0];
  CHECK(hello.id == "hello-1");
  CHECK(hello.tags == std::vector<std::string>{"v1", "blue"});
  CHECK(hello.meta.at("zone") == "a");
  CHECK(hello.probe.mode == ProbeMode::Poll);
  CHECK(hello.probe.rise == 2);
  CHECK(hello.probe.fall == 3);
  CHECK(hello.probe.target == "127.0.0.1:50051");
  const ServiceSpec& echo = m.services[1];
  CHECK(echo.id == "echo-echo.internal-50052");
  CHECK(echo.probe.mode == ProbeMode::Watch);
  CHECK(echo.probe.target == "echo.internal:50052");
  CHECK(m.shutdown_timeout == ms{5000});

  // "every key": each key of the format is present in the example, not just in a comment.
  YAML::Node doc = YAML::LoadFile(kConfigDir + "/services.example.yaml");
  const YAML::Node registry = doc["registry"];
  for (const char* key : {"kind", "etcd", "backoff"}) CHECK(registry[key].IsDefined());
  for (const char* key : {"endpoints", "prefix", "format", "lease_ttl", "dial_timeout",
                          "resync_interval", "keepalive_time", "keepalive_timeout"}) {
    INFO(key);
    CHECK(registry["etcd"][key].IsDefined());
  }
  for (const char* key : {"initial", "max", "multiplier", "jitter"}) {
    INFO(key);
    CHECK(registry["backoff"][key].IsDefined());
  }
  for (const char* key : {"mode", "interval", "timeout", "rise", "fall"}) {
    INFO(key);
    CHECK(doc["defaults"]["probe"][key].IsDefined());
  }
  const YAML::Node service = doc["services"][0];
  for (const char* key : {"name", "id", "address", "port", "tags", "meta", "probe"}) {
    INFO(key);
    CHECK(service[key].IsDefined());
  }
  for (const char* key : {"mode", "interval", "timeout", "rise", "fall", "target", "service"}) {
    INFO(key);
    CHECK(service["probe"][key].IsDefined());
  }
  CHECK(doc["drain"].IsDefined());
  CHECK(doc["shutdown_timeout"].IsDefined());
  CHECK(doc["status"]["listen"].IsDefined());
  CHECK(m.status.listen == "127.0.0.1:9901");
}

TEST_CASE("config/services.example.yaml: the keys it shows in comments parse too") {
  const std::string path = kConfigDir + "/services.example.yaml";
  Manifest m = parse_manifest(uncommented(path), path, env_of({}));
  CHECK(m.registry.etcd.owner == "node-7/hello");
  CHECK(m.registry.etcd.tls.enabled);
  CHECK(m.registry.etcd.tls.key_file == "client-key.pem");
  CHECK(m.registry.etcd.username == "registrar");
  CHECK(m.registry.etcd.password_file == "/run/credentials/grpc-registrar.service/etcd-password");
  CHECK(m.default_probe.tls.ca_file == "/etc/grpc-registrar/tls/services-ca.pem");
  REQUIRE(m.services.size() == 2);
  CHECK(m.services[0].probe.tls.server_name == "hello.internal");
  CHECK(m.services[1].probe.tls == m.default_probe.tls);
}

TEST_CASE("config/consul.example.yaml parses, and shows every registry.consul key") {
  const std::string path = kConfigDir + "/consul.example.yaml";
  Manifest plain = load_manifest(path, env_of({}));
  CHECK(plain.registry.kind == RegistryKind::Consul);
  CHECK(plain.registry.consul.address == "127.0.0.1:8500");
  CHECK_FALSE(plain.registry.consul.tls.enabled);

  // Its commented-out keys, turned on, are every key of registry.consul and of its tls section.
  Manifest m = parse_manifest(uncommented(path), path, env_of({{"CONSUL_TOKEN", "t0k3n"}}));
  const ConsulSpec& c = m.registry.consul;
  CHECK(c.token_file == "/run/secrets/consul-token");
  CHECK(c.token == "t0k3n");
  CHECK(c.owner == "node-7");
  CHECK(c.weights == ConsulWeights{10, 1});
  CHECK(c.tls.enabled);
  CHECK(c.tls.ca_file == "/etc/consul.d/consul-agent-ca.pem");
  CHECK(c.tls.cert_file == "/etc/grpc-registrar/tls/consul-client.pem");
  CHECK(c.tls.key_file == "/etc/grpc-registrar/tls/consul-client-key.pem");
  CHECK(c.tls.server_name == "localhost");
  CHECK_FALSE(c.tls.insecure_skip_verify);
  YAML::Node consul = YAML::Load(uncommented(path))["registry"]["consul"];
  for (const char* key :
       {"address", "token", "token_file", "owner", "check_ttl", "deregister_critical_after",
        "reconcile_interval", "request_timeout", "weights", "tls"}) {
    INFO(key);
    CHECK(consul[key].IsDefined());
  }
  for (const char* key :
       {"enabled", "ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify"}) {
    INFO(key);
    CHECK(consul["tls"][key].IsDefined());
  }
}

TEST_CASE("config/demo.yaml parses with ETCD_ENDPOINT and HELLO_PORT set") {
  auto env = env_of({{"ETCD_ENDPOINT", "http://127.0.0.1:23790"}, {"HELLO_PORT", "50061"}});
  Manifest m = load_manifest(kConfigDir + "/demo.yaml", env);
  CHECK(m.registry.etcd.endpoints == std::vector<std::string>{"127.0.0.1:23790"});
  CHECK(m.registry.etcd.format == EtcdKeyFormat::Json);
  CHECK(m.registry.etcd.lease_ttl == ms{5000});
  REQUIRE(m.services.size() == 1);
  CHECK(m.services[0].name == "hello");
  CHECK(m.services[0].address == "127.0.0.1");
  CHECK(m.services[0].port == 50061);
  CHECK(m.services[0].probe.mode == ProbeMode::Watch);
  CHECK(m.services[0].probe.rise == 1);
  CHECK(m.services[0].probe.fall == 1);
  CHECK(m.drain == ms{0});
  // Without the variables it is refused, naming the first one missing.
  std::string path = kConfigDir + "/demo.yaml";
  CHECK(load_error(path).starts_with(path + ":6:16: registry.etcd.endpoints: environment "
                                            "variable ETCD_ENDPOINT is not set"));
}

TEST_CASE("config/gokit.yaml and config/grpc-go.yaml parse, one per key format") {
  auto env = env_of({{"ETCD_ENDPOINT", "127.0.0.1:2379"}, {"HELLO_PORT", "50071"}});
  Manifest gokit = load_manifest(kConfigDir + "/gokit.yaml", env);
  CHECK(gokit.registry.etcd.format == EtcdKeyFormat::GoKit);
  CHECK(gokit.registry.etcd.prefix == "/services");
  REQUIRE(gokit.services.size() == 1);
  CHECK(gokit.services[0].port == 50071);

  Manifest grpc_go = load_manifest(kConfigDir + "/grpc-go.yaml", env);
  CHECK(grpc_go.registry.etcd.format == EtcdKeyFormat::GrpcGo);
  REQUIRE(grpc_go.services.size() == 1);
  CHECK(grpc_go.services[0].name == "hello");
  CHECK(grpc_go.services[0].port == 50071);

  // Both have defaults for their variables.
  CHECK(load_manifest(kConfigDir + "/gokit.yaml", env_of({})).services[0].port == 50051);
  CHECK(load_manifest(kConfigDir + "/grpc-go.yaml", env_of({})).registry.etcd.endpoints ==
        std::vector<std::string>{"127.0.0.1:2379"});
}

TEST_CASE("config/secure.example.yaml parses: etcd mTLS and auth, probe TLS with an opt-out") {
  Manifest m = load_manifest(kConfigDir + "/secure.example.yaml", env_of({}));
  const EtcdSpec& e = m.registry.etcd;
  CHECK(e.tls.enabled);
  CHECK(e.tls.ca_file == "/etc/grpc-registrar/tls/etcd-ca.pem");
  CHECK(e.tls.cert_file == "/etc/grpc-registrar/tls/registrar.pem");
  CHECK(e.tls.key_file == "/etc/grpc-registrar/tls/registrar-key.pem");
  CHECK(e.tls.server_name == "etcd.internal");
  CHECK(e.username == "registrar");
  CHECK(e.password_file == "/run/credentials/grpc-registrar.service/etcd-password");
  CHECK(e.password.empty());
  REQUIRE(m.services.size() == 2);
  CHECK(m.services[0].probe.tls.enabled);
  CHECK(m.services[0].probe.tls.cert_file == "/etc/grpc-registrar/tls/prober.pem");
  CHECK(m.services[0].probe.service == "payments.v1.Payments");
  CHECK_FALSE(m.services[1].probe.tls.enabled);
  CHECK(m.services[1].probe.tls.ca_file.empty());
  CHECK(m.services[1].probe.target == "127.0.0.1:50052");

  // It renders back to the same manifest (the password stays a file reference).
  Manifest back = parse_manifest(render_effective(m), "rendered", env_of({}));
  CHECK(back.registry.etcd.tls == e.tls);
  CHECK(back.registry.etcd.password_file == e.password_file);
  CHECK(back.services == m.services);
}

TEST_CASE("the rendered example parses back to the same services") {
  Manifest m = load_manifest(kConfigDir + "/services.example.yaml", env_of({}));
  Manifest back = parse_manifest(render_effective(m), "rendered", env_of({}));
  CHECK(back.services == m.services);
}

TEST_CASE("config/zookeeper.example.yaml parses, with the keys it shows in comments too") {
  const std::string path = kConfigDir + "/zookeeper.example.yaml";
  const Manifest m = load_manifest(path, env_of({}));
  CHECK(m.registry.kind == RegistryKind::ZooKeeper);
  const ZooKeeperSpec& z = m.registry.zookeeper;
  CHECK(z.servers == std::vector<std::string>{"127.0.0.1:2181"});
  CHECK(z.base_path == "/services");
  CHECK(z.session_timeout == std::chrono::seconds(10));
  CHECK(z.format == ZooKeeperFormat::Curator);
  CHECK(z.resync_interval == std::chrono::seconds(30));
  REQUIRE(m.services.size() == 1);

  const Manifest all = parse_manifest(uncommented(path), path, env_of({}));
  const ZooKeeperSpec& a = all.registry.zookeeper;
  CHECK(a.chroot == "/prod");
  CHECK(a.owner == "node-7/hello");
  CHECK(a.username == "registrar");
  CHECK(a.password_file == "/run/secrets/zookeeper-password");
  CHECK(a.acl == ZooKeeperAcl::WorldRead);
}

TEST_CASE("config/nacos.example.yaml parses, and shows every registry.nacos key") {
  const std::string path = kConfigDir + "/nacos.example.yaml";
  Manifest plain = load_manifest(path, env_of({}));
  CHECK(plain.registry.kind == RegistryKind::Nacos);
  CHECK(plain.registry.nacos.servers == std::vector<std::string>{"127.0.0.1:8848"});
  CHECK(plain.registry.nacos.username.empty());
  CHECK_FALSE(plain.registry.nacos.tls.enabled);

  Manifest m = parse_manifest(uncommented(path), path, env_of({}));
  const NacosSpec& n = m.registry.nacos;
  CHECK(n.username == "grpc-registrar");
  CHECK(n.password_file == "/run/secrets/nacos-password");
  CHECK(n.tls.enabled);
  CHECK(n.tls.ca_file == "/etc/nacos/ca.pem");
  CHECK(n.tls.server_name == "nacos.internal");
  YAML::Node nacos = YAML::Load(uncommented(path))["registry"]["nacos"];
  for (const char* key : {"servers", "namespace", "group", "cluster", "weight", "request_timeout",
                          "username", "password_file", "tls"}) {
    INFO(key);
    CHECK(nacos[key].IsDefined());
  }
}
