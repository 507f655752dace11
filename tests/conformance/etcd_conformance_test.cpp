// The conformance suite (cases.hpp) for the etcd backend, against a real etcd.
#include "conformance/etcd_backend.hpp"
#include "conformance/suite.hpp"

REGISTRAR_CONFORMANCE_SUITE("etcd", registrar::conformance::EtcdBackend)
