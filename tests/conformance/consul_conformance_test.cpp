// The conformance suite (cases.hpp) for the Consul backend, against the Consul agent double.
#include "conformance/consul_backend.hpp"
#include "conformance/suite.hpp"

REGISTRAR_CONFORMANCE_SUITE("consul", registrar::conformance::ConsulBackend)
