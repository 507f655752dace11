#include "registry/etcd/key_format.hpp"

#include <nlohmann/json.hpp>

#include "config/address.hpp"

namespace registrar::registry::etcd {

Entry format_entry(config::EtcdKeyFormat format, const std::string& prefix, const Registration& r) {
  const std::string hp = config::join_host_port(r.address, r.port);
  switch (format) {
    case config::EtcdKeyFormat::GoKit:
      return {prefix + "/" + r.name + "/" + hp, hp};
    case config::EtcdKeyFormat::GrpcGo: {
      // etcd's gRPC-Go resolver decodes {"Op","Addr","Metadata"} and hands Metadata to gRPC as
      // resolver.Address.Metadata. gRPC-Go's round_robin uses that address as a map key, so a
      // JSON object there panics the client (unhashable map): Metadata is always null, which is
      // what etcd's own endpoints.Manager writes. Meta is carried by the json format only.
      nlohmann::ordered_json v;
      v["Op"] = 0;
      v["Addr"] = hp;
      v["Metadata"] = nullptr;
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
