// The ZooKeeper backend end to end: Debian's real ZooKeeper, real hello-service processes, the
// real daemon. Each fault of docs/zookeeper.md asserts the registry's contents over time; every
// wait is bounded by the manifest's settings (session_timeout 3s, or 8s where a restart must fit
// in it; resync_interval 1s) plus slack for a loaded machine. Timings are printed (MEASURED), never
// asserted.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "registry/zookeeper/entry_format.hpp"
#include "registry/zookeeper/owner_record.hpp"
#include "support/ports.hpp"
#include "support/require.hpp"
#include "support/temp_dir.hpp"
#include "zookeeper_itest.hpp"

using namespace registrar::itest;
using namespace std::chrono_literals;

namespace {

constexpr Millis kSessionTimeout = 3s;
constexpr Millis kResync = 1s;
constexpr Millis kSlack = 4s;  // scheduling on a loaded 2-core machine
const std::string kPath = "/services/hello/hello-1";

struct Setup {
  ZooKeeperServer zk;
  HelloService hello;
  ZkParams params;
  Setup() {
    params.servers = zk.endpoint();
    ServiceEntry e = entry_for(hello, "hello-1");
    e.meta = {{"zone", "a"}};
    params.services = {e};
  }
};

std::int64_t owner_of(const std::string& servers) {
  const auto n = try_node(servers, kPath);
  return n ? n->ephemeral_owner : 0;
}

std::size_t count_lines(const Daemon& d, const std::string& pattern) {
  const std::regex re(pattern);
  std::size_t n = 0;
  std::size_t from = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto m = d.find_log(re, from);
    if (!m) break;
    ++n;
    from = m->end_offset;
  }
  return n;
}

}  // namespace

TEST_CASE("zookeeper: registers the healthy service, follows its health, SIGTERM removes all",
          "[zookeeper]") {
  if (!have_zookeeper()) return;
  Setup s;
  Daemon daemon(zookeeper_manifest_yaml(s.params));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_node(s.zk.endpoint(), kPath, true, 10s));
  const auto node = try_node(s.zk.endpoint(), kPath);
  REQUIRE(node);
  CHECK(node->ephemeral_owner != 0);
  const auto d = registrar::registry::zookeeper::decode(registrar::config::ZooKeeperFormat::Curator,
                                                        "/services", kPath, node->data);
  REQUIRE(d);
  CHECK(d->address == "127.0.0.1");
  CHECK(d->port == s.hello.port());
  CHECK(d->meta == std::map<std::string, std::string>{{"zone", "a"}});
  CHECK(node->data.find("\"gRPC_port\":\"" + std::to_string(s.hello.port()) + "\"") !=
        std::string::npos);
  const std::string record = registrar::registry::zookeeper::owner_record_path("itest");
  REQUIRE(try_node(s.zk.endpoint(), record));

  s.hello.set_serving(false);
  record_ms("zookeeper: NOT_SERVING to node gone",
            count_ms(wait_for_node(s.zk.endpoint(), kPath, false, 5s)));
  CHECK_FALSE(try_node(s.zk.endpoint(), kPath));
  s.hello.set_serving(true);
  REQUIRE(wait_for_node(s.zk.endpoint(), kPath, true, 5s));

  const auto before = std::chrono::steady_clock::now();
  CHECK(daemon.terminate().exited_with(0));
  record_ms("zookeeper: SIGTERM to daemon exit",
            std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - before).count());
  // Gone when the daemon has exited: closing the session deleted every ephemeral at once.
  CHECK_FALSE(try_node(s.zk.endpoint(), kPath));
  CHECK_FALSE(try_node(s.zk.endpoint(), record));
  CHECK(daemon.find_log(std::regex("closed: every node of ours deleted with it")));
}

TEST_CASE("zookeeper: a node deleted from outside is restored within resync_interval",
          "[zookeeper]") {
  if (!have_zookeeper()) return;
  Setup s;
  Daemon daemon(zookeeper_manifest_yaml(s.params));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_node(s.zk.endpoint(), kPath, true, 10s));
  const std::int64_t owner = owner_of(s.zk.endpoint());
  REQUIRE(ZkTestClient(s.zk.endpoint()).remove(kPath));
  const auto back = wait_for_node(s.zk.endpoint(), kPath, true, kResync + kSlack);
  REQUIRE(back);
  record_ms("zookeeper: restored after delete from outside", back->count());
  CHECK(owner_of(s.zk.endpoint()) == owner);  // the same session wrote it again
}

