// How the Consul backend names its agent and its TLS settings in TLS messages: the manifest key
// beside the environment variable of Consul's own CLI that sets the same thing.
#pragma once

#include "registry/http/tls_context.hpp"

namespace registrar::registry::consul {

const http::TlsNames& consul_tls_names();

}  // namespace registrar::registry::consul
