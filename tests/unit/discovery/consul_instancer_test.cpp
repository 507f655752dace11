// The Consul reader's watch loop on a scripted agent: the index each blocking query carries
// (go-kit's rules: kept going forward, reset when it goes backwards, never 0), one event per
// change, one error event per outage and never an empty set for it.
#include "discovery/consul_instancer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <deque>

using namespace registrar;
using namespace registrar::discovery;
using registry::http::HttpRequest;
using registry::http::HttpResult;

namespace {

// Answers only when the test says so; records every request.
class ScriptedAgent final : public registry::http::HttpTransport {
 public:
  explicit ScriptedAgent(boost::asio::io_context& ioc) : ioc_(ioc) {}
  void send(HttpRequest req, Done done) override {
    requests.push_back(req.target);
    pending_.push_back(std::move(done));
  }
  void cancel_all() override { pending_.clear(); }
  const std::string& endpoint() const override { return endpoint_; }

  bool waiting() const { return !pending_.empty(); }
  void answer(int status, std::string body, std::string index) {
    HttpResult r;
    r.status = status;
    r.body = std::move(body);
    if (!index.empty()) r.headers.push_back({"X-Consul-Index", std::move(index)});
    finish(std::move(r));
  }
  void fail() {
    HttpResult r;
    r.error = HttpResult::Error::Connect;
    r.error_text = "connection refused";
    finish(std::move(r));
  }
  std::vector<std::string> requests;

 private:
  void finish(HttpResult r) {
    REQUIRE(!pending_.empty());
    auto done = std::move(pending_.front());
    pending_.pop_front();
    boost::asio::post(ioc_, [done = std::move(done), r = std::move(r)] { done(r); });
  }
  boost::asio::io_context& ioc_;
  std::string endpoint_ = "127.0.0.1:8500";
  std::deque<Done> pending_;
};

std::string entries(const std::vector<std::string>& ids) {
  std::string body = "[";
  for (const auto& id : ids) {
    if (body.size() > 1) body += ",";
    body += R"({"Node":{"Address":"10.0.0.1"},"Service":{"ID":")" + id +
            R"(","Service":"svc","Port":1},"Checks":[{"Status":"passing"}]})";
  }
  return body + "]";
}

struct Harness {
  boost::asio::io_context ioc;
  ScriptedAgent* agent = nullptr;
  std::shared_ptr<consul::ConsulInstancer> instancer;
  std::vector<Event> events;

  Harness() {
    config::RegistrySpec spec;
    spec.kind = config::RegistryKind::Consul;
    spec.backoff.initial = std::chrono::milliseconds(1);
    spec.backoff.max = std::chrono::milliseconds(2);
    auto blocking = std::make_unique<ScriptedAgent>(ioc);
    agent = blocking.get();
    instancer = consul::ConsulInstancer::create(
        spec, Query{"svc", {}, true}, runtime::steady_clock(), ioc.get_executor(),
        std::make_unique<ScriptedAgent>(ioc), std::move(blocking),
        [](const std::string&, std::string&) { return std::optional<std::string>(""); });
    instancer->watch([this](const Event& e) { events.push_back(e); });
  }
  // Runs until the reader has sent its next query.
  const std::string& next_query() {
    const std::size_t before = agent->requests.size();
    for (int i = 0; i < 2000 && agent->requests.size() == before; ++i) {
      ioc.restart();  // run_for() stops the io_context when it runs out of work
      ioc.run_for(std::chrono::milliseconds(1));
    }
    REQUIRE(agent->requests.size() > before);
    return agent->requests.back();
  }
};

}  // namespace

TEST_CASE("consul watch: the index goes forward, resets when it goes backwards, is never 0") {
  Harness h;
  REQUIRE(h.agent->requests.size() == 1);
  CHECK(h.agent->requests.back() == "/v1/health/service/svc?passing");  // a plain first read
  h.agent->answer(200, entries({"a"}), "10");
  CHECK(h.next_query() == "/v1/health/service/svc?passing&index=10&wait=30s");
  REQUIRE(h.events.size() == 1);
  CHECK(h.events.back().set->size() == 1);
  h.agent->answer(200, entries({"a"}), "10");  // the wait ran out: same index, same set
  CHECK(h.next_query() == "/v1/health/service/svc?passing&index=10&wait=30s");
  CHECK(h.events.size() == 1);
  h.agent->answer(200, entries({"a", "b"}), "12");
  CHECK(h.next_query() == "/v1/health/service/svc?passing&index=12&wait=30s");
  CHECK(h.events.size() == 2);
  h.agent->answer(200, entries({"a", "b"}), "3");  // backwards: start over with a plain read
  CHECK(h.next_query() == "/v1/health/service/svc?passing");
  CHECK(h.events.size() == 2);                     // the same set: not news
  h.agent->answer(200, entries({"a", "b"}), "0");  // 0: wait on 1, never on 0
  CHECK(h.next_query() == "/v1/health/service/svc?passing&index=1&wait=30s");
}

TEST_CASE("consul watch: an outage is one error event, never an empty set, then a plain read") {
  Harness h;
  h.agent->answer(200, entries({"a"}), "10");
  h.next_query();
  h.agent->fail();
  CHECK(h.next_query() == "/v1/health/service/svc?passing");  // after the backoff
  h.agent->answer(503, "No cluster leader", "");
  h.next_query();
  h.agent->fail();
  h.next_query();
  REQUIRE(h.events.size() == 2);
  CHECK(h.events[1].error.find("connection refused") != std::string::npos);
  h.agent->answer(200, entries({"a"}), "40");  // back, unchanged: nothing new to report
  CHECK(h.next_query() == "/v1/health/service/svc?passing&index=40&wait=30s");
  CHECK(h.events.size() == 2);
  h.agent->answer(200, entries({}), "41");  // a real empty set is reported
  h.next_query();
  REQUIRE(h.events.size() == 3);
  CHECK(h.events.back().ok());
  CHECK(h.events.back().set->empty());
  h.instancer->stop();
}
