// The conformance suite (cases.hpp) for the Eureka backend, against the Eureka server double.
#include "conformance/eureka_backend.hpp"
#include "conformance/suite.hpp"

REGISTRAR_CONFORMANCE_SUITE("eureka", registrar::conformance::EurekaBackend)
