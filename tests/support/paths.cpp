#include "support/paths.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "support/etcd_server.hpp"

namespace registrar::test {

namespace {

std::optional<std::string> existing(const char* path) {
  std::error_code ec;
  if (path == nullptr || *path == '\0' || !std::filesystem::exists(path, ec)) return std::nullopt;
  return std::string(path);
}

// $variable when set (even to a path that does not exist: then the binary is missing), else the
// path the build recorded.
std::optional<std::string> existing_or_env(const char* variable, const char* built) {
  const char* from_env = std::getenv(variable);
  return existing(from_env != nullptr ? from_env : built);
}

}  // namespace

std::optional<std::string> registrar_bin() {
#ifdef REGISTRAR_BIN
  return existing_or_env("REGISTRAR_TEST_REGISTRAR_BIN", REGISTRAR_BIN);
#else
  return existing_or_env("REGISTRAR_TEST_REGISTRAR_BIN", nullptr);
#endif
}

std::optional<std::string> hello_service_bin() {
#ifdef HELLO_SERVICE_BIN
  return existing_or_env("REGISTRAR_TEST_HELLO_SERVICE_BIN", HELLO_SERVICE_BIN);
#else
  return existing_or_env("REGISTRAR_TEST_HELLO_SERVICE_BIN", nullptr);
#endif
}

std::optional<std::string> etcd_resolver_client_bin() {
#ifdef REGISTRAR_ETCD_RESOLVER_CLIENT
  return existing(REGISTRAR_ETCD_RESOLVER_CLIENT);
#else
  return std::nullopt;
#endif
}

std::optional<std::string> gokit_instancer_client_bin() {
#ifdef REGISTRAR_GOKIT_INSTANCER_CLIENT
  return existing(REGISTRAR_GOKIT_INSTANCER_CLIENT);
#else
  return std::nullopt;
#endif
}

std::optional<std::string> consul_double_bin() {
#ifdef REGISTRAR_CONSUL_DOUBLE
  return existing_or_env("REGISTRAR_TEST_CONSUL_DOUBLE_BIN", REGISTRAR_CONSUL_DOUBLE);
#else
  return existing_or_env("REGISTRAR_TEST_CONSUL_DOUBLE_BIN", nullptr);
#endif
}

std::optional<std::string> eureka_double_bin() {
#ifdef REGISTRAR_EUREKA_DOUBLE
  return existing_or_env("REGISTRAR_TEST_EUREKA_DOUBLE_BIN", REGISTRAR_EUREKA_DOUBLE);
#else
  return existing_or_env("REGISTRAR_TEST_EUREKA_DOUBLE_BIN", nullptr);
#endif
}

std::optional<std::string> nacos_double_bin() {
#ifdef REGISTRAR_NACOS_DOUBLE
  return existing_or_env("REGISTRAR_TEST_NACOS_DOUBLE_BIN", REGISTRAR_NACOS_DOUBLE);
#else
  return existing_or_env("REGISTRAR_TEST_NACOS_DOUBLE_BIN", nullptr);
#endif
}

bool running_in_ci() {
  const char* ci = std::getenv("CI");
  if (ci == nullptr) return false;
  std::string v(ci);
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return v == "true" || v == "1";
}

std::optional<std::string> etcd_bin_found() {
  return existing(etcd_bin().c_str());
}

}  // namespace registrar::test
