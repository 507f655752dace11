// Paths of the binaries under test, from compile definitions set in tests/support/CMakeLists.txt.
// nullopt when the target did not exist at configure time (or the file is missing).
// REGISTRAR_TEST_REGISTRAR_BIN, REGISTRAR_TEST_HELLO_SERVICE_BIN, REGISTRAR_TEST_CONSUL_DOUBLE_BIN
// and REGISTRAR_TEST_ETCD_BIN, when set, replace the built path (e.g. an installed binary, or a
// path that does not exist, to see a test fail under CI=true: tests/support/require.hpp).
#pragma once

#include <optional>
#include <string>

namespace registrar::test {

std::optional<std::string> registrar_bin();               // grpc-registrar
std::optional<std::string> hello_service_bin();           // examples/hello-service
std::optional<std::string> etcd_resolver_client_bin();    // tests/interop (Go)
std::optional<std::string> gokit_instancer_client_bin();  // tests/interop (Go)
std::optional<std::string> consul_double_bin();           // tests/consul_double (Go)
std::optional<std::string> eureka_double_bin();           // tests/eureka_double (Go)
std::optional<std::string> nacos_double_bin();            // tests/nacos_double (Go)
std::optional<std::string> etcd_bin_found();              // etcd (the path etcd_bin() runs)

// True when a test must not skip for want of a binary or server: $CI is "true" or "1"
// (case-insensitive), as CI services and .ci/run set it. See support/require.hpp.
bool running_in_ci();

}  // namespace registrar::test
