// A scripted Consul agent for the state machine's tests: a small model of the agent's local
// state (services, TTL checks, ACL token) and the requests not yet answered. A request is
// answered only when the test says so, as the model says or with a fault.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "registry/consul/agent_request.hpp"

namespace registrar::registry::consul::test {

using nlohmann::json;

inline std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

struct FakeAgent final : HttpTransport {
  struct Call {
    HttpRequest req;
    Done done;
  };
  boost::asio::any_io_executor executor;
  std::deque<Call> pending;
  std::vector<HttpRequest> log;          // every request sent, in order
  std::map<std::string, json> services;  // id -> as GET /v1/agent/service/<id> shows it
  std::map<std::string, json> checks;    // check id -> as GET /v1/agent/checks shows it
  std::string required_token;            // when set, any other token gets 403 "ACL not found"
  std::string ep = "fake:8500";

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

  static HttpResult answer_of(int status, std::string body = "") {
    HttpResult r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
  static HttpResult transport_error(HttpResult::Error e) {
    HttpResult r;
    r.error = e;
    r.error_text = "no answer within 100 ms";
    return r;
  }

  // What the agent answers, applied to the model.
  HttpResult model(const HttpRequest& r) {
    if (!required_token.empty() && r.header(kTokenHeader) != required_token)
      return answer_of(403, "ACL not found");
    const std::string path = r.target.substr(0, r.target.find('?'));
    auto tail = [&](const std::string& prefix) { return unescape(path.substr(prefix.size())); };
    if (r.method == Method::Put && path == "/v1/agent/service/register") {
      json b = json::parse(r.body);
      const std::string id = b.at("ID");
      json svc = {{"ID", id},
                  {"Service", b.at("Name")},
                  {"Tags", b.at("Tags")},
                  {"Address", b.at("Address")},
                  {"Port", b.at("Port")},
                  {"Meta", b.at("Meta")},
                  {"Weights",
                   b.contains("Weights") ? b.at("Weights") : json{{"Passing", 1}, {"Warning", 1}}}};
      services[id] = svc;
      std::erase_if(checks, [&](const auto& c) { return c.second.at("ServiceID") == id; });
      const json& c = b.at("Check");
      checks[c.at("CheckID")] = {{"CheckID", c.at("CheckID")},
                                 {"ServiceID", id},
                                 {"Status", c.value("Status", "critical")},
                                 {"Output", ""},
                                 {"Notes", c.value("Notes", "")},
                                 {"TTL", c.at("TTL")}};
      return answer_of(200);
    }
    if (r.method == Method::Put && path.rfind("/v1/agent/check/update/", 0) == 0) {
      const std::string cid = tail("/v1/agent/check/update/");
      auto it = checks.find(cid);
      if (it == checks.end())
        return answer_of(404, "Unknown check ID \"" + cid +
                                  "\". Ensure that the check ID is passed, not the check name.");
      json b = json::parse(r.body);
      it->second["Status"] = b.at("Status");
      it->second["Output"] = b.at("Output");
      return answer_of(200);
    }
    if (r.method == Method::Put && path.rfind("/v1/agent/service/deregister/", 0) == 0) {
      const std::string id = tail("/v1/agent/service/deregister/");
      if (services.erase(id) == 0)
        return answer_of(404,
                         "Unknown service ID \"" + id +
                             "\". Ensure that the service ID is passed, not the service name.");
      std::erase_if(checks, [&](const auto& c) { return c.second.at("ServiceID") == id; });
      return answer_of(200);
    }
    if (r.method == Method::Get && path == "/v1/agent/services") {
      json all = json::object();
      for (const auto& [id, s] : services) all[id] = s;
      return answer_of(200, all.dump());
    }
    if (r.method == Method::Get && path == "/v1/agent/checks") {
      json all = json::object();
      for (const auto& [id, c] : checks) all[id] = c;
      return answer_of(200, all.dump());
    }
    if (r.method == Method::Get && path.rfind("/v1/agent/service/", 0) == 0) {
      const std::string id = tail("/v1/agent/service/");
      auto it = services.find(id);
      if (it == services.end()) return answer_of(404, "unknown service ID: " + id);
      return answer_of(200, it->second.dump());
    }
    return answer_of(405, "method not allowed");
  }

  // Answers the oldest request as the model says; returns it.
  HttpRequest answer() {
    REQUIRE_FALSE(pending.empty());
    Call c = std::move(pending.front());
    pending.pop_front();
    HttpResult r = model(c.req);
    c.done(std::move(r));
    return c.req;
  }
  // Answers the oldest request with `r`, leaving the model as it is.
  HttpRequest answer_with(HttpResult r) {
    REQUIRE_FALSE(pending.empty());
    Call c = std::move(pending.front());
    pending.pop_front();
    c.done(std::move(r));
    return c.req;
  }

  const HttpRequest& next() const {
    REQUIRE_FALSE(pending.empty());
    return pending.front().req;
  }

  std::size_t count(Method m, const std::string& prefix) const {
    std::size_t n = 0;
    for (const auto& r : log)
      if (r.method == m && r.target.rfind(prefix, 0) == 0) ++n;
    return n;
  }
  std::size_t writes() const {
    std::size_t n = 0;
    for (const auto& r : log) n += r.method == Method::Put;
    return n;
  }
  std::string status_of(const std::string& check_id) const {
    auto it = checks.find(check_id);
    return it == checks.end() ? "" : it->second.at("Status").get<std::string>();
  }

  // Registers a service as someone else (or an earlier run of ours) would have.
  void preload(const std::string& id, const std::string& name, json meta,
               const std::string& check_status = "passing", std::string notes = "") {
    services[id] = {{"ID", id},
                    {"Service", name},
                    {"Tags", json::array()},
                    {"Address", "10.0.0.9"},
                    {"Port", 7000},
                    {"Meta", meta},
                    {"Weights", {{"Passing", 1}, {"Warning", 1}}}};
    checks["grpc-registrar:" + id] = {{"CheckID", "grpc-registrar:" + id},
                                      {"ServiceID", id},
                                      {"Status", check_status},
                                      {"Output", ""},
                                      {"Notes", std::move(notes)}};
  }
};

}  // namespace registrar::registry::consul::test