TEST_CASE("zookeeper: server killed and restarted within the session timeout, same session",
          "[zookeeper]") {
  if (!have_zookeeper()) return;
  Setup s;
  s.params.session_timeout = "6s";  // the restart (about a second) must fit well within it
  Daemon daemon(zookeeper_manifest_yaml(s.params));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_node(s.zk.endpoint(), kPath, true, 10s));
  const std::int64_t owner = owner_of(s.zk.endpoint());
  s.zk.kill9();
  s.zk.restart();
  // The session is in the server's log: it resumes, and its node was never gone.
  REQUIRE(wait_until(
      [&] {
        return daemon.find_log(std::regex("ZooKeeper reachable")) &&
               count_lines(daemon, "ZooKeeper reachable") >= 2;
      },
      6s + kSlack));
  CHECK(owner_of(s.zk.endpoint()) == owner);
  CHECK(count_lines(daemon, "session .* lost") == 0);
}

TEST_CASE("zookeeper: server wiped, a new session writes everything again, logged once",
          "[zookeeper]") {
  if (!have_zookeeper()) return;
  Setup s;
  Daemon daemon(zookeeper_manifest_yaml(s.params));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_node(s.zk.endpoint(), kPath, true, 10s));
  const std::int64_t owner = owner_of(s.zk.endpoint());
  s.zk.wipe_and_restart();
  const auto back = wait_for_node(s.zk.endpoint(), kPath, true, kSessionTimeout + 2s + kSlack);
  REQUIRE(back);
  record_ms("zookeeper: restored after the server was wiped", back->count());
  CHECK(owner_of(s.zk.endpoint()) != owner);
  CHECK(count_lines(daemon, "session .* lost") == 1);
}

TEST_CASE("zookeeper: server down past the session timeout, a new session on its return",
          "[zookeeper]") {
  if (!have_zookeeper()) return;
  Setup s;
  Daemon daemon(zookeeper_manifest_yaml(s.params));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_node(s.zk.endpoint(), kPath, true, 10s));
  const std::int64_t owner = owner_of(s.zk.endpoint());
  s.zk.kill9();
  REQUIRE(daemon.wait_for_log(std::regex("session .* lost"), kSessionTimeout + kSlack));
  s.zk.start();
  // The server restores the old session from its log and expires it a session timeout later;
  // the daemon's new session replaces its node (multi) or creates it once it is gone.
  REQUIRE(wait_until(
      [&] {
        const std::int64_t now = owner_of(s.zk.endpoint());
        return now != 0 && now != owner;
      },
      2 * kSessionTimeout + kSlack, 50ms));
  CHECK(count_lines(daemon, "session .* lost") == 1);
  // Logged on change, not per attempt: once down, then once per new cause (the session presumed
  // lost; "no ZooKeeper server answers" when the new session's first attempt fails because the
  // server, a JVM, is still starting on a loaded machine), however many connection attempts the
  // library made meanwhile: never the same cause twice in a row.
  CHECK(count_lines(daemon, "\\) unreachable") == 1);
  const std::string log = daemon.log();
  const std::regex still(R"(still unreachable, now: ([^;]*); retrying)");
  std::vector<std::string> causes;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), still); it != std::sregex_iterator();
       ++it)
    causes.push_back((*it)[1].str());
  INFO(causes.size() << " 'still unreachable' lines");
  CHECK(causes.size() <= 2);
  for (std::size_t i = 1; i < causes.size(); ++i) CHECK(causes[i] != causes[i - 1]);
}

TEST_CASE("zookeeper: a session expired by the server is replaced, every entry written again",
          "[zookeeper]") {
  if (!have_zookeeper()) return;
  Setup s;
  Daemon daemon(zookeeper_manifest_yaml(s.params));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_node(s.zk.endpoint(), kPath, true, 10s));
  const std::int64_t owner = owner_of(s.zk.endpoint());
  // A stopped daemon sends no heartbeat: the server expires its session and deletes its node.
  daemon.signal(SIGSTOP);
  const auto gone = wait_for_node(s.zk.endpoint(), kPath, false, kSessionTimeout + kSlack);
  daemon.signal(SIGCONT);
  REQUIRE(gone);
  const auto back = wait_for_node(s.zk.endpoint(), kPath, true, kSessionTimeout + kSlack);
  REQUIRE(back);
  record_ms("zookeeper: node back after SIGCONT of an expired session", back->count());
  CHECK(owner_of(s.zk.endpoint()) != owner);
  CHECK(count_lines(daemon, "session .* lost") == 1);
}

