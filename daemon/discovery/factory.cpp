#include "discovery/factory.hpp"

#include <stdexcept>

#include "discovery/consul_instancer.hpp"
#include "discovery/etcd_instancer.hpp"
#include "discovery/eureka_instancer.hpp"
#include "discovery/nacos_instancer.hpp"
#include "discovery/zookeeper_instancer.hpp"

namespace registrar::discovery {

bool has_reader(config::RegistryKind kind) {
  switch (kind) {
    case config::RegistryKind::Etcd:
    case config::RegistryKind::Consul:
    case config::RegistryKind::ZooKeeper:
    case config::RegistryKind::Eureka:
    case config::RegistryKind::Nacos:
      return true;
  }
  return false;
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
      return zookeeper::ZooKeeperInstancer::create(executor, spec, std::move(query), clock);
    case config::RegistryKind::Eureka:
      return eureka::EurekaInstancer::create(executor, spec, std::move(query), clock);
    case config::RegistryKind::Nacos:
      return nacos::NacosInstancer::create(executor, spec, std::move(query), clock);
  }
  throw std::invalid_argument("no reader for this registry kind in this build");
}

}  // namespace registrar::discovery
