// A scripted Eureka server for the state machine's tests: a small model of the registry
// (instances and their status) and the requests not yet answered. A request is answered only
// when the test says so: as the model says, or with a fault.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "registry/http/transport.hpp"

namespace registrar::registry::eureka::test {

using http::HttpRequest;
using http::HttpResult;
using http::Method;
using nlohmann::json;

struct FakeEureka final : http::HttpTransport {
  struct Call {
    HttpRequest req;
    Done done;
  };
  boost::asio::any_io_executor executor;
  std::deque<Call> pending;
  std::vector<HttpRequest> log;
  std::map<std::string, std::string> status;  // "APP/ID" -> status
  std::map<std::string, json> bodies;         // "APP/ID" -> registered instance
  std::string ep = "fake:8761";

  void send(HttpRequest req, Done done) override {
    log.push_back(req);
    pending.push_back({std::move(req), std::move(done)});
  }
  void cancel_all() override {
    auto calls = std::move(pending);
    pending.clear();
    for (auto& c : calls) {
      boost::asio::post(executor, [done = std::move(c.done)] {
        HttpResult r;
        r.error = HttpResult::Error::Cancelled;
        done(r);
      });
    }
  }
  const std::string& endpoint() const override { return ep; }

  static HttpResult answer_of(int code, std::string body = "") {
    HttpResult r;
    r.status = code;
    r.body = std::move(body);
    return r;
  }
  static HttpResult no_answer() {
    HttpResult r;
    r.error = HttpResult::Error::Connect;
    r.error_text = "connection refused";
    return r;
  }

  // What the server answers, applied to the model. Targets are "/eureka/apps/APP[/ID[/status]]".
  HttpResult model(const HttpRequest& r) {
    std::string path = r.target.substr(0, r.target.find('?'));
    path = path.substr(path.find("/apps/") + 6);
    const std::size_t slash = path.find('/');
    if (r.method == Method::Post) {
      json b = json::parse(r.body).at("instance");
      const std::string key = path + "/" + b.at("instanceId").get<std::string>();
      bodies[key] = b;
      status[key] = b.at("status");
      return answer_of(204);
    }
    const bool is_status = path.ends_with("/status");
    const std::string key = is_status ? path.substr(0, path.size() - 7) : path;
    (void)slash;
    auto it = status.find(key);
    if (it == status.end()) return answer_of(404);
    if (r.method == Method::Delete) {
      status.erase(it);
      bodies.erase(key);
    } else if (is_status) {
      it->second = r.target.substr(r.target.find("value=") + 6);
    }
    return answer_of(200);
  }
  // Answers the oldest pending request with `result` (or as the model says).
  void answer(std::optional<HttpResult> result = std::nullopt) {
    Call c = std::move(pending.front());
    pending.pop_front();
    HttpResult r = result ? *result : model(c.req);
    boost::asio::post(executor, [done = std::move(c.done), r] { done(r); });
  }
  const HttpRequest& last() const { return log.back(); }
};

}  // namespace registrar::registry::eureka::test
