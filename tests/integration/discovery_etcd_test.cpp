// The read side against real etcd: `resolve` lists exactly what etcd holds (the daemon's entries
// and a go-kit registrar's), in each output; --check; `watch` follows changes through etcd's
// Watch, stays quiet for a write that changes nothing, survives an etcd restart without an
// empty set, and runs --exec once per change; usage, manifest and outage exit codes.
#include <catch2/catch.hpp>
#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>

#include "discovery_itest.hpp"
#include "support/paths.hpp"
#include "support/ports.hpp"
#include "support/require.hpp"

using namespace registrar::itest;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// Writes an entry as go-kit's sd/etcdv3 Registrar does: <prefix>/<name>/<addr> = <addr>, on a
// lease of its own (tests/bench/peers/gokit-registrar does the same, in Go).
void put_gokit_entry(const Etcdctl& ctl, const std::string& name, const std::string& addr) {
  ctl.put("/services/" + name + "/" + addr, addr, ctl.lease_grant(60));
}

// A process's start and exit on a loaded 2-core machine, beyond the bound under test.
constexpr Millis kStartSlack = 3s;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> etcd_flags(const EtcdServer& etcd) {
  return {"--etcd", etcd.endpoint()};
}

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("discovery etcd: resolve lists exactly what etcd holds, the daemon's and go-kit's",
          "[discovery]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  const Etcdctl ctl(etcd.endpoint());
  HelloService h1;
  HelloService h2;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  ServiceEntry e1 = entry_for(h1, "hello-1");
  e1.tags = {"v1"};
  e1.meta = {{"zone", "a"}};
  m.services = {e1, entry_for(h2, "hello-2")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_keys(ctl, "/services/hello/",
                        {"/services/hello/hello-1", "/services/hello/hello-2"}));
  put_gokit_entry(ctl, "hello", "127.0.0.1:6001");

  const auto base = with({"resolve", "hello"}, etcd_flags(etcd));
  const CommandResult json_out = run_registrar(with(base, {"-o", "json"}));
  INFO(json_out.err);
  CHECK(json_out.status.exited_with(0));
  const auto by_id = json_lines_by_id(json_out.out);
  CHECK(by_id.size() == 3);
  REQUIRE(by_id.count("hello-1") == 1);
  CHECK(by_id.at("hello-1").at("port") == h1.port());
  CHECK(by_id.at("hello-1").at("tags") == json::array({"v1"}));
  CHECK(by_id.at("hello-1").at("meta") == json{{"zone", "a"}});
  CHECK(by_id.at("hello-1").at("health") == "passing");
  REQUIRE(by_id.count("hello-2") == 1);
  CHECK(by_id.at("hello-2").at("port") == h2.port());
  REQUIRE(by_id.count("127.0.0.1:6001") == 1);
  CHECK(by_id.at("127.0.0.1:6001").at("port") == 6001);

  const std::set<std::string> addrs{h1.target(), h2.target(), "127.0.0.1:6001"};
  const CommandResult addrs_out = run_registrar(with(base, {"-o", "addrs"}));
  CHECK(addrs_out.status.exited_with(0));
  CHECK(line_set(addrs_out.out) == addrs);
  const CommandResult table = run_registrar(base);
  CHECK(table.status.exited_with(0));
  const auto rows = non_empty_lines(table.out);
  REQUIRE(rows.size() == 4);
  CHECK(rows.front().rfind("ID", 0) == 0);
  for (const std::string id : {"hello-1", "hello-2", "127.0.0.1:6001"})
    CHECK(table.out.find(id) != std::string::npos);
  // The manifest's registry section instead of flags; --tag.
  const CommandResult from_manifest =
      run_registrar({"resolve", "hello", "-c", daemon.manifest_path().string(), "-o", "addrs"});
  CHECK(line_set(from_manifest.out) == addrs);
  const CommandResult tagged = run_registrar(with(base, {"-o", "addrs", "--tag", "v1"}));
  CHECK(line_set(tagged.out) == std::set<std::string>{h1.target()});
  // None: exit 1.
  const CommandResult none = run_registrar(with({"resolve", "nobody"}, etcd_flags(etcd)));
  CHECK(none.status.exited_with(1));
  CHECK(none.out.empty());
}

