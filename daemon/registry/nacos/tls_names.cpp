#include "registry/nacos/tls_names.hpp"

namespace registrar::registry::nacos {

const http::TlsNames& nacos_tls_names() {
  static const http::TlsNames names = http::tls_names_for("nacos", "the Nacos server");
  return names;
}

}  // namespace registrar::registry::nacos
