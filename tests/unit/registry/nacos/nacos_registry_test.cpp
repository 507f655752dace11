// The Nacos state machine against a scripted server: the test decides when and how each request
// is answered, and time moves only when the test moves the ManualClock.
#include "registry/nacos/nacos_registry.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "../recording_observer.hpp"
#include "fake_nacos.hpp"

using namespace registrar;
using namespace registrar::registry;
using namespace registrar::registry::nacos;
using registrar::registry::nacos::test::FakeNacos;
using registrar::registry::nacos::test::json;
using registrar::registry::nacos::test::params_of;
using registrar::registry::nacos::test::path_of;
using std::chrono::milliseconds;
using namespace std::chrono_literals;

namespace {

config::RegistrySpec nacos_spec() {
  config::RegistrySpec s;
  s.kind = config::RegistryKind::Nacos;
  s.nacos.servers = {"a:8848", "b:8848"};
  s.backoff.initial = milliseconds(100);
  s.backoff.max = milliseconds(10000);
  return s;
}

Registration instance(const std::string& id, Health h = Health::Passing,
                      std::uint16_t port = 5000) {
  return {"svc", id, "10.0.0.1", port, {}, {{"zone", "a"}}, h, ""};
}

DesiredSet desired(std::initializer_list<Registration> regs) {
  DesiredSet d;
  for (const auto& r : regs) d.emplace(r.id, r);
  return d;
}

struct NacosHarness {
  boost::asio::io_context io;
  runtime::ManualClock clock;
  std::vector<FakeNacos*> servers;
  std::shared_ptr<NacosRegistry> registry;
  std::map<std::string, std::string> files;
  std::vector<RegistryState> states;

  explicit NacosHarness(config::RegistrySpec s = nacos_spec(),
                        metrics::RegistryObserver& observer = metrics::null_registry_observer()) {
    clock.drive_timers(true);
    std::vector<std::unique_ptr<http::HttpTransport>> ts;
    for (const auto& address : s.nacos.servers) {
      auto t = std::make_unique<FakeNacos>();
      t->executor = io.get_executor();
      t->ep = address;
      servers.push_back(t.get());
      ts.push_back(std::move(t));
    }
    registry = std::make_shared<NacosRegistry>(
        io.get_executor(), s, std::move(ts), clock, [] { return 0.5; },
        [this](const std::string& path, std::string& error) -> std::optional<std::string> {
          auto it = files.find(path);
          if (it == files.end()) {
            error = path + ": No such file or directory";
            return std::nullopt;
          }
          return it->second;
        },
        observer);
  }
  FakeNacos& server(std::size_t i = 0) { return *servers.at(i); }
  void start(const DesiredSet& d) {
    registry->start([this](const RegistryState& st) { states.push_back(st); });
    registry->apply(d);
    settle();
  }
  void settle() {
    for (int i = 0; i < 100 && io.poll() > 0; ++i) {
    }
    io.restart();
  }
  // Answers every pending request of server `i` as its model says, until none is left.
  void run_server(std::size_t i = 0) {
    for (int n = 0; n < 100; ++n) {
      settle();
      if (server(i).pending.empty()) return;
      server(i).answer();
    }
    FAIL("the registry never stopped sending requests");
  }
  void advance(milliseconds d) {
    clock.advance(d);
    settle();
  }
};

}  // namespace

TEST_CASE("nacos: a healthy service is registered as an ephemeral instance with gRPC_port") {
  NacosHarness h;
  h.start(desired({instance("svc-1")}));
  const auto& req = h.server().next();
  CHECK(req.method == http::Method::Post);
  CHECK(path_of(req) == "/nacos/v1/ns/instance");
  auto p = params_of(req);
  CHECK(p["serviceName"] == "svc");
  CHECK(p["groupName"] == "DEFAULT_GROUP");
  CHECK(p["namespaceId"] == "public");
  CHECK(p["clusterName"] == "DEFAULT");
  CHECK(p["ip"] == "10.0.0.1");
  CHECK(p["port"] == "5000");
  CHECK(p["ephemeral"] == "true");
  CHECK(p["healthy"] == "true");
  CHECK(p["enabled"] == "true");
  CHECK(json::parse(p["metadata"]) == json{{"zone", "a"}, {"gRPC_port", "5000"}});
  CHECK_FALSE(p.contains("accessToken"));
  h.run_server();
  CHECK(h.registry->state().registered_ids == std::set<std::string>{"svc-1"});
  CHECK(h.registry->state().in_sync);
}

TEST_CASE("nacos: beats go at the interval the server answers") {
  NacosHarness h;
  h.server().beat_interval_ms = 2000;
  h.start(desired({instance("svc-1")}));
  h.settle();
  h.server().answer();  // the registration
  h.settle();
  // The first beat goes at once, as Nacos's client sends it, to learn the server's interval.
  REQUIRE(h.server().pending.size() == 1);
  const auto& beat = h.server().next();
  CHECK(path_of(beat) == "/nacos/v1/ns/instance/beat");
  const json b = json::parse(params_of(beat)["beat"]);
  CHECK(b["serviceName"] == "DEFAULT_GROUP@@svc");
  CHECK(b["ip"] == "10.0.0.1");
  CHECK(b["port"] == 5000);
  CHECK(b["metadata"]["gRPC_port"] == "5000");
  h.run_server();
  h.advance(1999ms);  // now at the answered 2 s
  CHECK(h.server().pending.empty());
  h.advance(1ms);
  CHECK(h.server().pending.size() == 1);
}