TEST_CASE(
    "discovery etcd: resolve reads the gokit and grpc-go formats where the daemon writes "
    "them",
    "[discovery]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  const Etcdctl ctl(etcd.endpoint());
  HelloService gokit_hello;
  HelloService grpc_hello;
  ManifestParams gokit;
  gokit.endpoints = {etcd.endpoint()};
  gokit.format = "gokit";
  gokit.services = {entry_for(gokit_hello, "hello-gokit")};
  ManifestParams grpc_go = gokit;
  grpc_go.format = "grpc-go";
  grpc_go.services = {entry_for(grpc_hello, "hello-grpc")};
  Daemon a(manifest_yaml(gokit));
  Daemon b(manifest_yaml(grpc_go));
  REQUIRE(wait_for_keys(ctl, "/services/hello/", {"/services/hello/" + gokit_hello.target()}));
  REQUIRE(wait_for_keys(ctl, "hello/", {"hello/" + grpc_hello.target()}));
  for (const auto& [format, target] :
       {std::pair{"gokit", gokit_hello.target()}, std::pair{"grpc-go", grpc_hello.target()}}) {
    INFO(format);
    const CommandResult r = run_registrar(
        with({"resolve", "hello", "--format", format, "-o", "addrs"}, etcd_flags(etcd)));
    CHECK(r.status.exited_with(0));
    CHECK(line_set(r.out) == std::set<std::string>{target});
  }
}

TEST_CASE("discovery etcd: resolve --check reports a NOT_SERVING instance as such", "[discovery]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  const Etcdctl ctl(etcd.endpoint());
  HelloService serving;
  HelloService sick;
  sick.set_serving(false);
  put_gokit_entry(ctl, "hello", serving.target());
  put_gokit_entry(ctl, "hello", sick.target());
  const auto base = with({"resolve", "hello", "-o", "json", "--check"}, etcd_flags(etcd));
  CommandResult r = run_registrar(base);
  INFO(r.err);
  CHECK(r.status.exited_with(0));
  auto by_id = json_lines_by_id(r.out);
  REQUIRE(by_id.size() == 2);
  CHECK(by_id.at(serving.target()).at("check").at("status") == "SERVING");
  CHECK(by_id.at(sick.target()).at("check").at("status") == "NOT_SERVING");
  // --output addrs with --check: only what answers SERVING.
  r = run_registrar(with({"resolve", "hello", "-o", "addrs", "--check"}, etcd_flags(etcd)));
  CHECK(line_set(r.out) == std::set<std::string>{serving.target()});
  // None SERVING: exit 1.
  serving.set_serving(false);
  r = run_registrar(base);
  CHECK(r.status.exited_with(1));
}

