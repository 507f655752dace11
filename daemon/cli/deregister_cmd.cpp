// `grpc-registrar deregister`: removes one registration by name, for clean-up after a daemon
// that is gone (or a `register` that was SIGKILLed). etcd: deletes the key the given format
// gives the instance; Consul: deregisters the service id from the local agent.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/flag_duration.hpp"
#include "cli/registry_flags.hpp"
#include "cli/registry_options.hpp"
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
  // Fail fast: a refused port is "Connection refused" at once, not a deadline after --timeout.
  ctx.set_wait_for_ready(false);
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

// The ownership record a `register` of this host wrote for instance `id`
// ("/grpc-registrar/owners/<host>:register/<id>", register_cmd.cpp): a SIGKILLed `register` left
// it on its lease; the clean-up removes it with the entry. Best effort: the lease expires anyway.
void delete_register_owner_record(etcdserverpb::KV::Stub& stub, const std::string& id,
                                  const std::string& token, config::Duration timeout) {
  if (id.empty()) return;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) return;
  const std::string key = "/grpc-registrar/owners/" + std::string(host) + ":register/" + id;
  grpc::ClientContext ctx;
  ctx.set_deadline(runtime::grpc_deadline_after(timeout));
  if (!token.empty()) ctx.AddMetadata("token", token);
  etcdserverpb::DeleteRangeRequest req;
  req.set_key(key);
  etcdserverpb::DeleteRangeResponse resp;
  if (stub.DeleteRange(&ctx, req, &resp).ok() && resp.deleted() > 0)
    std::printf("deleted %s\n", key.c_str());
}

// The key the flags give the instance, or nullopt after a usage error (printed).
std::optional<std::string> etcd_key(const DeregisterOptions& o, const config::EtcdSpec& spec) {
  const config::EtcdKeyFormat format = spec.format;
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
    usage("--address and --port are required for the " + std::string(config::to_string(format)) +
          " format");
    return std::nullopt;
  }
  return registry::etcd::format_entry(format, spec.prefix, r).key;
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

int deregister_etcd(const DeregisterOptions& o, const config::EtcdSpec& security,
                    config::Duration timeout) {
  if (o.name.empty()) return usage("--name is required with --etcd");
  const std::optional<std::string> maybe_key = etcd_key(o, security);
  if (!maybe_key) return kExitUsage;
  const std::string& key = *maybe_key;

  std::string last_error;
  for (const std::string& endpoint_text : security.endpoints) {
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
    // Fail fast: a refused port says "Connection refused" at once; a server that is slow to
    // answer still has until the deadline.
    ctx.set_wait_for_ready(false);
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
      delete_register_owner_record(*stub, o.id, token, timeout);
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

// The ACL token: --token-file, else $CONSUL_HTTP_TOKEN_FILE, else $CONSUL_HTTP_TOKEN (the
// manifest parser took them in that order); nullopt without one, or with `error` set when the
// file cannot be read.
std::optional<std::string> consul_token(const config::ConsulSpec& spec, std::string& error) {
  if (!spec.token_file.empty()) return read_token_file(spec.token_file, error);
  if (!spec.token.empty()) return spec.token;
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

int deregister_consul(const DeregisterOptions& o, const config::ConsulSpec& spec,
                      config::Duration timeout) {
  if (o.id.empty()) return usage("--id is required with --consul (the Consul service id)");
  const std::string* normalized = &spec.address;
  if (normalized->rfind("unix://", 0) == 0)
    return usage("--consul: unix sockets are not supported here");
  const config::TlsSpec& tls = spec.tls;
  const auto colon = normalized->rfind(':');
  std::string host = normalized->substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const auto port = static_cast<std::uint16_t>(std::stoi(normalized->substr(colon + 1)));

  std::string error;
  const std::optional<std::string> token = consul_token(spec, error);
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
  add_registry_flags(cmd, o.registry, RegistryFlagsFor::Deregister);
  cmd.add_option("--name", o.name,
                 "Service name (etcd, ZooKeeper, Nacos; Eureka: the application)");
  cmd.add_option("--id", o.id,
                 "Instance id (etcd json and ZooKeeper curator formats; Consul service id; Eureka "
                 "instanceId)");
  cmd.add_option("--address", o.address,
                 "Address (etcd, ZooKeeper: the default id and other formats' keys; Nacos)");
  cmd.add_option("--port", o.port,
                 "Port (etcd, ZooKeeper: the default id and other formats' keys; Nacos)");
  cmd.add_option("--timeout", o.timeout, "Give up after this long")
      ->type_name("DURATION")
      ->capture_default_str();
}

int deregister(const DeregisterOptions& o) {
  // What the pieces shared with the daemon log (a world-readable token, password or key file)
  // goes to stderr, next to this command's own messages; stdout carries only the result.
  const StderrLog log("grpc-registrar deregister");
  std::string why;
  const auto timeout = flag_duration("--timeout", o.timeout, why);
  if (!timeout) return usage(why);
  // The flags mean what the manifest's keys mean: the registry section goes through the
  // manifest parser, as for `register` (registry_options.hpp).
  const std::optional<config::RegistrySpec> spec = registry_from_flags(o.registry, why);
  if (!spec) return usage(why);
  switch (spec->kind) {
    case config::RegistryKind::Etcd:
      return deregister_etcd(o, spec->etcd, *timeout);
    case config::RegistryKind::Consul:
      return deregister_consul(o, spec->consul, *timeout);
    case config::RegistryKind::Eureka:
      return deregister_eureka(o, spec->eureka, *timeout);
    case config::RegistryKind::Nacos:
      return deregister_nacos(o, spec->nacos, *timeout);
    case config::RegistryKind::ZooKeeper:
      return deregister_zookeeper(o, spec->zookeeper, *timeout);
  }
  return kExitUsage;
}

}  // namespace registrar::cli
