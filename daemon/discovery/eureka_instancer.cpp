#include "discovery/eureka_instancer.hpp"

#include <boost/asio/post.hpp>

#include "discovery/eureka_apps.hpp"
#include "registry/eureka/eureka_api.hpp"
#include "registry/http/client.hpp"
#include "runtime/secret_file.hpp"

namespace registrar::discovery::eureka {

std::shared_ptr<EurekaInstancer> EurekaInstancer::create(boost::asio::any_io_executor executor,
                                                         const config::RegistrySpec& spec,
                                                         Query query, const runtime::Clock& clock) {
  std::vector<std::unique_ptr<registry::http::HttpTransport>> servers;
  for (const config::EurekaServer& s : spec.eureka.servers) {
    config::TlsSpec tls = spec.eureka.tls;
    tls.enabled = s.https;
    servers.push_back(std::make_unique<registry::http::HttpClient>(
        executor, s.address, spec.eureka.request_timeout, tls,
        registry::http::tls_names_for("eureka", "the Eureka server")));
  }
  return create(spec, std::move(query), clock, std::move(executor), std::move(servers),
                [](const std::string& path, std::string& error) {
                  return runtime::read_secret_file(
                      path, error,
                      {.trim_trailing_newlines = true, .what = "registry.eureka.password_file"});
                });
}

std::shared_ptr<EurekaInstancer> EurekaInstancer::create(
    const config::RegistrySpec& spec, Query query, const runtime::Clock& clock,
    boost::asio::any_io_executor executor,
    std::vector<std::unique_ptr<registry::http::HttpTransport>> servers, ReadFile read_file,
    runtime::Clock::duration poll_interval) {
  return std::shared_ptr<EurekaInstancer>(
      new EurekaInstancer(std::move(executor), spec, std::move(query), clock, std::move(servers),
                          std::move(read_file), poll_interval));
}

EurekaInstancer::EurekaInstancer(
    boost::asio::any_io_executor executor, const config::RegistrySpec& spec, Query query,
    const runtime::Clock& clock,
    std::vector<std::unique_ptr<registry::http::HttpTransport>> servers, ReadFile read_file,
    runtime::Clock::duration poll_interval)
    : executor_(executor),
      spec_(spec.eureka),
      query_(std::move(query)),
      servers_(std::move(servers)),
      poller_(std::move(executor), clock, spec.backoff, poll_interval) {
  if (spec_.username.empty()) return;
  std::string password = spec_.password;
  if (!spec_.password_file.empty()) {
    std::string error;
    auto read = read_file ? read_file(spec_.password_file, error) : std::nullopt;
    if (!read) {
      auth_error_ = "cannot read the Eureka password: " + error;
      return;
    }
    password = *read;
  }
  authorization_ = registry::eureka::basic_authorization(spec_.username, password);
}

void EurekaInstancer::read(std::size_t tries_left, OnEvent done) {
  if (!auth_error_.empty() || servers_.empty()) {
    // Never inside list(): on the executor, like an answer.
    const std::string why = auth_error_.empty() ? "registry.eureka.urls is empty" : auth_error_;
    boost::asio::post(executor_, [weak = weak_from_this(), done = std::move(done), why] {
      if (auto self = weak.lock(); self && !self->stopped_) done(Event::failure(why));
    });
    return;
  }
  registry::http::HttpTransport& server = *servers_[current_];
  registry::http::HttpRequest req;
  req.method = registry::http::Method::Get;
  req.target = registry::eureka::app_target(spec_.servers[current_].path, query_.name);
  req.headers.push_back({"Accept", "application/json"});
  if (!authorization_.empty()) req.headers.push_back({"Authorization", authorization_});
  server.send(std::move(req), [weak = weak_from_this(), tries_left, done = std::move(done),
                               url = spec_.servers[current_].url](registry::http::HttpResult r) {
    auto self = weak.lock();
    if (!self || self->stopped_) return;
    const std::string where = "Eureka server at " + url + ": ";
    const bool server_down = !r.answered() || r.status >= 500;
    if (server_down) {
      // The next read starts on the next server too: a dead first url costs no timeout per poll.
      self->current_ = (self->current_ + 1) % self->servers_.size();
      if (tries_left > 0) return self->read(tries_left - 1, std::move(done));
    }
    if (!r.answered()) return done(Event::failure(where + r.error_text));
    // An application without instances is unknown to Eureka: 404, an empty set.
    if (r.status == 404) return done(Event::of({}));
    if (!r.ok()) {
      std::string text = where + "answered HTTP " + std::to_string(r.status);
      if (r.status == 401 || r.status == 403)
        text += self->authorization_.empty() ? " (it wants registry.eureka.username)"
                                             : " (check registry.eureka.username and password)";
      return done(Event::failure(text));
    }
    std::string why;
    auto set = parse_application(r.body, why);
    if (!set) return done(Event::failure(where + "answer not understood: " + why));
    done(Event::of(select(*set, self->query_)));
  });
}

void EurekaInstancer::list(OnEvent done) {
  read(servers_.empty() ? 0 : servers_.size() - 1, std::move(done));
}

void EurekaInstancer::watch(OnEvent on_event) {
  poller_.start(
      [this](OnEvent done) { read(servers_.empty() ? 0 : servers_.size() - 1, std::move(done)); },
      std::move(on_event));
}

void EurekaInstancer::stop() {
  stopped_ = true;
  poller_.stop();
  for (auto& s : servers_) s->cancel_all();
}

}  // namespace registrar::discovery::eureka
