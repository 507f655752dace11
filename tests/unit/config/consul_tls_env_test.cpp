// consul_tls_from_environment: `deregister --consul` reads Consul's variables as the manifest
// does (the parser uses the same functions).
#include "config/consul_tls_env.hpp"

#include <catch2/catch.hpp>
#include <map>

using namespace registrar;

namespace {

config::EnvLookup env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace

TEST_CASE("environment tls: the scheme decides, then CONSUL_HTTP_SSL") {
  std::string error;
  CHECK(config::consul_tls_from_environment(config::AddressScheme::Https, env({}), error).enabled);
  CHECK_FALSE(config::consul_tls_from_environment(config::AddressScheme::Http,
                                                  env({{"CONSUL_HTTP_SSL", "true"}}), error)
                  .enabled);
  CHECK(config::consul_tls_from_environment(config::AddressScheme::None,
                                            env({{"CONSUL_HTTP_SSL", "1"}}), error)
            .enabled);
  CHECK_FALSE(config::consul_tls_from_environment(config::AddressScheme::None,
                                                  env({{"CONSUL_HTTP_SSL", ""}}), error)
                  .enabled);
  CHECK_FALSE(
      config::consul_tls_from_environment(config::AddressScheme::None, env({}), error).enabled);
  CHECK(error.empty());
}

TEST_CASE("environment tls: the files, the name and CONSUL_HTTP_SSL_VERIFY") {
  std::string error;
  const config::TlsSpec t =
      config::consul_tls_from_environment(config::AddressScheme::None,
                                          env({{"CONSUL_HTTP_SSL", "True"},
                                               {"CONSUL_CACERT", "/ca.pem"},
                                               {"CONSUL_CLIENT_CERT", "/c.pem"},
                                               {"CONSUL_CLIENT_KEY", "/c.key"},
                                               {"CONSUL_TLS_SERVER_NAME", "consul.local"},
                                               {"CONSUL_HTTP_SSL_VERIFY", "false"}}),
                                          error);
  CHECK(error.empty());
  CHECK(t.enabled);
  CHECK(t.ca_file == "/ca.pem");
  CHECK(t.cert_file == "/c.pem");
  CHECK(t.key_file == "/c.key");
  CHECK(t.server_name == "consul.local");
  CHECK(t.insecure_skip_verify);
  // Without TLS the other variables are not read at all.
  const config::TlsSpec off = config::consul_tls_from_environment(
      config::AddressScheme::Http,
      env({{"CONSUL_CACERT", "/ca.pem"}, {"CONSUL_HTTP_SSL_VERIFY", "maybe"}}), error);
  CHECK(error.empty());
  CHECK(off.ca_file.empty());
}

TEST_CASE("environment tls: invalid values are errors naming the variable") {
  std::string error;
  config::consul_tls_from_environment(config::AddressScheme::None,
                                      env({{"CONSUL_HTTP_SSL", "yes"}}), error);
  CHECK(error == "CONSUL_HTTP_SSL must be true or false, got \"yes\"");
  error.clear();
  config::consul_tls_from_environment(config::AddressScheme::Https,
                                      env({{"CONSUL_HTTP_SSL_VERIFY", "no"}}), error);
  CHECK(error == "CONSUL_HTTP_SSL_VERIFY must be true or false, got \"no\"");
  error.clear();
  config::consul_tls_from_environment(config::AddressScheme::Https,
                                      env({{"CONSUL_CLIENT_CERT", "/c"}}), error);
  CHECK(error == "a client certificate needs both CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY");
}
