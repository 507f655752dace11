// The Consul reader: GET /v1/health/service/<name> on the agent (consul_health.hpp), and for a
// watch the same request as a blocking query, again and again, by the index rules there. Talks to
// the agent through the daemon's own HTTP(S) client (registry/http/client.hpp) and ACL
// token (registry/consul/token.hpp: the file re-read after a 403).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string_view>

#include "config/manifest.hpp"
#include "discovery/instancer.hpp"
#include "registry/consul/token.hpp"
#include "registry/http/transport.hpp"
#include "runtime/backoff.hpp"
#include "runtime/clock.hpp"
#include "runtime/timer.hpp"

namespace registrar::discovery::consul {

// How long each blocking query may wait for a change. An agent that went silent without
// closing the connection is noticed after this plus the request timeout.
inline constexpr std::chrono::seconds kBlockingWait{30};

class ConsulInstancer final : public Instancer,
                              public std::enable_shared_from_this<ConsulInstancer> {
 public:
  static std::shared_ptr<ConsulInstancer> create(boost::asio::any_io_executor executor,
                                                 const config::RegistrySpec& spec, Query query,
                                                 const runtime::Clock& clock);
  // The same on given transports (tests script the agent): `client` for list(), `blocking` for
  // watch()'s blocking queries, whose deadline must exceed kBlockingWait.
  static std::shared_ptr<ConsulInstancer> create(
      const config::RegistrySpec& spec, Query query, const runtime::Clock& clock,
      boost::asio::any_io_executor executor, std::unique_ptr<registry::http::HttpTransport> client,
      std::unique_ptr<registry::http::HttpTransport> blocking,
      registry::consul::Token::ReadFile read_token = registry::consul::Token::read_file);
  void list(OnEvent done) override;
  void watch(OnEvent on_event) override;
  void stop() override;

 private:
  ConsulInstancer(boost::asio::any_io_executor executor, const config::RegistrySpec& spec,
                  Query query, const runtime::Clock& clock,
                  std::unique_ptr<registry::http::HttpTransport> client,
                  std::unique_ptr<registry::http::HttpTransport> blocking,
                  registry::consul::Token::ReadFile read_token);
  // One GET on `client`; `done` gets the set and the answer's X-Consul-Index, or an error.
  void query(registry::http::HttpTransport& client, std::uint64_t index,
             std::function<void(Event, std::string_view index_header)> done);
  void next_query();
  void on_answer(Event event, std::string_view index_header);

  config::ConsulSpec spec_;
  Query query_;
  std::unique_ptr<registry::http::HttpTransport> client_;    // list(): request_timeout
  std::unique_ptr<registry::http::HttpTransport> blocking_;  // watch(): kBlockingWait + more
  registry::consul::Token token_;
  runtime::Timer retry_timer_;
  runtime::Backoff backoff_;
  ChangeFilter filter_;
  OnEvent on_event_;
  std::uint64_t index_ = 0;
  bool stopped_ = false;
};

}  // namespace registrar::discovery::consul
