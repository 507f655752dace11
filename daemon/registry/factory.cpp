#include "registry/factory.hpp"

#include <stdexcept>

#include "registry/consul/consul_registry.hpp"
#include "registry/consul/tls_names.hpp"
#include "registry/etcd/etcd_registry.hpp"
#include "registry/eureka/eureka_registry.hpp"
#include "registry/http/client.hpp"
#include "registry/nacos/nacos_registry.hpp"
#include "registry/nacos/tls_names.hpp"
#include "registry/zookeeper/zk_client.hpp"
#include "registry/zookeeper/zookeeper_registry.hpp"
#include "runtime/backoff.hpp"
#include "runtime/secret_file.hpp"

namespace registrar::registry {

std::shared_ptr<Registry> make_registry(boost::asio::any_io_executor executor,
                                        const config::RegistrySpec& spec,
                                        const runtime::Clock& clock,
                                        metrics::RegistryObserver& observer) {
  switch (spec.kind) {
    case config::RegistryKind::Etcd:
      return std::make_shared<etcd::EtcdRegistry>(
          executor, spec,
          std::make_unique<etcd::EtcdClient>(executor, spec.etcd.endpoints, spec.etcd.dial_timeout),
          clock, runtime::default_random(), observer);
    case config::RegistryKind::Consul:
      return std::make_shared<consul::ConsulRegistry>(
          executor, spec,
          std::make_unique<http::HttpClient>(executor, spec.consul.address,
                                             spec.consul.request_timeout, spec.consul.tls,
                                             consul::consul_tls_names()),
          clock, runtime::default_random(), consul::Token::read_file, observer);
    case config::RegistryKind::ZooKeeper:
      return std::make_shared<zookeeper::ZooKeeperRegistry>(
          executor, spec, std::make_unique<zookeeper::ZkClient>(executor, spec.zookeeper), clock,
          runtime::default_random(),
          [](const std::string& path, std::string& error) {
            runtime::SecretReadOptions options;
            options.trim_trailing_newlines = true;
            options.what = "registry.zookeeper.auth.password_file";
            return runtime::read_secret_file(path, error, options);
          },
          observer);
    case config::RegistryKind::Eureka: {
      std::vector<std::unique_ptr<http::HttpTransport>> transports;
      for (const config::EurekaServer& s : spec.eureka.servers) {
        config::TlsSpec tls = spec.eureka.tls;
        tls.enabled = s.https;
        transports.push_back(std::make_unique<http::HttpClient>(
            executor, s.address, spec.eureka.request_timeout, tls,
            http::tls_names_for("eureka", "the Eureka server")));
      }
      return std::make_shared<eureka::EurekaRegistry>(
          executor, spec, std::move(transports), clock, runtime::default_random(),
          [](const std::string& path, std::string& error) {
            return runtime::read_secret_file(
                path, error,
                {.trim_trailing_newlines = true, .what = "registry.eureka.password_file"});
          },
          observer);
    }
    case config::RegistryKind::Nacos: {
      std::vector<std::unique_ptr<http::HttpTransport>> servers;
      for (const std::string& address : spec.nacos.servers) {
        servers.push_back(
            std::make_unique<http::HttpClient>(executor, address, spec.nacos.request_timeout,
                                               spec.nacos.tls, nacos::nacos_tls_names()));
      }
      return std::make_shared<nacos::NacosRegistry>(executor, spec, std::move(servers), clock,
                                                    runtime::default_random(),
                                                    nacos::Login::read_file, observer);
    }
  }
  throw std::invalid_argument("registry kind not supported by this build");
}

}  // namespace registrar::registry
