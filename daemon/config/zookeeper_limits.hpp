// What the ZooKeeper backend reserves, shared by the manifest's validation and the backend
// (registry/zookeeper/entry_format.*), so that config never depends on a backend.
#pragma once

namespace registrar::config {

// Metadata keys the curator format adds to a service's meta: the gRPC port, under the key
// grpc-spring clients read, and the tags, comma-joined. A service's meta may not use them.
inline constexpr const char* kZooKeeperGrpcPortKey = "gRPC_port";
inline constexpr const char* kZooKeeperTagsKey = "tags";

}  // namespace registrar::config