TEST_CASE(
    "discovery etcd: watch prints the set at start and after each change, never for a "
    "write that changes nothing",
    "[discovery]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  const Etcdctl ctl(etcd.endpoint());
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.services = {entry_for(hello, "hello-1")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump_daemon(daemon.process());
  REQUIRE(wait_for_keys(ctl, "/services/hello/", {"/services/hello/hello-1"}));
  WatchProcess watch(with({"watch", "hello", "-o", "json"}, etcd_flags(etcd)));
  DumpOnFailure dump_watch(watch.process());
  auto first = watch.wait_for_event(0, 10s);
  REQUIRE(first);
  CHECK(WatchProcess::ids(*first) == std::set<std::string>{"hello-1"});
  // 20 flips: each one new set, none missed or doubled. The bound is the daemon's (probe
  // interval, fall 1) plus slack for a loaded machine; latency itself is for the benchmarks.
  std::size_t seen = 1;
  for (int flip = 0; flip < 10; ++flip) {
    hello.set_serving(false);
    auto gone = watch.wait_for_event(seen++, 10s);
    REQUIRE(gone);
    CHECK(WatchProcess::ids(*gone).empty());
    hello.set_serving(true);
    auto back = watch.wait_for_event(seen++, 10s);
    REQUIRE(back);
    CHECK(WatchProcess::ids(*back) == std::set<std::string>{"hello-1"});
  }
  // A write that leaves the set as it was (the same value again; a key of another service).
  const auto kvs = ctl.get_prefix("/services/hello/");
  REQUIRE(kvs.size() == 1);
  ctl.put(kvs.front().key, kvs.front().value, kvs.front().lease);
  ctl.put("/services/hello-other/x", "127.0.0.1:1");
  ctl.put("/services/hello/a/b", "127.0.0.1:2");  // below another name
  // Then one that does change it: the only event after the quiet writes.
  put_gokit_entry(ctl, "hello", "127.0.0.1:7001");
  auto added = watch.wait_for_event(seen, 10s);
  REQUIRE(added);
  CHECK(WatchProcess::ids(*added) == std::set<std::string>{"hello-1", "127.0.0.1:7001"});
  CHECK(watch.events().size() == seen + 1);
  watch.process().signal(SIGTERM);
  const auto status = watch.process().wait_exit(10s);
  REQUIRE(status);
  INFO(status->describe());
  CHECK(status->exited_with(0));
}

TEST_CASE(
    "discovery etcd: watch survives an etcd restart without an empty set, then follows "
    "again",
    "[discovery]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  const Etcdctl ctl(etcd.endpoint());
  ctl.put("/services/hello/a", "127.0.0.1:8001");
  WatchProcess watch(with({"watch", "hello", "-o", "json"}, etcd_flags(etcd)));
  DumpOnFailure dump(watch.process());
  REQUIRE(watch.wait_for_event(0, 10s));
  etcd.kill9();
  auto error = watch.wait_for_event(1, 10s);
  REQUIRE(error);
  CHECK(error->contains("error"));
  etcd.start();
  // Read again after the restart: the same set, so nothing is printed; then a change is.
  ctl.put("/services/hello/b", "127.0.0.1:8002");
  auto after = watch.wait_for_event(2, 15s);
  REQUIRE(after);
  CHECK(WatchProcess::ids(*after) == std::set<std::string>{"a", "b"});
  for (const json& e : watch.events()) {
    INFO(e.dump());
    CHECK((e.contains("error") || !WatchProcess::ids(e).empty()));
  }
}

TEST_CASE("discovery etcd: watch --exec runs once per change with the set on stdin",
          "[discovery]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  const Etcdctl ctl(etcd.endpoint());
  TempDir dir("discovery-exec");
  const std::string runs = (dir.path() / "runs").string();
  ctl.put("/services/hello/a", "127.0.0.1:8001");
  WatchProcess watch(
      with({"watch", "hello", "-o", "addrs", "--exec", "cat >> " + runs + "; echo --- >> " + runs},
           etcd_flags(etcd)));
  DumpOnFailure dump(watch.process());
  auto runs_text = [&] { return read_file(runs); };
  auto wait_runs = [&](std::size_t n) {
    return wait_until(
        [&] {
          const std::string t = runs_text();
          std::size_t count = 0;
          for (std::size_t at = t.find("---"); at != std::string::npos; at = t.find("---", at + 3))
            ++count;
          return count == n;
        },
        10s);
  };
  REQUIRE(wait_runs(1));
  ctl.put("/services/hello/b", "127.0.0.1:8002");
  REQUIRE(wait_runs(2));
  ctl.put("/services/hello/b", "127.0.0.1:8002");  // no change: no run
  ctl.del("/services/hello/a");
  REQUIRE(wait_runs(3));
  CHECK(runs_text() ==
        "127.0.0.1:8001\n---\n127.0.0.1:8001\n127.0.0.1:8002\n---\n"
        "127.0.0.1:8002\n---\n");
}

TEST_CASE(
    "discovery etcd: bad flags 64, a bad manifest 78 at file:line:col, no etcd 69 within "
    "--timeout",
    "[discovery]") {
  if (!have_binaries()) return;
  CommandResult r = run_registrar({"resolve", "hello", "--etcd", "127.0.0.1:1", "--output", "xml"});
  CHECK(r.status.exited_with(64));
  CHECK(non_empty_lines(r.err).size() == 1);
  r = run_registrar({"watch", "hello", "--consul", "--prefix", "/x"});
  CHECK(r.status.exited_with(64));
  CHECK(non_empty_lines(r.err).size() == 1);
  r = run_registrar({"resolve", "hello", "--etcd", "127.0.0.1:1", "--timeout", "soon"});
  CHECK(r.status.exited_with(64));

  const ManifestFile bad(
      "registry:\n  kind: etcd\n  etcd:\n    endpoints: [\"127.0.0.1:1\"]\n"
      "    dial_timeout: forever\nservices: []\n");
  r = run_registrar({"resolve", "hello", "-c", bad.path().string()});
  CHECK(r.status.exited_with(78));
  REQUIRE(non_empty_lines(r.err).size() == 1);
  CHECK(std::regex_search(r.err, std::regex(bad.path().string() + ":5:[0-9]+: ")));

  const std::uint16_t closed = free_port();  // nothing listens there
  const auto started = Clock::now();
  r = run_registrar(
      {"resolve", "hello", "--etcd", "127.0.0.1:" + std::to_string(closed), "--timeout", "1s"});
  const auto took = Clock::now() - started;
  CHECK(r.status.exited_with(69));
  CHECK(non_empty_lines(r.err).size() == 1);
  // --timeout, plus the process's start and exit (slack for a loaded machine).
  CHECK(took < 1s + kStartSlack);
}
