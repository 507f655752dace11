// The Nacos reader on a scripted server: a login before the first list when a username is set,
// the token on the list, a 403 answered by one new login; a watch polls and reports changes
// only.
#include "discovery/nacos_instancer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <deque>

using namespace registrar;
using namespace registrar::discovery;
using registry::http::HttpRequest;
using registry::http::HttpResult;

namespace {

class ScriptedNacos final : public registry::http::HttpTransport {
 public:
  explicit ScriptedNacos(boost::asio::io_context& ioc) : ioc_(ioc) {}
  void send(HttpRequest req, Done done) override {
    requests.push_back(req);
    pending_.push_back(std::move(done));
  }
  void cancel_all() override { pending_.clear(); }
  const std::string& endpoint() const override { return endpoint_; }
  bool waiting() const { return !pending_.empty(); }
  void answer(int status, std::string body) {
    REQUIRE(!pending_.empty());
    HttpResult r;
    r.status = status;
    r.body = std::move(body);
    auto done = std::move(pending_.front());
    pending_.pop_front();
    boost::asio::post(ioc_, [done = std::move(done), r = std::move(r)] { done(r); });
  }
  std::vector<HttpRequest> requests;

 private:
  boost::asio::io_context& ioc_;
  std::string endpoint_ = "127.0.0.1:8848";
  std::deque<Done> pending_;
};

std::string hosts(const std::vector<std::string>& ips) {
  std::string list;
  for (const auto& ip : ips)
    list +=
        std::string(list.empty() ? "" : ",") + R"({"ip":")" + ip + R"(","port":80,"healthy":true})";
  return R"({"name":"DEFAULT_GROUP@@hello","hosts":[)" + list + "]}";
}

struct NacosHarness {
  boost::asio::io_context ioc;
  ScriptedNacos* server = nullptr;
  config::RegistrySpec spec;
  std::shared_ptr<nacos::NacosInstancer> instancer;
  std::vector<Event> events;

  explicit NacosHarness(std::string username) {
    spec.kind = config::RegistryKind::Nacos;
    spec.nacos.username = std::move(username);
    spec.nacos.password_file = "/secret";
    spec.backoff.initial = std::chrono::milliseconds(1);
    spec.backoff.max = std::chrono::milliseconds(2);
    std::vector<std::unique_ptr<registry::http::HttpTransport>> servers;
    servers.push_back(std::make_unique<ScriptedNacos>(ioc));
    server = static_cast<ScriptedNacos*>(servers[0].get());
    instancer = nacos::NacosInstancer::create(
        spec, Query{"hello", {}, true}, runtime::steady_clock(), ioc.get_executor(),
        std::move(servers),
        [](const std::string&, std::string&) { return std::optional<std::string>("s3cret"); },
        std::chrono::milliseconds(1));
  }
  const HttpRequest& next_request() {
    for (int i = 0; i < 2000 && !server->waiting(); ++i) {
      ioc.restart();
      ioc.run_for(std::chrono::milliseconds(1));
    }
    REQUIRE(server->waiting());
    return server->requests.back();
  }
};

}  // namespace

TEST_CASE("nacos watch: login, the token on the list, a 403 logs in once more") {
  NacosHarness h("reader");
  h.instancer->watch([&](const Event& e) { h.events.push_back(e); });
  CHECK(h.next_request().target == "/nacos/v1/auth/login");
  h.server->answer(200, R"({"accessToken":"t1","tokenTtl":18000})");
  CHECK(h.next_request().target.ends_with("&healthyOnly=true&accessToken=t1"));
  h.server->answer(200, hosts({"10.0.0.1"}));
  CHECK(h.next_request().target.ends_with("&accessToken=t1"));  // polled again, same token
  REQUIRE(h.events.size() == 1);
  CHECK(h.events[0].set->size() == 1);
  h.server->answer(403, R"({"status":403,"message":"token expired!"})");
  CHECK(h.next_request().target == "/nacos/v1/auth/login");
  h.server->answer(200, R"({"accessToken":"t2","tokenTtl":18000})");
  CHECK(h.next_request().target.ends_with("&accessToken=t2"));
  h.server->answer(200, hosts({"10.0.0.1", "10.0.0.2"}));
  h.next_request();
  REQUIRE(h.events.size() == 2);  // the 403 was no event: the new login succeeded
  CHECK(h.events[1].set->size() == 2);
  h.instancer->stop();
}

TEST_CASE("nacos list: without a username no login, a 403 says to set one") {
  NacosHarness h("");
  std::optional<Event> got;
  h.instancer->list([&](const Event& e) { got = e; });
  CHECK(h.next_request().target.find("accessToken") == std::string::npos);
  h.server->answer(403, R"({"status":403,"message":"user not found!"})");
  for (int i = 0; i < 100 && !got; ++i) h.ioc.run_one_for(std::chrono::milliseconds(10));
  REQUIRE(got);
  CHECK_FALSE(got->ok());
  CHECK(got->error.find("registry.nacos.username") != std::string::npos);
}
