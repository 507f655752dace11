// The Nacos reader: GET /nacos/v1/ns/instance/list (nacos_hosts.hpp), what Nacos's own clients
// read, on the daemon's own HTTP(S) client (registry/http/client.hpp), logged in first when
// registry.nacos.username is set (registry/nacos/nacos_login.hpp: the token, renewed before it
// runs out and after a 403). A watch polls (poller.hpp): the v1 API's other notification is a UDP
// push to a port the client opens, which needs the server to reach the client. Several servers:
// the next one is tried when a server does not answer or answers 5xx.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <vector>

#include "config/manifest.hpp"
#include "discovery/instancer.hpp"
#include "discovery/poller.hpp"
#include "registry/http/transport.hpp"
#include "registry/nacos/nacos_login.hpp"
#include "runtime/clock.hpp"

namespace registrar::discovery::nacos {

class NacosInstancer final : public Instancer, public std::enable_shared_from_this<NacosInstancer> {
 public:
  static std::shared_ptr<NacosInstancer> create(boost::asio::any_io_executor executor,
                                                const config::RegistrySpec& spec, Query query,
                                                const runtime::Clock& clock);
  // The same on given transports, one per spec.nacos.servers entry (tests script the server).
  static std::shared_ptr<NacosInstancer> create(
      const config::RegistrySpec& spec, Query query, const runtime::Clock& clock,
      boost::asio::any_io_executor executor,
      std::vector<std::unique_ptr<registry::http::HttpTransport>> servers,
      registry::nacos::Login::ReadFile read_file,
      runtime::Clock::duration poll_interval = kPollInterval);
  void list(OnEvent done) override;
  void watch(OnEvent on_event) override;
  void stop() override;

 private:
  NacosInstancer(boost::asio::any_io_executor executor, const config::RegistrySpec& spec,
                 Query query, const runtime::Clock& clock,
                 std::vector<std::unique_ptr<registry::http::HttpTransport>> servers,
                 registry::nacos::Login::ReadFile read_file,
                 runtime::Clock::duration poll_interval);
  // One read: a login first when one is due, then the list; a 403 logs in once more.
  void read(OnEvent done);
  void login(bool refused_before, OnEvent done);
  void query(bool refused_before, OnEvent done);
  // `req` on the current server, then on the next ones while a server does not answer or
  // answers 5xx; `done` gets the last result and the server it came from.
  void send(registry::http::HttpRequest req, std::size_t tries_left,
            std::function<void(registry::http::HttpResult, const std::string& server)> done);
  void fail_later(std::string why, OnEvent done);

  boost::asio::any_io_executor executor_;
  const runtime::Clock& clock_;
  config::NacosSpec spec_;
  Query query_;
  std::vector<std::unique_ptr<registry::http::HttpTransport>> servers_;
  std::size_t current_ = 0;
  registry::nacos::Login login_;  // holds a pointer to spec_
  Poller poller_;
  bool stopped_ = false;
};

}  // namespace registrar::discovery::nacos
