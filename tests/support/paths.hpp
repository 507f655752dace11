// Paths of the binaries under test, from compile definitions set in tests/support/CMakeLists.txt.
// nullopt when the target did not exist at configure time (or the file is missing).
#pragma once

#include <optional>
#include <string>

namespace registrar::test {

std::optional<std::string> registrar_bin();               // grpc-registrar
std::optional<std::string> hello_service_bin();           // examples/hello-service
std::optional<std::string> etcd_resolver_client_bin();    // tests/interop (Go)
std::optional<std::string> gokit_instancer_client_bin();  // tests/interop (Go)
std::optional<std::string> consul_double_bin();           // tests/consul_double (Go)

}  // namespace registrar::test
