// A scripted Nacos server for the state machine's tests: a small model of the naming state
// (instances by service, ip and port) and of the login, with the requests not yet answered. A
// request is answered only when the test says so: as the model says, or with a fault.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "registry/http/transport.hpp"

namespace registrar::registry::nacos::test {

using http::HttpRequest;
using http::HttpResult;
using http::Method;
using nlohmann::json;

// The form (query or body) as a map; values unescaped.
inline std::map<std::string, std::string> form_of(const std::string& text) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    std::size_t amp = text.find('&', start);
    std::string part = text.substr(start, amp == std::string::npos ? amp : amp - start);
    std::size_t eq = part.find('=');
    std::string key = part.substr(0, eq), value;
    std::string raw = eq == std::string::npos ? "" : part.substr(eq + 1);
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '%' && i + 2 < raw.size()) {
        value += static_cast<char>(std::stoi(raw.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        value += raw[i] == '+' ? ' ' : raw[i];
      }
    }
    out[key] = value;
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  return out;
}

// Every parameter of a request: its query and, for a form body, the body's.
inline std::map<std::string, std::string> params_of(const HttpRequest& r) {
  auto q = r.target.find('?');
  auto out = q == std::string::npos ? std::map<std::string, std::string>{}
                                    : form_of(r.target.substr(q + 1));
  if (r.content_type == "application/x-www-form-urlencoded")
    for (auto& [k, v] : form_of(r.body)) out.emplace(k, v);
  return out;
}

inline std::string path_of(const HttpRequest& r) {
  return r.target.substr(0, r.target.find('?'));
}

struct FakeNacos final : http::HttpTransport {
  struct Call {
    HttpRequest req;
    Done done;
  };
  boost::asio::any_io_executor executor;
  std::deque<Call> pending;
  std::vector<HttpRequest> log;
  std::map<std::string, json> instances;  // "service#ip#port" -> params of its registration
  std::string user, password;             // auth on when set
  std::set<std::string> tokens;
  int token_ttl_s = 18000;
  int beat_interval_ms = 5000;
  std::string ep = "fake-nacos:8848";

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
  static HttpResult timeout() {
    HttpResult r;
    r.error = HttpResult::Error::Timeout;
    r.error_text = "no answer within 100 ms";
    return r;
  }

  static std::string key(std::map<std::string, std::string>& p) {
    return p["serviceName"] + "#" + p["ip"] + "#" + p["port"];
  }

  HttpResult model(const HttpRequest& r) {
    auto p = params_of(r);
    const std::string path = path_of(r);
    if (path == "/nacos/v1/auth/login") {
      if (p["username"] != user || p["password"] != password)
        return answer_of(403, "unknown user!");
      const std::string t = "token-" + std::to_string(tokens.size() + 1);
      tokens.insert(t);
      return answer_of(200, json{{"accessToken", t}, {"tokenTtl", token_ttl_s}}.dump());
    }
    if (!user.empty() && !tokens.contains(p["accessToken"]))
      return answer_of(403, R"({"status":403,"message":"token invalid!"})");
    if (r.method == Method::Post && path == "/nacos/v1/ns/instance") {
      instances[key(p)] = json(p);
      return answer_of(200, "ok");
    }
    if (r.method == Method::Delete && path == "/nacos/v1/ns/instance") {
      instances.erase(key(p));
      return answer_of(200, "ok");
    }
    if (r.method == Method::Put && path == "/nacos/v1/ns/instance/beat") {
      const int code = instances.contains(key(p)) ? 10200 : 20404;
      return answer_of(200, json{{"clientBeatInterval", beat_interval_ms}, {"code", code}}.dump());
    }
    return answer_of(404, "no such path");
  }

  const HttpRequest& next() const {
    REQUIRE_FALSE(pending.empty());
    return pending.front().req;
  }
  void answer() { answer(model(pending.front().req)); }
  void answer(HttpResult r) {
    REQUIRE_FALSE(pending.empty());
    Call c = std::move(pending.front());
    pending.pop_front();
    boost::asio::post(executor, [done = std::move(c.done), r = std::move(r)] { done(r); });
  }
};

}  // namespace registrar::registry::nacos::test