TEST_CASE("nacos: a beat answered 20404 registers the instance again at once") {
  registrar::test::RecordingObserver observer;
  NacosHarness h(nacos_spec(), observer);
  h.start(desired({instance("svc-1")}));
  h.run_server();
  h.server().instances.clear();  // the server restarted without its data
  h.advance(5000ms);
  h.server().answer();  // the beat: 20404
  h.settle();
  REQUIRE(h.server().pending.size() == 1);
  CHECK(h.server().next().method == http::Method::Post);  // no wait for the next interval
  h.run_server();
  CHECK(h.server().instances.size() == 1);
  CHECK(observer.regrants == 1);
}

TEST_CASE("nacos: an unhealthy service is deregistered, and registered again once healthy") {
  NacosHarness h;
  h.start(desired({instance("svc-1"), instance("svc-2", Health::Critical, 5001)}));
  h.run_server();
  CHECK(h.server().instances.size() == 1);  // the critical one never went in
  h.registry->apply(
      desired({instance("svc-1", Health::Critical), instance("svc-2", Health::Critical, 5001)}));
  h.settle();
  CHECK(h.server().next().method == http::Method::Delete);
  h.run_server();
  CHECK(h.server().instances.empty());
  CHECK(h.registry->state().registered_ids.empty());
  h.registry->apply(desired({instance("svc-1"), instance("svc-2", Health::Critical, 5001)}));
  h.run_server();
  CHECK(h.server().instances.size() == 1);
}

TEST_CASE("nacos: an unchanged desired set sends nothing but beats") {
  NacosHarness h;
  h.start(desired({instance("svc-1")}));
  h.run_server();
  const std::size_t sent = h.server().log.size();
  Registration changed_output = instance("svc-1");
  changed_output.output = "SERVING via Check";
  h.registry->apply(desired({changed_output}));
  h.settle();
  CHECK(h.server().log.size() == sent);
}

TEST_CASE("nacos: a changed port deregisters the old instance before registering the new one") {
  NacosHarness h;
  h.start(desired({instance("svc-1")}));
  h.run_server();
  h.registry->apply(desired({instance("svc-1", Health::Passing, 6000)}));
  h.settle();
  CHECK(h.server().next().method == http::Method::Delete);
  CHECK(params_of(h.server().next())["port"] == "5000");
  h.run_server();
  REQUIRE(h.server().instances.size() == 1);
  CHECK(h.server().instances.begin()->second["port"] == "6000");
}

TEST_CASE("nacos: a server that does not answer hands over to the next, which gets everything") {
  NacosHarness h;
  h.start(desired({instance("svc-1")}));
  h.run_server(0);
  h.advance(5000ms);
  h.server(0).answer(FakeNacos::timeout());  // the beat
  h.settle();
  CHECK(h.registry->current_server() == 1);
  REQUIRE(h.server(1).pending.size() == 1);
  CHECK(h.server(1).next().method == http::Method::Post);  // registered again at once there
  h.run_server(1);
  CHECK(h.server(1).instances.size() == 1);
  CHECK(h.registry->state().connectivity == Connectivity::Up);
}

TEST_CASE("nacos: a burst of 5xx is retried within the heart-beat budget, never past it") {
  auto s = nacos_spec();
  s.nacos.servers = {"a:8848"};
  s.backoff.initial = 30s;  // a backoff far past the 15 s budget
  s.backoff.max = 60s;
  NacosHarness h(s);
  h.start(desired({instance("svc-1")}));
  h.run_server();
  h.advance(5000ms);
  h.server().answer(FakeNacos::answer_of(503, "caused: server is DOWN now;"));
  h.settle();
  CHECK(h.registry->state().connectivity == Connectivity::Down);
  // Last good beat at 0 (the registration), failure at 5 s: the retry is due within a quarter of
  // the 10 s left, not after the 30 s backoff.
  h.advance(2500ms);
  REQUIRE(h.server().pending.size() == 1);
  h.run_server();
  CHECK(h.registry->state().connectivity == Connectivity::Up);
  CHECK(h.server().instances.size() == 1);
}

