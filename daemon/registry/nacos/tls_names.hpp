// How the Nacos backend's TLS messages name its servers and settings.
#pragma once

#include "registry/http/tls_names.hpp"

namespace registrar::registry::nacos {

const http::TlsNames& nacos_tls_names();

}  // namespace registrar::registry::nacos
