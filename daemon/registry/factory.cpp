#include "registry/factory.hpp"

#include <stdexcept>

#include "registry/consul/consul_registry.hpp"
#include "registry/consul/tls_names.hpp"
#include "registry/etcd/etcd_registry.hpp"
#include "registry/http/client.hpp"
#include "registry/nacos/nacos_registry.hpp"
#include "registry/nacos/tls_names.hpp"
#include "runtime/backoff.hpp"

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
