// TlsNames: the words of one backend's TLS messages (its server, its settings), kept apart from
// tls_context.hpp so that a client's header need not include OpenSSL's.
#pragma once

#include <string>

namespace registrar::registry::http {

// How a backend names its server and its TLS settings in messages, e.g. for Consul: "the agent",
// "registry.consul.tls.ca_file / CONSUL_CACERT".
struct TlsNames {
  std::string peer;     // "the agent": lower case, used mid-sentence
  std::string ca_file;  // the setting of each file, as shown to the operator
  std::string cert_file;
  std::string key_file;
  std::string key_setting;  // key_file's manifest key alone, for the secret file reader
  std::string server_name;
  std::string client_cert_hint;  // e.g. " (verify_incoming)": what makes the server ask for one
  std::string plain_http_hint;   // what to do when the server does not speak TLS there
};

// The names of a backend without environment variables: "registry.<section>.tls.<key>".
TlsNames tls_names_for(const std::string& section, const std::string& peer);

}  // namespace registrar::registry::http
