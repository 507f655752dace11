// The Eureka reader on scripted servers: a watch polls, reports a set only when it changed, an
// outage once and never as an empty set; 404 (an application without instances) is an empty
// set; a server that does not answer hands over to the next url.
#include "discovery/eureka_instancer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <deque>

using namespace registrar;
using namespace registrar::discovery;
using registry::http::HttpRequest;
using registry::http::HttpResult;

namespace {

class ScriptedEureka final : public registry::http::HttpTransport {
 public:
  ScriptedEureka(boost::asio::io_context& ioc, std::string endpoint)
      : ioc_(ioc), endpoint_(std::move(endpoint)) {}
  void send(HttpRequest req, Done done) override {
    requests.push_back(req);
    pending_.push_back(std::move(done));
  }
  void cancel_all() override { pending_.clear(); }
  const std::string& endpoint() const override { return endpoint_; }
  bool waiting() const { return !pending_.empty(); }
  void answer(int status, std::string body) {
    HttpResult r;
    r.status = status;
    r.body = std::move(body);
    finish(std::move(r));
  }
  void fail() {
    HttpResult r;
    r.error = HttpResult::Error::Connect;
    r.error_text = "connection refused";
    finish(std::move(r));
  }
  std::vector<HttpRequest> requests;

 private:
  void finish(HttpResult r) {
    REQUIRE(!pending_.empty());
    auto done = std::move(pending_.front());
    pending_.pop_front();
    boost::asio::post(ioc_, [done = std::move(done), r = std::move(r)] { done(r); });
  }
  boost::asio::io_context& ioc_;
  std::string endpoint_;
  std::deque<Done> pending_;
};

std::string application(const std::vector<std::string>& ids) {
  std::string list;
  for (const auto& id : ids)
    list += std::string(list.empty() ? "" : ",") + R"({"instanceId":")" + id +
            R"(","ipAddr":"10.0.0.1","status":"UP","port":{"$":80}})";
  return R"({"application":{"name":"HELLO","instance":[)" + list + "]}}";
}

struct EurekaHarness {
  boost::asio::io_context ioc;
  ScriptedEureka* first = nullptr;
  ScriptedEureka* second = nullptr;
  std::shared_ptr<eureka::EurekaInstancer> instancer;
  std::vector<Event> events;

  explicit EurekaHarness(std::string username = "") {
    config::RegistrySpec spec;
    spec.kind = config::RegistryKind::Eureka;
    spec.eureka.servers = {{"http://a:8761/eureka", "a:8761", "a", "/eureka", false},
                           {"http://b:8761/v2", "b:8761", "b", "/v2", false}};
    spec.eureka.username = std::move(username);
    spec.eureka.password_file = "/secret";
    spec.backoff.initial = std::chrono::milliseconds(1);
    spec.backoff.max = std::chrono::milliseconds(2);
    std::vector<std::unique_ptr<registry::http::HttpTransport>> servers;
    servers.push_back(std::make_unique<ScriptedEureka>(ioc, "a:8761"));
    servers.push_back(std::make_unique<ScriptedEureka>(ioc, "b:8761"));
    first = static_cast<ScriptedEureka*>(servers[0].get());
    second = static_cast<ScriptedEureka*>(servers[1].get());
    instancer = eureka::EurekaInstancer::create(
        spec, Query{"hello", {}, true}, runtime::steady_clock(), ioc.get_executor(),
        std::move(servers),
        [](const std::string&, std::string&) { return std::optional<std::string>("pw"); },
        std::chrono::milliseconds(1));
  }
  // Runs until `server` has a request waiting.
  void until_waiting(ScriptedEureka& server) {
    for (int i = 0; i < 2000 && !server.waiting(); ++i) {
      ioc.restart();
      ioc.run_for(std::chrono::milliseconds(1));
    }
    REQUIRE(server.waiting());
  }
};

}  // namespace

TEST_CASE("eureka watch: polls, reports changes only, an outage once and never as empty") {
  EurekaHarness h;
  h.instancer->watch([&](const Event& e) { h.events.push_back(e); });
  h.until_waiting(*h.first);
  const HttpRequest& req = h.first->requests.back();
  CHECK(req.target == "/eureka/apps/HELLO");
  CHECK(req.header("Accept") == "application/json");
  CHECK(req.header("Authorization").empty());
  h.first->answer(200, application({"a"}));
  h.until_waiting(*h.first);
  REQUIRE(h.events.size() == 1);
  CHECK(h.events[0].set->size() == 1);
  h.first->answer(200, application({"a"}));  // unchanged: nothing
  h.until_waiting(*h.first);
  CHECK(h.events.size() == 1);
  // Both servers down: one error event, then the next read after the backoff.
  h.first->fail();
  h.until_waiting(*h.second);
  CHECK(h.second->requests.back().target == "/v2/apps/HELLO");
  h.second->fail();
  h.until_waiting(*h.first);
  REQUIRE(h.events.size() == 2);
  CHECK_FALSE(h.events[1].ok());
  CHECK(h.events[1].error.find("connection refused") != std::string::npos);
  h.first->fail();
  h.until_waiting(*h.second);
  h.second->answer(200, application({"a"}));  // back on the second url, same set
  h.until_waiting(*h.second);
  CHECK(h.events.size() == 2);
  h.second->answer(404, "");  // the application is gone: an empty set, really
  h.until_waiting(*h.second);
  REQUIRE(h.events.size() == 3);
  CHECK(h.events[2].ok());
  CHECK(h.events[2].set->empty());
  h.second->answer(200, "{\"application\":");  // not understood: an error, not a set
  h.until_waiting(*h.second);
  REQUIRE(h.events.size() == 4);
  CHECK(h.events[3].error.find("answer not understood") != std::string::npos);
  h.instancer->stop();
}

TEST_CASE("eureka list: basic auth from the password file, a 401 is one clear error") {
  EurekaHarness h("reader");
  std::optional<Event> got;
  h.instancer->list([&](const Event& e) { got = e; });
  CHECK_FALSE(got);  // never inside list()
  h.until_waiting(*h.first);
  CHECK(h.first->requests.back().header("Authorization") == "Basic cmVhZGVyOnB3");
  h.first->answer(401, "");
  for (int i = 0; i < 100 && !got; ++i) h.ioc.run_one_for(std::chrono::milliseconds(10));
  REQUIRE(got);
  CHECK_FALSE(got->ok());
  CHECK(got->error.find("HTTP 401") != std::string::npos);
  CHECK(got->error.find("pw") == std::string::npos);
  CHECK(h.second->requests.empty());  // a refusal is not a failover
}
