// `grpc-registrar deregister`: removes one registration by name, for clean-up after a daemon
// that is gone (or a `register` that was SIGKILLed). etcd: deletes the key the given format
// gives the instance; Consul: deregisters the service id from the local agent.
#include <grpcpp/grpcpp.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/flag_duration.hpp"
#include "config/address.hpp"
#include "config/consul_tls_env.hpp"
#include "config/duration.hpp"
#include "config/effective.hpp"
#include "config/enums.hpp"
#include "etcd_rpc.grpc.pb.h"
#include "registry/consul/agent_request.hpp"
#include "registry/consul/tls_names.hpp"
#include "registry/etcd/connect_diagnosis.hpp"
#include "registry/etcd/etcd_auth.hpp"
#include "registry/etcd/key_format.hpp"
#include "registry/etcd/tls_credentials.hpp"
#include "registry/http/request_once.hpp"
#include "runtime/grpc_deadline.hpp"
#include "runtime/token_file.hpp"
#include "status/http_client.hpp"

namespace registrar::cli {

namespace {

int usage(const std::string& message) {
  std::fprintf(stderr, "grpc-registrar deregister: %s\n", message.c_str());
  return kExitUsage;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(0, 1);
  return s;
}

// A Consul ACL token file, as the daemon reads it (runtime::read_token_file: a regular file of
// one line within its limit; the path in errors, never the content; one warning when others may
// read it). An empty file means no token, as for the daemon.
std::optional<std::string> read_token_file(const std::string& path, std::string& error) {
  std::string why;
  std::optional<runtime::TokenFile> file =
      runtime::read_token_file(path, why, "the Consul ACL token file");
  if (!file) {
    error = "cannot read token file " + path + ": " + why;
    return std::nullopt;
  }
  return file->token;
}

// etcd TLS and authentication of `deregister` (--etcd-ca-file ... --etcd-password-file). Kept
// here, next to their only use; the password comes from the file or $ETCDCTL_PASSWORD only.
struct EtcdSecurityFlags {
  std::string ca_file, cert_file, key_file, server_name, user, password_file;
};

EtcdSecurityFlags& etcd_security_flags() {
  static EtcdSecurityFlags flags;
  return flags;
}

// The flags as a manifest's registry.etcd would hold them; nullopt after printing a usage error.
std::optional<config::EtcdSpec> etcd_security(int& exit_code) {
  const EtcdSecurityFlags& f = etcd_security_flags();
  config::EtcdSpec spec;
  spec.tls.ca_file = f.ca_file;
  spec.tls.cert_file = f.cert_file;
  spec.tls.key_file = f.key_file;
  spec.tls.server_name = f.server_name;
  spec.tls.enabled = !f.ca_file.empty() || !f.cert_file.empty() || !f.server_name.empty();
  if (f.cert_file.empty() != f.key_file.empty()) {
    exit_code = usage("--etcd-cert-file and --etcd-key-file go together");
    return std::nullopt;
  }
  spec.username = f.user;
  if (!f.password_file.empty()) {
    if (f.user.empty()) {
      exit_code = usage("--etcd-password-file needs --etcd-user");
      return std::nullopt;
    }
    spec.password_file = f.password_file;
    spec.password_source = "--etcd-password-file (" + f.password_file + ")";
  } else if (!f.user.empty()) {
    const char* pw = std::getenv("ETCDCTL_PASSWORD");
    if (pw == nullptr || *pw == '\0') {
      exit_code = usage("--etcd-user needs --etcd-password-file or $ETCDCTL_PASSWORD");
      return std::nullopt;
    }
    spec.password = pw;
    spec.password_source = "ETCDCTL_PASSWORD";
  }
  return spec;
}

// Messages of the pieces shared with the daemon name the manifest's settings: name the flags.
std::string with_flag_names(std::string error) {
  for (auto [setting, flag] : {std::pair{"registry.etcd.tls.ca_file", "--etcd-ca-file"},
                               std::pair{"registry.etcd.tls.cert_file", "--etcd-cert-file"},
                               std::pair{"registry.etcd.tls.key_file", "--etcd-key-file"},
                               std::pair{"registry.etcd.password_file", "--etcd-password-file"}}) {
    if (auto at = error.find(setting); at != std::string::npos)
      error.replace(at, std::string(setting).size(), flag);
  }
  return error;
}

// Auth.Authenticate on `channel`; the token, or nullopt with `error` set (never the password).
std::optional<std::string> etcd_token(const std::shared_ptr<grpc::Channel>& channel,
                                      const config::EtcdSpec& spec, config::Duration timeout,
                                      std::string& error, bool& refused) {
  refused = false;
  std::optional<std::string> password = registry::etcd::read_password(spec, error);
  if (!password) {
    error = with_flag_names(error);
    refused = true;
    return std::nullopt;
  }
  etcdserverpb::AuthenticateRequest req;
  req.set_name(spec.username);
  req.set_password(*password);
  etcdserverpb::AuthenticateResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(runtime::grpc_deadline_after(timeout));
  ctx.set_wait_for_ready(true);
  const grpc::Status status = etcdserverpb::Auth::NewStub(channel)->Authenticate(&ctx, req, &resp);
  req.clear_password();
  if (status.ok()) return resp.token();
  if (registry::etcd::classify_auth_reply(status) == registry::etcd::AuthReply::AuthNotEnabled)
    return std::string();
  refused = status.error_code() != grpc::StatusCode::UNAVAILABLE &&
            status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED;
  error = refused ? registry::etcd::describe_authenticate_failure(spec, status).error_message()
                  : status.error_message();
  return std::nullopt;
}

// The key the flags give the instance, or nullopt after a usage error (printed).
std::optional<std::string> etcd_key(const DeregisterOptions& o) {
  config::EtcdKeyFormat format = config::EtcdKeyFormat::Json;
  if (auto f = config::enum_value(config::kEtcdKeyFormatNames, o.format)) format = *f;
  registry::Registration r;
  r.name = o.name;
  r.address = o.address;
  r.port = static_cast<std::uint16_t>(o.port);
  r.id = o.id;
  if (format == config::EtcdKeyFormat::Json && r.id.empty()) {
    if (o.address.empty() || o.port == 0) {
      usage("give --id, or --address and --port (json format keys use the id)");
      return std::nullopt;
    }
    r.id = config::default_service_id(r.name, r.address, r.port);
  }
  if (format != config::EtcdKeyFormat::Json && (o.address.empty() || o.port == 0)) {
    usage("--address and --port are required for the " + o.format + " format");
    return std::nullopt;
  }
  std::string prefix = o.prefix;
  if (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  return registry::etcd::format_entry(format, prefix, r).key;
}

// A channel to `endpoint`, over TLS when the flags ask for it; nullptr when the TLS files cannot
// be read (printed).
std::shared_ptr<grpc::Channel> etcd_channel(const std::string& endpoint,
                                            const config::EtcdSpec& security) {
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  grpc::ChannelArguments args;
  if (security.tls.enabled) {
    std::string error;
    auto material = registry::etcd::read_tls_material(security.tls, error);
    if (!material) {
      std::fprintf(stderr, "grpc-registrar deregister: %s\n", with_flag_names(error).c_str());
      return nullptr;
    }
    creds = registry::etcd::make_tls_credentials(*material);
    if (!security.tls.server_name.empty()) args.SetSslTargetNameOverride(security.tls.server_name);
  }
  return grpc::CreateCustomChannel(endpoint, creds, args);
}

int deregister_etcd(const DeregisterOptions& o, config::Duration timeout) {
  const std::optional<std::string> maybe_key = etcd_key(o);
  if (!maybe_key) return kExitUsage;
  const std::string& key = *maybe_key;

  int security_error = kExitOk;
  const std::optional<config::EtcdSpec> maybe_security = etcd_security(security_error);
  if (!maybe_security) return security_error;
  const config::EtcdSpec& security = *maybe_security;

  std::string last_error;
  for (const std::string& endpoint_text : o.etcd) {
    std::string why;
    auto endpoint = config::normalize_etcd_endpoint(endpoint_text, why);
    if (!endpoint) return usage("--etcd: " + why);
    auto channel = etcd_channel(*endpoint, security);
    if (!channel) return kExitConfig;
    std::string token;
    if (!security.username.empty()) {
      std::string error;
      bool refused = false;
      auto t = etcd_token(channel, security, timeout, error, refused);
      if (!t && refused) {
        std::fprintf(stderr, "grpc-registrar deregister: %s; %s not deleted\n", error.c_str(),
                     key.c_str());
        return kExitConfig;
      }
      if (!t) {
        last_error = *endpoint + ": " +
                     registry::etcd::explain_connect_failure(error, *endpoint, security.tls);
        continue;
      }
      token = *t;
    }
    auto stub = etcdserverpb::KV::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(runtime::grpc_deadline_after(timeout));
    ctx.set_wait_for_ready(true);  // wait for the connection up to the deadline
    if (!token.empty()) ctx.AddMetadata("token", token);
    etcdserverpb::DeleteRangeRequest req;
    req.set_key(key);
    etcdserverpb::DeleteRangeResponse resp;
    const grpc::Status status = stub->DeleteRange(&ctx, req, &resp);
    if (status.ok()) {
      if (resp.deleted() > 0) {
        std::printf("deleted %s\n", key.c_str());
      } else {
        std::printf("%s was not registered (nothing to delete)\n", key.c_str());
      }
      return kExitOk;
    }
    last_error = *endpoint + ": " +
                 registry::etcd::explain_refusal(
                     security, grpc::Status(status.error_code(),
                                            registry::etcd::explain_connect_failure(
                                                status.error_message(), *endpoint, security.tls)))
                     .error_message();
  }
  std::fprintf(stderr, "grpc-registrar deregister: etcd unreachable (%s); %s not deleted\n",
               last_error.c_str(), key.c_str());
  return kExitUnavailable;
}

// The ACL token: --token-file, else $CONSUL_HTTP_TOKEN_FILE, else $CONSUL_HTTP_TOKEN; nullopt
// without one, or with `error` set when the file cannot be read.
std::optional<std::string> consul_token(const DeregisterOptions& o, std::string& error) {
  if (!o.token_file.empty()) return read_token_file(o.token_file, error);
  if (const char* f = std::getenv("CONSUL_HTTP_TOKEN_FILE"); f != nullptr && *f != '\0')
    return read_token_file(f, error);
  if (const char* t = std::getenv("CONSUL_HTTP_TOKEN"); t != nullptr && *t != '\0')
    return std::string(t);
  return std::nullopt;
}

// `text` as one URL path segment.
std::string percent_encoded(const std::string& text) {
  std::string encoded;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      encoded += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      encoded += buf;
    }
  }
  return encoded;
}

int deregister_consul(const DeregisterOptions& o, config::Duration timeout) {
  if (o.id.empty()) return usage("--id is required with --consul (the Consul service id)");
  std::string address = o.consul->empty() ? "" : *o.consul;
  if (address.empty()) {
    const char* env = std::getenv("CONSUL_HTTP_ADDR");
    address = env != nullptr && *env != '\0' ? env : "127.0.0.1:8500";
  }
  std::string why;
  config::AddressScheme scheme = config::AddressScheme::None;
  auto normalized = config::normalize_consul_address(address, why, &scheme);
  if (!normalized) return usage("--consul: " + why);
  // HTTPS: https://, or CONSUL_HTTP_SSL with no scheme; CONSUL_CACERT and the rest as in the
  // manifest (config/consul_tls_env.hpp).
  std::string tls_error;
  const config::TlsSpec tls =
      config::consul_tls_from_environment(scheme, config::process_env(), tls_error);
  if (!tls_error.empty()) return usage(tls_error);
  if (normalized->rfind("unix://", 0) == 0)
    return usage("--consul: unix sockets are not supported here");
  const auto colon = normalized->rfind(':');
  std::string host = normalized->substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const auto port = static_cast<std::uint16_t>(std::stoi(normalized->substr(colon + 1)));

  std::string error;
  const std::optional<std::string> token = consul_token(o, error);
  if (!error.empty()) {
    std::fprintf(stderr, "grpc-registrar deregister: %s\n", error.c_str());
    return kExitConfig;
  }
  status::HttpHeaders headers;
  if (token && !token->empty()) headers.emplace_back("X-Consul-Token", *token);

  const std::string encoded = percent_encoded(o.id);
  std::optional<status::HttpResult> r;
  if (tls.enabled) {  // the daemon's own HTTPS client: same verification, same error texts
    auto answer = registry::http::request_once(
        *normalized, tls, registry::consul::consul_tls_names(), timeout,
        registry::consul::agent_request(registry::consul::Method::Put,
                                        "/v1/agent/service/deregister/" + encoded, "",
                                        token ? *token : ""));
    if (answer.answered())
      r = status::HttpResult{answer.status, std::move(answer.body)};
    else
      error = answer.error_text;
  } else {
    r = status::http_request(host, port, "PUT", "/v1/agent/service/deregister/" + encoded, timeout,
                             error, headers);
  }
  if (!r) {
    std::fprintf(stderr, "grpc-registrar deregister: Consul agent unreachable: %s\n",
                 error.c_str());
    return kExitUnavailable;
  }
  if (r->status == 200) {
    std::printf("deregistered service %s\n", o.id.c_str());
    return kExitOk;
  }
  if (r->status == 404) {
    std::printf("service %s was not registered (nothing to deregister)\n", o.id.c_str());
    return kExitOk;
  }
  std::string body = trim(r->body);
  if (body.size() > 200) body.resize(200);
  std::fprintf(stderr, "grpc-registrar deregister: Consul answered %d: %s%s\n", r->status,
               body.c_str(),
               r->status == 403 ? " (the token needs service:write on this service)" : "");
  return kExitUnavailable;
}

}  // namespace