TEST_CASE("zookeeper: SIGKILL, the nodes vanish with the session, a restart adopts without gap",
          "[zookeeper]") {
  if (!have_zookeeper()) return;
  Setup s;
  // The second run must start, connect and replace the node while the killed run's session
  // lives: a start of the ASan daemon took over 3 s on a loaded machine, so 8 s here.
  constexpr Millis kSession = 8s;
  s.params.session_timeout = "8s";
  {
    Daemon first(zookeeper_manifest_yaml(s.params));
    DumpOnFailure dump(first.process());
    REQUIRE(wait_for_node(s.zk.endpoint(), kPath, true, 10s));
    const std::int64_t owner = owner_of(s.zk.endpoint());
    first.kill9();
    // A restart within the session timeout: the node of the killed run's session is replaced
    // atomically by one of the new session. Sampled throughout: never missing.
    Daemon second(zookeeper_manifest_yaml(s.params));
    DumpOnFailure dump2(second.process());
    ZkTestClient watcher(s.zk.endpoint());
    bool always_there = true;
    const bool replaced = wait_until(
        [&] {
          const auto n = watcher.get(kPath);
          always_there = always_there && n.has_value();
          return n && n->ephemeral_owner != owner;
        },
        kSession + kSlack, 10ms);
    CHECK(replaced);
    CHECK(always_there);
    CHECK(second.wait_for_log(std::regex("previous run of this daemon .* replacing 1"), 1s));
    const std::int64_t second_owner = owner_of(s.zk.endpoint());

    second.kill9();
    const auto gone = wait_for_node(s.zk.endpoint(), kPath, false, kSession + kSlack);
    REQUIRE(gone);
    record_ms("zookeeper: node gone after SIGKILL (session timeout 8s)", gone->count());
    CHECK(second_owner != owner);
  }
}

TEST_CASE("zookeeper: a three-server ensemble loses the server in use, the session moves on",
          "[zookeeper]") {
  if (!have_zookeeper()) return;
  ZooKeeperEnsemble ensemble;
  HelloService hello;
  ZkParams p;
  p.servers = ensemble.connect_string();
  p.session_timeout = "6s";  // room for the move to another member on a loaded machine
  p.services = {entry_for(hello, "hello-1")};
  Daemon daemon(zookeeper_manifest_yaml(p));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_node(p.servers, kPath, true, 15s));
  const auto established = daemon.wait_for_log(std::regex("established via (\\S+),"), 1s);
  REQUIRE(established);
  const std::int64_t owner = owner_of(p.servers);
  std::size_t in_use = ensemble.size();
  for (std::size_t i = 0; i < ensemble.size(); ++i)
    if (ensemble.member(i).endpoint() == established->groups[1]) in_use = i;
  REQUIRE(in_use < ensemble.size());
  ensemble.member(in_use).kill9();
  // The library moves to another member with the same session: reachable again, the node never
  // re-created (same owner), no session lost.
  REQUIRE(wait_until([&] { return count_lines(daemon, "ZooKeeper reachable") >= 2; }, 6s + kSlack));
  CHECK(owner_of(p.servers) == owner);
  CHECK(count_lines(daemon, "session .* lost") == 0);
}

#ifndef REGISTRAR_CURATOR_READER_CP
#define REGISTRAR_CURATOR_READER_CP ""
#endif

