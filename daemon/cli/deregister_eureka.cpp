// `grpc-registrar deregister --eureka URL --name N --id I`: one DELETE of an instance a daemon
// that is gone left in Eureka (cancelLease), on the daemon's own HTTP(S) client. The servers of
// the list are tried in order; basic auth as the daemon's: --eureka-user, password from
// --eureka-password-file or $EUREKA_PASSWORD.
#include <cstdio>
#include <cstdlib>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "registry/eureka/eureka_api.hpp"
#include "registry/http/request_once.hpp"
#include "runtime/secret_file.hpp"

namespace registrar::cli {

int deregister_eureka(const DeregisterOptions& o, const config::EurekaSpec& spec,
                      config::Duration timeout) {
  auto usage = [](const std::string& message) {
    std::fprintf(stderr, "grpc-registrar deregister: %s\n", message.c_str());
    return kExitUsage;
  };
  if (o.name.empty() || o.id.empty())
    return usage("--name and --id are required with --eureka (the application and instanceId)");
  registry::http::HttpRequest req;
  req.method = registry::http::Method::Delete;
  req.headers.push_back({"Accept", "application/json"});
  if (!spec.username.empty()) {
    std::string password = spec.password;
    if (!spec.password_file.empty()) {
      std::string error;
      runtime::SecretReadOptions options;
      options.trim_trailing_newlines = true;
      options.what = "--eureka-password-file";
      const auto read = runtime::read_secret_file(spec.password_file, error, options);
      if (!read) {
        std::fprintf(stderr, "grpc-registrar deregister: %s\n", error.c_str());
        return kExitConfig;
      }
      password = *read;
    }
    req.headers.push_back(
        {"Authorization", registry::eureka::basic_authorization(spec.username, password)});
  }
  std::string last_error;
  for (const config::EurekaServer& s : spec.servers) {
    config::TlsSpec tls = spec.tls;
    tls.enabled = s.https;
    req.target = registry::eureka::instance_target(s.path, o.name, o.id);
    const auto r = registry::http::request_once(
        s.address, tls, registry::http::tls_names_for("eureka", "the Eureka server"), timeout, req);
    if (!r.answered() || r.status >= 500) {
      last_error =
          s.url + ": " + (r.answered() ? "HTTP " + std::to_string(r.status) : r.error_text);
      continue;
    }
    const std::string app = registry::eureka::app_name(o.name);
    if (r.status == 200) {
      std::printf("cancelled instance %s of %s\n", o.id.c_str(), app.c_str());
      return kExitOk;
    }
    if (r.status == 404) {
      std::printf("instance %s of %s was not registered (nothing to deregister)\n", o.id.c_str(),
                  app.c_str());
      return kExitOk;
    }
    std::fprintf(
        stderr, "grpc-registrar deregister: the Eureka server at %s answered %d%s\n", s.url.c_str(),
        r.status,
        r.status == 401 || r.status == 403 ? " (check --eureka-user and its password)" : "");
    return kExitUnavailable;
  }
  std::fprintf(stderr, "grpc-registrar deregister: no Eureka server answered: %s\n",
               last_error.c_str());
  return kExitUnavailable;
}

}  // namespace registrar::cli
