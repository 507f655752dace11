// `grpc-registrar deregister --nacos HOST:PORT --name N --address A --port P`: one DELETE of an
// instance a daemon that is gone left in Nacos (an ephemeral instance goes by itself 30 s after
// its last beat; this is for now). The servers of the list are tried in order, on the daemon's
// own HTTP(S) client; a login first when --nacos-user is given, as the daemon logs in.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "registry/http/request_once.hpp"
#include "registry/nacos/nacos_api.hpp"
#include "registry/nacos/nacos_login.hpp"
#include "registry/nacos/tls_names.hpp"

namespace registrar::cli {

namespace {

int nacos_usage(const std::string& message) {
  std::fprintf(stderr, "grpc-registrar deregister: %s\n", message.c_str());
  return kExitUsage;
}

// An accessToken from `server`, or "" without --nacos-user; nullopt with `error` set (never the
// password), `refused` when the server answered and said no.
std::optional<std::string> nacos_token(const std::string& server, const config::NacosSpec& spec,
                                       config::Duration timeout, std::string& error,
                                       bool& refused) {
  refused = false;
  const registry::nacos::Login login(spec, &registry::nacos::Login::read_file);
  if (!login.enabled()) return std::string();
  std::optional<std::string> password = login.password(error);
  if (!password) {
    refused = true;
    return std::nullopt;
  }
  const auto r =
      registry::http::request_once(server, spec.tls, registry::nacos::nacos_tls_names(), timeout,
                                   registry::nacos::login_request(spec.username, *password));
  if (!r.answered()) {
    error = r.error_text;
    return std::nullopt;
  }
  std::string why;
  std::optional<registry::nacos::LoginAnswer> answer;
  if (r.ok()) answer = registry::nacos::parse_login_answer(r.body, why);
  if (!answer) {
    refused = r.status < 500;
    error = "Nacos login as " + spec.username +
            " failed: " + (r.ok() ? why : "HTTP " + std::to_string(r.status));
    return std::nullopt;
  }
  return answer->token;
}

}  // namespace

int deregister_nacos(const DeregisterOptions& o, const config::NacosSpec& spec,
                     config::Duration timeout) {
  if (o.name.empty() || o.address.empty() || o.port == 0)
    return nacos_usage(
        "--name, --address and --port are required with --nacos (Nacos names an "
        "instance by service, ip and port)");
  if (o.port < 0 || o.port > 65535) return nacos_usage("--port: out of range (1-65535)");
  registry::Registration reg;
  reg.name = o.name;
  reg.id = o.id;
  reg.address = o.address;
  reg.port = static_cast<std::uint16_t>(o.port);
  const std::string what =
      "instance " + o.address + ":" + std::to_string(o.port) + " of " + spec.group + "@@" + o.name;
  std::string last_error;
  for (const std::string& server : spec.servers) {
    std::string error;
    bool refused = false;
    const std::optional<std::string> token = nacos_token(server, spec, timeout, error, refused);
    if (!token && refused) {
      std::fprintf(stderr, "grpc-registrar deregister: %s; %s not deregistered\n", error.c_str(),
                   what.c_str());
      return kExitConfig;
    }
    if (!token) {
      last_error = server + ": " + error;
      continue;
    }
    const auto r =
        registry::http::request_once(server, spec.tls, registry::nacos::nacos_tls_names(), timeout,
                                     registry::nacos::deregister_request(spec, reg, *token));
    if (!r.answered() || r.status >= 500) {
      last_error =
          server + ": " + (r.answered() ? "HTTP " + std::to_string(r.status) : r.error_text);
      continue;
    }
    if (r.ok()) {
      // Nacos answers "ok" whether or not it held the instance.
      std::printf("deregistered %s\n", what.c_str());
      return kExitOk;
    }
    std::fprintf(stderr, "grpc-registrar deregister: the Nacos server at %s answered %d%s\n",
                 server.c_str(), r.status,
                 r.status == 403 ? " (check --nacos-user and its password)" : "");
    return kExitUnavailable;
  }
  std::fprintf(stderr,
               "grpc-registrar deregister: no Nacos server answered: %s; %s not "
               "deregistered\n",
               last_error.c_str(), what.c_str());
  return kExitUnavailable;
}

}  // namespace registrar::cli
