// The conformance suite (cases.hpp) for the ZooKeeper backend, against a real ZooKeeper.
#include "conformance/suite.hpp"
#include "conformance/zookeeper_backend.hpp"

REGISTRAR_CONFORMANCE_SUITE("zookeeper", registrar::conformance::ZooKeeperBackend)