TEST_CASE("zookeeper: Curator's queryForInstances sees exactly the healthy instances",
          "[zookeeper][interop]") {
  if (!have_zookeeper()) return;
  const std::string cp = REGISTRAR_CURATOR_READER_CP;
  if (!need(!cp.empty(),
            "the Curator reader was not built (apt-get install "
            "openjdk-17-jdk-headless libcurator-discovery-java, then reconfigure)"))
    return;
  Setup s;
  // The server's restart below must fit in the session (its nodes stay): a JVM restarted beside
  // the suite's heaviest tests took over 3 s, so 8 s here, and the expiry waits scale with it.
  constexpr Millis kSession = 8s;
  s.params.session_timeout = "8s";
  HelloService other;  // a second instance of the same service, on its own port
  ServiceEntry e2 = entry_for(other, "hello-2");
  s.params.services.push_back(e2);
  Daemon daemon(zookeeper_manifest_yaml(s.params));
  DumpOnFailure dump(daemon.process());
  Process reader("java", {"-cp", cp, "CuratorReader", s.zk.endpoint(), "/services", "hello"}, {},
                 "curator-reader");
  DumpOnFailure dump_reader(reader);
  const auto port = [](const HelloService& h) { return std::to_string(h.port()); };
  const std::string both = "INSTANCES hello-1=127.0.0.1:" + port(s.hello) + "/" + port(s.hello) +
                           ",hello-2=127.0.0.1:" + port(other) + "/" + port(other);
  const std::string only_second = "INSTANCES hello-2=127.0.0.1:" + port(other) + "/" + port(other);
  const auto line = [](const std::string& text) { return std::regex("^" + text + "$"); };
  std::size_t from = 0;
  const auto expect = [&](const std::string& text, Millis timeout) {
    auto m = reader.wait_for_line(Stream::Stdout, line(text), timeout, from);
    if (m) from = m->end_offset;
    return m.has_value();
  };
  REQUIRE(expect(both, 20s));  // the JVM's start included
  s.hello.set_serving(false);
  CHECK(expect(only_second, 5s));
  s.hello.set_serving(true);
  CHECK(expect(both, 5s));
  // A session expiry (the daemon stopped past the timeout): both go, both come back.
  daemon.signal(SIGSTOP);
  CHECK(expect("INSTANCES ", kSession + kSlack));
  daemon.signal(SIGCONT);
  CHECK(expect(both, kSession + kSlack));
  // A server restart within the session timeout: the reader sees the same two throughout.
  s.zk.kill9();
  s.zk.restart();
  std::this_thread::sleep_for(2s);
  // Every list it saw meanwhile is the same two (a query may fail while the server is down:
  // ERROR), never fewer.
  for (const auto& l : non_empty_lines(reader.stdout_text().substr(from))) {
    INFO(l);
    CHECK((l == both || l.starts_with("ERROR")));
  }
}

TEST_CASE("zookeeper: register --zookeeper runs one service from flags alone", "[zookeeper][cli]") {
  if (!have_zookeeper()) return;
  Setup s;
  Process reg(*registrar_bin(),
              {"register", "--zookeeper", s.zk.endpoint(), "--name", "hello", "--id", "hello-1",
               "--address", "127.0.0.1", "--port", std::to_string(s.hello.port()), "--format",
               "nerve", "--ttl", "4s", "--probe-interval", "200ms"},
              {}, "register");
  DumpOnFailure dump(reg);
  REQUIRE(wait_for_node(s.zk.endpoint(), kPath, true, 10s));
  const auto node = try_node(s.zk.endpoint(), kPath);
  REQUIRE(node);
  CHECK(node->data == R"({"host":"127.0.0.1","port":)" + std::to_string(s.hello.port()) +
                          R"(,"name":"hello-1"})");
  reg.signal(SIGTERM);
  REQUIRE(reg.wait_exit(10s));
  CHECK_FALSE(try_node(s.zk.endpoint(), kPath));

  // A format of another backend is refused, naming the flag.
  const auto bad = run_registrar({"register", "--zookeeper", s.zk.endpoint(), "--name", "x",
                                  "--address", "127.0.0.1", "--port", "1", "--format", "grpc-go"});
  CHECK(bad.status.exited_with(64));  // a bad flag: usage (EX_USAGE), as for every backend
  CHECK(bad.err.find("--format: invalid value \"grpc-go\"") != std::string::npos);
}

// Issue 19, backend parity: `deregister --zookeeper` as the other backends' deregister. A
// SIGKILLed `register` leaves its ephemeral node until its session expires (--ttl), and its
// ownership record (persistent) for good; the clean-up removes both at once.
TEST_CASE("zookeeper: deregister --zookeeper removes a killed register's node and record",
          "[zookeeper][cli]") {
  if (!have_zookeeper()) return;
  Setup s;
  Process reg(*registrar_bin(),
              {"register", "--zookeeper", s.zk.endpoint(), "--name", "hello", "--id", "hello-1",
               "--address", "127.0.0.1", "--port", std::to_string(s.hello.port()), "--ttl", "60s",
               "--probe-interval", "200ms"},
              {}, "register");
  DumpOnFailure dump(reg);
  REQUIRE(wait_for_node(s.zk.endpoint(), kPath, true, 10s));
  char host[256] = {};
  REQUIRE(::gethostname(host, sizeof host - 1) == 0);
  const std::string record =
      registrar::registry::zookeeper::owner_record_path(std::string(host) + ":register/hello-1");
  REQUIRE(try_node(s.zk.endpoint(), record));
  reg.kill9();
  CHECK(try_node(s.zk.endpoint(), kPath));  // the session lives on for --ttl

  auto r = run_registrar(
      {"deregister", "--zookeeper", s.zk.endpoint(), "--name", "hello", "--id", "hello-1"});
  INFO(r.err);
  CHECK(r.status.exited_with(0));
  CHECK(r.out == "deleted " + kPath + "\ndeleted " + record + "\n");
  CHECK_FALSE(try_node(s.zk.endpoint(), kPath));
  CHECK_FALSE(try_node(s.zk.endpoint(), record));
  // Again: nothing to delete is no error, as for etcd.
  r = run_registrar(
      {"deregister", "--zookeeper", s.zk.endpoint(), "--name", "hello", "--id", "hello-1"});
  CHECK(r.status.exited_with(0));
  CHECK(r.out == kPath + " was not registered (nothing to delete)\n");
  // Nobody listening: 69 within --timeout, one line.
  const std::string nobody = "127.0.0.1:" + std::to_string(free_port());
  r = run_registrar({"deregister", "--zookeeper", nobody, "--name", "hello", "--id", "hello-1",
                     "--timeout", "1s"});
  CHECK(r.status.exited_with(69));
  CHECK(r.err == "grpc-registrar deregister: ZooKeeper unreachable (" + nobody +
                     ": no session within --timeout); " + kPath + " not deleted\n");
}

