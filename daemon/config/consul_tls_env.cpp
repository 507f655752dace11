#include "config/consul_tls_env.hpp"

namespace registrar::config {

namespace {

std::optional<std::string> non_empty(const char* name, const EnvLookup& env) {
  std::optional<std::string> v = env(name);
  if (v && v->empty()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<bool> parse_go_bool(std::string_view v) {
  if (v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True") return true;
  if (v == "0" || v == "f" || v == "F" || v == "false" || v == "FALSE" || v == "False") {
    return false;
  }
  return std::nullopt;
}

std::optional<bool> consul_bool_variable(const char* name, const EnvLookup& env,
                                         std::string& error) {
  std::optional<std::string> v = non_empty(name, env);
  if (!v) return std::nullopt;
  std::optional<bool> b = parse_go_bool(*v);
  if (!b && error.empty()) {
    std::string shown;  // one line: control bytes as \xNN
    for (char ch : *v) {
      const auto u = static_cast<unsigned char>(ch);
      if (u < 0x20 || u == 0x7f) {
        static constexpr char kHex[] = "0123456789ABCDEF";
        shown += "\\x";
        shown += kHex[u >> 4];
        shown += kHex[u & 0xf];
      } else {
        shown += ch;
      }
    }
    error = std::string(name) + " must be true or false, got \"" + shown + "\"";
  }
  return b;
}

void fill_consul_tls_from_env(TlsSpec& tls, bool skip_verify_set, const EnvLookup& env,
                              std::string& error) {
  auto fill = [&](std::string& field, const char* name) {
    if (!field.empty()) return;
    if (auto v = non_empty(name, env)) field = *v;
  };
  fill(tls.ca_file, "CONSUL_CACERT");
  fill(tls.cert_file, "CONSUL_CLIENT_CERT");
  fill(tls.key_file, "CONSUL_CLIENT_KEY");
  fill(tls.server_name, "CONSUL_TLS_SERVER_NAME");
  if (!skip_verify_set) {
    if (auto verify = consul_bool_variable("CONSUL_HTTP_SSL_VERIFY", env, error)) {
      tls.insecure_skip_verify = !*verify;
    }
  }
}

TlsSpec consul_tls_from_environment(AddressScheme scheme, const EnvLookup& env,
                                    std::string& error) {
  TlsSpec tls;
  if (scheme != AddressScheme::None) {
    tls.enabled = scheme == AddressScheme::Https;
  } else if (auto ssl = consul_bool_variable("CONSUL_HTTP_SSL", env, error)) {
    tls.enabled = *ssl;
  }
  if (!tls.enabled) return tls;
  fill_consul_tls_from_env(tls, /*skip_verify_set=*/false, env, error);
  if (tls.cert_file.empty() != tls.key_file.empty() && error.empty()) {
    error = "a client certificate needs both CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY";
  }
  return tls;
}

}  // namespace registrar::config
