// The ownership record of a daemon in ZooKeeper, the analog of etcd's: a persistent node
// /grpc-registrar/owners/<owner> naming the session that holds this daemon's nodes, so that the
// next run (same owner) finds the previous run's nodes and replaces or removes them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace registrar::registry::zookeeper {

inline constexpr const char* kOwnersPath = "/grpc-registrar/owners";

// The record's path: the owner ("host:/etc/manifest.yaml") with '%' and '/' escaped (%25, %2F),
// since a node's name cannot hold '/'.
std::string owner_record_path(const std::string& owner);
std::string session_hex(std::int64_t session);  // "0x" + 16 hex digits, as zkCli shows it
// {"owner":..., "session":"0x...", "base_path":..., "format":...}
std::string owner_record_data(const std::string& owner, std::int64_t session,
                              const std::string& base_path, const std::string& format);
// The session a record names; nullopt when it does not parse.
std::optional<std::int64_t> owner_record_session(const std::string& data);

}  // namespace registrar::registry::zookeeper
