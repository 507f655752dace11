// How a Registration becomes an etcd key/value, per registry.etcd.format. Pure.
#pragma once

#include <string>

#include "config/manifest.hpp"
#include "registry/registration.hpp"

namespace registrar::registry::etcd {

struct Entry {
  std::string key;
  std::string value;
};

// json:    <prefix>/<name>/<id>                 {"name","id","address","port","tags","meta"}
// gokit:   <prefix>/<name>/<address>:<port>     <address>:<port>
// grpc-go: <name>/<address>:<port>              {"Op":0,"Addr":"<address>:<port>","Metadata":null}
Entry format_entry(config::EtcdKeyFormat format, const std::string& prefix, const Registration& r);

}  // namespace registrar::registry::etcd
