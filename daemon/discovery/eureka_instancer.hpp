// The Eureka reader: GET {url}/apps/{APP} (eureka_apps.hpp), what Eureka's own clients read, on
// the daemon's own HTTP(S) client (registry/http/client.hpp) with basic auth when configured.
// Eureka has no change notification a client can wait on (its clients poll every 30 s), so a
// watch polls (poller.hpp). Several urls: the next one is tried when a server does not answer or
// answers 5xx, as the backend fails over.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <vector>

#include "config/manifest.hpp"
#include "discovery/instancer.hpp"
#include "discovery/poller.hpp"
#include "registry/http/transport.hpp"
#include "runtime/clock.hpp"

namespace registrar::discovery::eureka {

class EurekaInstancer final : public Instancer,
                              public std::enable_shared_from_this<EurekaInstancer> {
 public:
  // Reads a secret file: its content, or nullopt with `error` set (never the content).
  using ReadFile =
      std::function<std::optional<std::string>(const std::string& path, std::string& error)>;

  static std::shared_ptr<EurekaInstancer> create(boost::asio::any_io_executor executor,
                                                 const config::RegistrySpec& spec, Query query,
                                                 const runtime::Clock& clock);
  // The same on given transports, one per spec.eureka.servers entry (tests script the server).
  static std::shared_ptr<EurekaInstancer> create(
      const config::RegistrySpec& spec, Query query, const runtime::Clock& clock,
      boost::asio::any_io_executor executor,
      std::vector<std::unique_ptr<registry::http::HttpTransport>> servers, ReadFile read_file,
      runtime::Clock::duration poll_interval = kPollInterval);
  void list(OnEvent done) override;
  void watch(OnEvent on_event) override;
  void stop() override;

 private:
  EurekaInstancer(boost::asio::any_io_executor executor, const config::RegistrySpec& spec,
                  Query query, const runtime::Clock& clock,
                  std::vector<std::unique_ptr<registry::http::HttpTransport>> servers,
                  ReadFile read_file, runtime::Clock::duration poll_interval);
  // One GET on the current server; on no answer or a 5xx, on the next (`tries_left` more).
  void read(std::size_t tries_left, OnEvent done);

  boost::asio::any_io_executor executor_;
  config::EurekaSpec spec_;
  Query query_;
  std::vector<std::unique_ptr<registry::http::HttpTransport>> servers_;
  std::size_t current_ = 0;
  std::string authorization_;  // "Basic ..." or ""; a secret, never logged
  std::string auth_error_;     // why the password could not be read, or ""
  Poller poller_;
  bool stopped_ = false;
};

}  // namespace registrar::discovery::eureka
