#include "discovery/nacos_instancer.hpp"

#include <boost/asio/post.hpp>

#include "discovery/nacos_hosts.hpp"
#include "registry/http/client.hpp"
#include "registry/nacos/nacos_api.hpp"
#include "registry/nacos/tls_names.hpp"

namespace registrar::discovery::nacos {

using registry::http::HttpRequest;
using registry::http::HttpResult;

std::shared_ptr<NacosInstancer> NacosInstancer::create(boost::asio::any_io_executor executor,
                                                       const config::RegistrySpec& spec,
                                                       Query query, const runtime::Clock& clock) {
  std::vector<std::unique_ptr<registry::http::HttpTransport>> servers;
  for (const std::string& address : spec.nacos.servers)
    servers.push_back(std::make_unique<registry::http::HttpClient>(
        executor, address, spec.nacos.request_timeout, spec.nacos.tls,
        registry::nacos::nacos_tls_names()));
  return create(spec, std::move(query), clock, std::move(executor), std::move(servers),
                registry::nacos::Login::read_file);
}

std::shared_ptr<NacosInstancer> NacosInstancer::create(
    const config::RegistrySpec& spec, Query query, const runtime::Clock& clock,
    boost::asio::any_io_executor executor,
    std::vector<std::unique_ptr<registry::http::HttpTransport>> servers,
    registry::nacos::Login::ReadFile read_file, runtime::Clock::duration poll_interval) {
  return std::shared_ptr<NacosInstancer>(
      new NacosInstancer(std::move(executor), spec, std::move(query), clock, std::move(servers),
                         std::move(read_file), poll_interval));
}

NacosInstancer::NacosInstancer(boost::asio::any_io_executor executor,
                               const config::RegistrySpec& spec, Query query,
                               const runtime::Clock& clock,
                               std::vector<std::unique_ptr<registry::http::HttpTransport>> servers,
                               registry::nacos::Login::ReadFile read_file,
                               runtime::Clock::duration poll_interval)
    : executor_(executor),
      clock_(clock),
      spec_(spec.nacos),
      query_(std::move(query)),
      servers_(std::move(servers)),
      login_(spec_, std::move(read_file)),
      poller_(std::move(executor), clock, spec.backoff, poll_interval) {}

void NacosInstancer::fail_later(std::string why, OnEvent done) {
  boost::asio::post(executor_, [weak = weak_from_this(), done = std::move(done), why] {
    if (auto self = weak.lock(); self && !self->stopped_) done(Event::failure(why));
  });
}

void NacosInstancer::send(HttpRequest req, std::size_t tries_left,
                          std::function<void(HttpResult, const std::string&)> done) {
  registry::http::HttpTransport& server = *servers_[current_];
  HttpRequest copy = req;
  server.send(std::move(copy),
              [weak = weak_from_this(), req = std::move(req), tries_left, done = std::move(done),
               endpoint = server.endpoint()](HttpResult r) mutable {
                auto self = weak.lock();
                if (!self || self->stopped_) return;
                if (!r.answered() || r.status >= 500) {
                  self->current_ = (self->current_ + 1) % self->servers_.size();
                  if (tries_left > 0)
                    return self->send(std::move(req), tries_left - 1, std::move(done));
                }
                done(std::move(r), endpoint);
              });
}

void NacosInstancer::read(OnEvent done) {
  if (servers_.empty()) return fail_later("registry.nacos.servers is empty", std::move(done));
  if (login_.due(clock_.now())) return login(false, std::move(done));
  query(false, std::move(done));
}

void NacosInstancer::login(bool refused_before, OnEvent done) {
  std::string error;
  const std::optional<std::string> password = login_.password(error);
  if (!password) return fail_later("Nacos login as " + login_.username() + ": " + error, done);
  send(registry::nacos::login_request(login_.username(), *password), servers_.size() - 1,
       [this, refused_before, done = std::move(done)](HttpResult r, const std::string& server) {
         const std::string where = "Nacos server at " + server + ": ";
         if (!r.answered()) return done(Event::failure(where + r.error_text));
         std::string why = "answered HTTP " + std::to_string(r.status);
         std::optional<registry::nacos::LoginAnswer> a;
         if (r.ok()) a = registry::nacos::parse_login_answer(r.body, why);
         if (!a)
           return done(Event::failure(where + "login as " + login_.username() + " failed: " + why));
         login_.obtained(std::move(a->token), a->ttl, clock_.now());
         query(refused_before, std::move(done));
       });
}

void NacosInstancer::query(bool refused_before, OnEvent done) {
  send(list_request(spec_, query_, login_.token()), servers_.size() - 1,
       [this, refused_before, done = std::move(done)](HttpResult r, const std::string& server) {
         const std::string where = "Nacos server at " + server + ": ";
         if (!r.answered()) return done(Event::failure(where + r.error_text));
         if (r.status == 403 && login_.enabled() && !refused_before) {
           login_.refused();  // an expired or revoked token: log in again, once
           return login(true, std::move(done));
         }
         if (!r.ok()) {
           std::string text = where + "answered HTTP " + std::to_string(r.status);
           if (r.status == 403 && !login_.enabled())
             text += " (it has auth enabled; set registry.nacos.username)";
           return done(Event::failure(text));
         }
         std::string why;
         auto set = parse_instance_list(r.body, why);
         if (!set) return done(Event::failure(where + "answer not understood: " + why));
         done(Event::of(select(*set, query_)));
       });
}

void NacosInstancer::list(OnEvent done) {
  read(std::move(done));
}

void NacosInstancer::watch(OnEvent on_event) {
  poller_.start([this](OnEvent done) { read(std::move(done)); }, std::move(on_event));
}

void NacosInstancer::stop() {
  stopped_ = true;
  poller_.stop();
  for (auto& s : servers_) s->cancel_all();
}

}  // namespace registrar::discovery::nacos
