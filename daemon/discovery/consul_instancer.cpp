#include "discovery/consul_instancer.hpp"

#include <spdlog/spdlog.h>

#include "discovery/consul_health.hpp"
#include "registry/consul/agent_request.hpp"
#include "registry/consul/consul_api.hpp"
#include "registry/consul/tls_names.hpp"
#include "registry/http/client.hpp"

namespace registrar::discovery::consul {

namespace {

// A blocking query's own deadline: Consul answers within wait plus up to wait/16 of jitter.
std::chrono::milliseconds blocking_timeout(const config::ConsulSpec& spec) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(kBlockingWait + kBlockingWait / 16) +
         spec.request_timeout;
}

}  // namespace

std::shared_ptr<ConsulInstancer> ConsulInstancer::create(boost::asio::any_io_executor executor,
                                                         const config::RegistrySpec& spec,
                                                         Query query, const runtime::Clock& clock) {
  auto client = std::make_unique<registry::http::HttpClient>(
      executor, spec.consul.address, spec.consul.request_timeout, spec.consul.tls,
      registry::consul::consul_tls_names());
  auto blocking = std::make_unique<registry::http::HttpClient>(
      executor, spec.consul.address, blocking_timeout(spec.consul), spec.consul.tls,
      registry::consul::consul_tls_names());
  return create(spec, std::move(query), clock, std::move(executor), std::move(client),
                std::move(blocking));
}

std::shared_ptr<ConsulInstancer> ConsulInstancer::create(
    const config::RegistrySpec& spec, Query query, const runtime::Clock& clock,
    boost::asio::any_io_executor executor, std::unique_ptr<registry::http::HttpTransport> client,
    std::unique_ptr<registry::http::HttpTransport> blocking,
    registry::consul::Token::ReadFile read_token) {
  return std::shared_ptr<ConsulInstancer>(
      new ConsulInstancer(std::move(executor), spec, std::move(query), clock, std::move(client),
                          std::move(blocking), std::move(read_token)));
}

ConsulInstancer::ConsulInstancer(boost::asio::any_io_executor executor,
                                 const config::RegistrySpec& spec, Query query,
                                 const runtime::Clock& clock,
                                 std::unique_ptr<registry::http::HttpTransport> client,
                                 std::unique_ptr<registry::http::HttpTransport> blocking,
                                 registry::consul::Token::ReadFile read_token)
    : spec_(spec.consul),
      query_(std::move(query)),
      client_(std::move(client)),
      blocking_(std::move(blocking)),
      token_(spec.consul, std::move(read_token)),
      retry_timer_(executor, clock),
      backoff_(spec.backoff.initial, spec.backoff.max, spec.backoff.multiplier, spec.backoff.jitter,
               runtime::default_random()) {
  if (const std::string why = token_.load(); !why.empty())
    spdlog::warn("Consul ACL token from {} not read: {}", token_.source(), why);
}

void ConsulInstancer::query(registry::http::HttpTransport& client, std::uint64_t index,
                            std::function<void(Event, std::string_view)> done) {
  registry::http::HttpRequest req = registry::consul::agent_request(
      registry::http::Method::Get, health_target(query_, index, kBlockingWait), "", token_.value());
  client.send(std::move(req), [weak = weak_from_this(), done = std::move(done),
                               endpoint = client.endpoint()](registry::http::HttpResult r) {
    auto self = weak.lock();
    if (!self || self->stopped_) return;
    const std::string where = "Consul agent at " + endpoint + ": ";
    if (!r.answered()) return done(Event::failure(where + r.error_text), "");
    if (!r.ok()) {
      if (r.status == 403) self->token_.load();  // a rotated token file: the next try uses it
      std::string text = where + "answered " + self->token_.describe(r.status, r.body);
      if (r.status == 403)
        text += " (the token needs service:read and node:read on " + self->query_.name + ")";
      return done(Event::failure(text), "");
    }
    std::string why;
    auto set = parse_health_service(r.body, why);
    if (!set) return done(Event::failure(where + "answer not understood: " + why), "");
    done(Event::of(select(*set, self->query_)), r.header("X-Consul-Index"));
  });
}

void ConsulInstancer::list(OnEvent done) {
  query(*client_, 0, [done = std::move(done)](Event event, std::string_view) { done(event); });
}

void ConsulInstancer::watch(OnEvent on_event) {
  on_event_ = std::move(on_event);
  next_query();
}

void ConsulInstancer::stop() {
  stopped_ = true;
  retry_timer_.cancel();
  client_->cancel_all();
  blocking_->cancel_all();
}

void ConsulInstancer::next_query() {
  if (stopped_) return;
  query(*blocking_, index_, [this](Event event, std::string_view index_header) {
    on_answer(std::move(event), index_header);
  });
}

void ConsulInstancer::on_answer(Event event, std::string_view index_header) {
  if (!event.ok()) {
    // Start over with a plain read once the agent answers again: its index may be another's.
    index_ = 0;
    if (filter_.news(event)) on_event_(event);
    retry_timer_.arm_after(backoff_.next(), [this] { next_query(); });
    return;
  }
  backoff_.reset();
  index_ = next_index(index_, index_header);
  if (filter_.news(event)) on_event_(event);
  next_query();
}

}  // namespace registrar::discovery::consul
