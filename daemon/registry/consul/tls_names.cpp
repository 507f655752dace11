#include "registry/consul/tls_names.hpp"

namespace registrar::registry::consul {

const http::TlsNames& consul_tls_names() {
  static const http::TlsNames names = [] {
    http::TlsNames n;
    n.peer = "the agent";
    n.ca_file = "registry.consul.tls.ca_file / CONSUL_CACERT";
    n.cert_file = "registry.consul.tls.cert_file / CONSUL_CLIENT_CERT";
    n.key_file = "registry.consul.tls.key_file / CONSUL_CLIENT_KEY";
    n.key_setting = "registry.consul.tls.key_file";
    n.server_name = "registry.consul.tls.server_name / CONSUL_TLS_SERVER_NAME";
    n.client_cert_hint = " (verify_incoming)";
    n.plain_http_hint =
        "(plain HTTP? use the agent's HTTPS port, ports.https, or turn TLS off: http://, "
        "CONSUL_HTTP_SSL=false)";
    return n;
  }();
  return names;
}

}  // namespace registrar::registry::consul
