// The conformance suite (cases.hpp) for the Nacos backend, against the Nacos double.
#include "conformance/nacos_backend.hpp"
#include "conformance/suite.hpp"

REGISTRAR_CONFORMANCE_SUITE("nacos", registrar::conformance::NacosBackend)
