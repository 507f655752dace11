#include "registry/etcd/key_format.hpp"

#include <nlohmann/json.hpp>

namespace registrar::registry::etcd {

std::string host_port(const std::string& address, std::uint16_t port) {
  const bool v6 = address.find(':') != std::string::npos && address.front() != '[';
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

Entry format_entry(config::EtcdKeyFormat format, const std::string& prefix, const Registration& r) {
  const std::string hp = host_port(r.address, r.port);
  switch (format) {
    case config::EtcdKeyFormat::GoKit:
      return {prefix + "/" + r.name + "/" + hp, hp};
    case config::EtcdKeyFormat::GrpcGo: {
      // etcd's gRPC-Go naming resolver unmarshals {"Addr":..., "Metadata":...}; "Op":0 (Add)
      // keeps the value readable by the older naming.Update-based resolver as well.
      nlohmann::ordered_json v;
      v["Op"] = 0;
      v["Addr"] = hp;
      v["Metadata"] =
          r.meta.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.meta);
      return {r.name + "/" + hp, v.dump()};
    }
    case config::EtcdKeyFormat::Json:
    default: {
      nlohmann::ordered_json v;
      v["name"] = r.name;
      v["id"] = r.id;
      v["address"] = r.address;
      v["port"] = r.port;
      v["tags"] = r.tags;
      v["meta"] = nlohmann::ordered_json::object();
      for (const auto& [k, val] : r.meta) v["meta"][k] = val;
      return {prefix + "/" + r.name + "/" + r.id, v.dump()};
    }
  }
}

}  // namespace registrar::registry::etcd