#ifndef REGISTRAR_GOKIT_ZK_CLIENT
#define REGISTRAR_GOKIT_ZK_CLIENT ""
#endif

TEST_CASE("zookeeper: go-kit sd/zk's read side sees exactly the healthy gokit instances",
          "[zookeeper][interop]") {
  if (!have_zookeeper()) return;
  const std::string client = REGISTRAR_GOKIT_ZK_CLIENT;
  if (!need(!client.empty(),
            "gokit-zk-client was not built (apt-get install "
            "golang-github-samuel-go-zookeeper-dev, then reconfigure)"))
    return;
  Setup s;
  s.params.format = "gokit";
  HelloService other;
  s.params.services.push_back(entry_for(other, "hello-2"));
  Daemon daemon(zookeeper_manifest_yaml(s.params));
  DumpOnFailure dump(daemon.process());
  Process reader(client, {"-servers", s.zk.endpoint(), "-path", "/services/hello"}, {},
                 "gokit-zk-client");
  DumpOnFailure dump_reader(reader);
  std::vector<std::string> two{"127.0.0.1:" + std::to_string(s.hello.port()),
                               "127.0.0.1:" + std::to_string(other.port())};
  std::sort(two.begin(), two.end());  // the reader sorts the instance strings
  const std::string both = "INSTANCES " + two[0] + "," + two[1];
  const std::string second = "INSTANCES 127.0.0.1:" + std::to_string(other.port());
  std::size_t from = 0;
  const auto expect = [&](const std::string& text, Millis timeout) {
    auto m = reader.wait_for_line(Stream::Stdout, std::regex("^" + text + "$"), timeout, from);
    if (m) from = m->end_offset;
    return m.has_value();
  };
  REQUIRE(expect(both, 10s));
  s.hello.set_serving(false);
  CHECK(expect(second, 5s));  // seen through its watch
  s.hello.set_serving(true);
  CHECK(expect(both, 5s));
  daemon.signal(SIGSTOP);  // the session expires: both go, then come back
  CHECK(expect("INSTANCES ", kSessionTimeout + kSlack));
  daemon.signal(SIGCONT);
  CHECK(expect(both, kSessionTimeout + kSlack));
}

TEST_CASE("zookeeper: with digest auth, others read the nodes but cannot delete them",
          "[zookeeper][security]") {
  if (!have_zookeeper()) return;
  Setup s;
  TempDir dir("registrar-zk-auth");
  const auto password_file = dir.path() / "zk-password";
  { std::ofstream(password_file) << "s3cret-zk\n"; }
  std::filesystem::permissions(
      password_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::string yaml = zookeeper_manifest_yaml(s.params);
  const std::string anchor = "    owner: \"itest\"\n";
  yaml.replace(yaml.find(anchor), anchor.size(),
               anchor + "    auth: {username: registrar, password_file: \"" +
                   password_file.string() + "\"}\n");
  Daemon daemon(yaml);
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_node(s.zk.endpoint(), kPath, true, 10s));
  ZkTestClient anonymous(s.zk.endpoint());
  CHECK(anonymous.get(kPath).has_value());                // world: READ
  CHECK_THROWS(anonymous.remove(kPath));                  // DELETE on the parent: ours only
  CHECK_THROWS(anonymous.create(kPath + "x", "", true));  // nor CREATE under it
  CHECK(anonymous.get(kPath).has_value());
  CHECK(daemon.log().find("s3cret-zk") == std::string::npos);  // never logged
  CHECK(daemon.terminate().exited_with(0));
  CHECK_FALSE(anonymous.get(kPath).has_value());
}
