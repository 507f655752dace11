#include "discovery/factory.hpp"

#include <stdexcept>

#include "discovery/consul_instancer.hpp"
#include "discovery/etcd_instancer.hpp"

namespace registrar::discovery {

bool has_reader(config::RegistryKind kind) {
  return kind == config::RegistryKind::Etcd || kind == config::RegistryKind::Consul;
}

std::shared_ptr<Instancer> make_instancer(boost::asio::any_io_executor executor,
                                          const config::RegistrySpec& spec, Query query,
                                          const runtime::Clock& clock) {
  switch (spec.kind) {
    case config::RegistryKind::Etcd:
      return etcd::EtcdInstancer::create(executor, spec, std::move(query), clock);
    case config::RegistryKind::Consul:
      return consul::ConsulInstancer::create(executor, spec, std::move(query), clock);
    case config::RegistryKind::ZooKeeper:
    case config::RegistryKind::Eureka:
    case config::RegistryKind::Nacos:
      break;  // no reader yet: has_reader() says so before anyone asks
  }
  throw std::invalid_argument("no reader for this registry kind in this build");
}

}  // namespace registrar::discovery
