// How the etcd reader finds and reads the entries of a service. Pure, so that every entry shape
// is unit-tested and hostile values are refused one by one.
//
// Where: registry.etcd.format says where the daemon writes (json and gokit under
// "<prefix>/<name>/", grpc-go under "<name>/"), and the reader reads there. What: every value is
// read by its shape, whatever the format setting, so that entries other registrars write next to
// ours are listed too:
//   {"name","id","address","port","tags","meta"}   the daemon's json format
//   "host:port" (or "scheme://host:port[/...]")    go-kit's etcdv3 registrar, the gokit format
//   {"Op":0,"Addr":"host:port","Metadata":...}     etcd's gRPC-Go endpoints.Manager, grpc-go
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/manifest.hpp"
#include "discovery/instance.hpp"

namespace registrar::discovery::etcd {

// The keys of a service: [key, range_end), etcd's prefix range.
struct KeyRange {
  std::string key;
  std::string range_end;
};
KeyRange entries_range(config::EtcdKeyFormat format, const std::string& prefix,
                       const std::string& name);

// One key/value of that range as an instance of `name`, or nullopt with `why` set: a key one
// level further down (another service's, e.g. "<prefix>/<name>/x/y"), a value of no known shape,
// a grpc-go delete operation, an address without a valid port.
std::optional<Instance> parse_entry(const KeyRange& range, const std::string& name,
                                    std::string_view key, std::string_view value, std::string& why);

// "host:port", "[v6]:port" (an optional "scheme://" before, a path after) into its parts.
bool split_host_port(std::string_view text, std::string& host, std::uint16_t& port);

}  // namespace registrar::discovery::etcd
