#include "support/paths.hpp"

#include <filesystem>

namespace registrar::test {

namespace {

std::optional<std::string> existing(const char* path) {
  std::error_code ec;
  if (path == nullptr || *path == '\0' || !std::filesystem::exists(path, ec)) return std::nullopt;
  return std::string(path);
}

}  // namespace

std::optional<std::string> registrar_bin() {
#ifdef REGISTRAR_BIN
  return existing(REGISTRAR_BIN);
#else
  return std::nullopt;
#endif
}

std::optional<std::string> hello_service_bin() {
#ifdef HELLO_SERVICE_BIN
  return existing(HELLO_SERVICE_BIN);
#else
  return std::nullopt;
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
  return existing(REGISTRAR_CONSUL_DOUBLE);
#else
  return std::nullopt;
#endif
}

}  // namespace registrar::test