TEST_CASE("nacos: login first, the token in every request, again after a 403, renewed early") {
  auto s = nacos_spec();
  s.nacos.servers = {"a:8848"};
  s.nacos.username = "registrar";
  s.nacos.password_file = "/pw";
  NacosHarness h(s);
  h.files["/pw"] = "s3cret";
  h.server().user = "registrar";
  h.server().password = "s3cret";
  h.server().token_ttl_s = 100;
  h.start(desired({instance("svc-1")}));
  CHECK(path_of(h.server().next()) == "/nacos/v1/auth/login");
  CHECK(params_of(h.server().next())["password"] == "s3cret");
  h.run_server();
  REQUIRE(h.server().log.size() == 3);  // login, register, the first beat
  CHECK(params_of(h.server().log[1])["accessToken"] == "token-1");
  CHECK(params_of(h.server().log[2])["accessToken"] == "token-1");
  CHECK(h.server().instances.size() == 1);

  h.server().tokens.clear();  // the token is no longer valid (the server's secret changed)
  h.advance(5000ms);
  h.run_server();  // beat 403, login, beat
  CHECK(h.server().log.size() == 6);
  CHECK(path_of(h.server().log[4]) == "/nacos/v1/auth/login");
  CHECK(params_of(h.server().log[5])["accessToken"] == "token-1");  // the fake's count restarts

  // tokenTtl 100 s: renewed 90 s after it was obtained, before the next beat needs it.
  for (int i = 0; i < 18; ++i) {
    h.advance(5000ms);
    h.run_server();
  }
  std::size_t logins = 0;
  for (const auto& r : h.server().log) logins += path_of(r) == "/nacos/v1/auth/login";
  CHECK(logins == 3);
}

TEST_CASE("nacos: a wrong password is a refusal, logged once and retried on the backoff") {
  auto s = nacos_spec();
  s.nacos.servers = {"a:8848"};
  s.nacos.username = "registrar";
  s.nacos.password = "wrong";
  NacosHarness h(s);
  h.server().user = "registrar";
  h.server().password = "right";
  h.start(desired({instance("svc-1")}));
  h.run_server();
  CHECK(h.registry->state().last_error.find("unknown user!") != std::string::npos);
  CHECK_FALSE(h.registry->state().in_sync);
  CHECK(h.server().log.size() == 1);
  h.advance(100ms);
  CHECK(h.server().pending.size() == 1);  // tried again after the backoff
}

TEST_CASE("nacos: shutdown deregisters every instance, bounded by the timeout") {
  NacosHarness h;
  h.start(desired({instance("svc-1"), instance("svc-2", Health::Passing, 5001)}));
  h.run_server();
  bool done = false, clean = false;
  h.registry->shutdown(2s, [&](bool c) {
    done = true;
    clean = c;
  });
  h.settle();
  REQUIRE(h.server().pending.size() == 2);
  h.run_server();
  CHECK(done);
  CHECK(clean);
  CHECK(h.server().instances.empty());

  NacosHarness slow;
  slow.start(desired({instance("svc-1")}));
  slow.run_server();
  done = false;
  slow.registry->shutdown(1s, [&](bool c) {
    done = true;
    clean = c;
  });
  slow.settle();
  slow.advance(999ms);
  CHECK_FALSE(done);
  slow.advance(1ms);
  CHECK(done);
  CHECK_FALSE(clean);
}

TEST_CASE("nacos: apply after shutdown is ignored") {
  NacosHarness h;
  h.start({});
  h.registry->shutdown(1s, [](bool) {});
  h.settle();
  h.registry->apply(desired({instance("svc-1")}));
  h.settle();
  CHECK(h.server().log.empty());
}

TEST_CASE("nacos: beats answered as usual do not call the state callback") {
  NacosHarness h;
  h.start(desired({instance("svc-1")}));
  h.run_server();
  REQUIRE(h.registry->state().in_sync);
  const std::size_t calls = h.states.size();
  for (int i = 0; i < 3; ++i) {
    h.advance(5000ms);
    h.run_server();
  }
  CHECK(h.states.size() == calls);
}

TEST_CASE("nacos: an empty desired set is in sync without a request") {
  NacosHarness h;
  h.start({});
  CHECK(h.server().log.empty());
  CHECK(h.registry->state().in_sync);
}

TEST_CASE("nacos: instances removed before their registration was sent are forgotten, no harm") {
  // One request at a time: svc-1 is in flight, svc-2 and svc-3 wait. The new set drops them;
  // forgetting an entry while the removal walks the entries used to step from an erased node.
  NacosHarness h;
  h.start(
      desired({instance("svc-1", Health::Passing, 5001), instance("svc-2", Health::Passing, 5002),
               instance("svc-3", Health::Passing, 5003)}));
  REQUIRE(h.server().pending.size() == 1);
  h.registry->apply(desired({instance("svc-1", Health::Passing, 5001)}));
  h.run_server();
  // svc-2 and svc-3 were never written: nothing was sent for them, no DELETE.
  for (const auto& req : h.server().log) {
    INFO(path_of(req) << " " << req.body);
    CHECK(params_of(req)["port"] == "5001");
    CHECK(req.method != http::Method::Delete);
  }
  CHECK(h.server().instances.size() == 1);
  CHECK(h.registry->state().registered == 1);
  CHECK(h.registry->state().registered_ids == std::set<std::string>{"svc-1"});
  CHECK(h.registry->state().in_sync);
}