void add_deregister_options(CLI::App& cmd, DeregisterOptions& o) {
  auto* etcd =
      cmd.add_option("--etcd", o.etcd, "etcd endpoint host:port (repeatable, or comma-separated)")
          ->type_name("HOST:PORT")
          ->delimiter(',');
  auto* consul = cmd.add_option("--consul", o.consul,
                                "The Consul agent at URL (default $CONSUL_HTTP_ADDR, then "
                                "http://127.0.0.1:8500)")
                     ->type_name("[URL]")
                     ->expected(0, 1);
  auto* eureka = cmd.add_option("--eureka", o.eureka,
                                "The Eureka server at URL, e.g. http://eureka:8761/eureka "
                                "(repeatable, tried in order)")
                     ->type_name("URL")
                     ->delimiter(',');
  etcd->excludes(consul);
  consul->excludes(etcd);
  eureka->excludes(etcd);
  eureka->excludes(consul);
  cmd.add_option("--eureka-user", o.eureka_user,
                 "Eureka: HTTP basic auth user (password from $EUREKA_PASSWORD)");
  cmd.add_option("--name", o.name, "Service name (etcd; Eureka: the application)");
  cmd.add_option("--id", o.id,
                 "Instance id (etcd json format; Consul service id; Eureka instanceId)");
  cmd.add_option("--address", o.address, "Address (etcd; default id, gokit and grpc-go keys)");
  cmd.add_option("--port", o.port, "Port (etcd; default id, gokit and grpc-go keys)");
  cmd.add_option("--prefix", o.prefix, "etcd key prefix")->capture_default_str();
  cmd.add_option("--format", o.format, "etcd key format: json, gokit or grpc-go")
      ->check(CLI::IsMember({"json", "gokit", "grpc-go"}))
      ->capture_default_str();
  cmd.add_option("--token-file", o.token_file,
                 "File holding the Consul ACL token (else $CONSUL_HTTP_TOKEN_FILE, "
                 "$CONSUL_HTTP_TOKEN)")
      ->type_name("FILE");
  EtcdSecurityFlags& sec = etcd_security_flags();
  cmd.add_option("--etcd-ca-file", sec.ca_file, "etcd: TLS, trusting this CA bundle (PEM)")
      ->type_name("FILE");
  cmd.add_option("--etcd-cert-file", sec.cert_file, "etcd: TLS client certificate (PEM)")
      ->type_name("FILE");
  cmd.add_option("--etcd-key-file", sec.key_file, "etcd: its private key (PEM)")->type_name("FILE");
  cmd.add_option("--etcd-server-name", sec.server_name,
                 "etcd: TLS, the name the server certificate must carry");
  cmd.add_option("--etcd-user", sec.user,
                 "etcd: authenticate as this user (password from --etcd-password-file, else "
                 "$ETCDCTL_PASSWORD)");
  cmd.add_option("--etcd-password-file", sec.password_file, "etcd: file holding the password")
      ->type_name("FILE");
  cmd.add_option("--timeout", o.timeout, "Give up after this long")
      ->type_name("DURATION")
      ->capture_default_str();
}

int deregister(const DeregisterOptions& o) {
  // What the pieces shared with the daemon log (a world-readable token, password or key file)
  // goes to stderr, next to this command's own messages; stdout carries only the result.
  const auto previous_logger = spdlog::default_logger();
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_st>();
  sink->set_pattern("grpc-registrar deregister: %v");
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("deregister", sink));
  struct Restore {
    std::shared_ptr<spdlog::logger> logger;
    ~Restore() { spdlog::set_default_logger(logger); }
  } restore{previous_logger};
  std::string why;
  const auto timeout = flag_duration("--timeout", o.timeout, why);
  if (!timeout) return usage(why);
  if (o.etcd.empty() && !o.consul && o.eureka.empty())
    return usage("--etcd, --consul or --eureka is required");
  if (o.consul) return deregister_consul(o, *timeout);
  if (!o.eureka.empty()) return deregister_eureka(o, *timeout);
  if (o.name.empty()) return usage("--name is required with --etcd");
  if (!o.token_file.empty()) return usage("--token-file: only with --consul");
  return deregister_etcd(o, *timeout);
}

}  // namespace registrar::cli
