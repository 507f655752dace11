// Shared helpers of the ZooKeeper backend's end-to-end tests: a real ZooKeeper, real
// hello-service processes, the real daemon; the registry read with the test's own client.
#pragma once

#include <optional>
#include <string>

#include "itest.hpp"
#include "support/zk_test_client.hpp"
#include "support/zookeeper_server.hpp"

namespace registrar::itest {

// The binaries (have_binaries()) and ZooKeeper; else FAIL under CI=true, WARN elsewhere.
bool have_zookeeper();

struct ZkParams {
  std::string servers;
  std::string base_path = "/services";
  std::string format = "curator";
  // Short, so that faults past it are quick to test; long enough that a loaded machine sends
  // its heartbeats (every third of it) in time.
  std::string session_timeout = "3s";
  std::string resync_interval = "1s";
  std::string owner = "itest";
  std::string shutdown_timeout = "5s";
  std::vector<ServiceEntry> services;
};
std::string zookeeper_manifest_yaml(const ZkParams& p);

// The node of `id` (curator and gokit formats: <base>/<name>/<id>), or nullopt; nullopt too
// while the server does not answer.
std::optional<ZkNode> try_node(const std::string& servers, const std::string& path);

// Waits until the node at `path` exists (want) or not; the time it took, or nullopt.
std::optional<Millis> wait_for_node(const std::string& servers, const std::string& path, bool want,
                                    Millis timeout);

}  // namespace registrar::itest
