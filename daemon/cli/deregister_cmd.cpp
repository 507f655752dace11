// `grpc-registrar deregister`: removes one registration by name, for clean-up after a daemon
// that is gone (or a `register` that was SIGKILLed). etcd: deletes the key the given format
// gives the instance; Consul: deregisters the service id from the local agent.
#include <grpcpp/grpcpp.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "config/address.hpp"
#include "config/duration.hpp"
#include "config/effective.hpp"
#include "config/enums.hpp"
#include "etcd_rpc.grpc.pb.h"
#include "registry/etcd/key_format.hpp"
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

std::optional<std::string> read_token_file(const std::string& path, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot read token file " + path;
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return trim(ss.str());
}

int deregister_etcd(const DeregisterOptions& o, config::Duration timeout) {
  config::EtcdKeyFormat format = config::EtcdKeyFormat::Json;
  if (auto f = config::enum_value(config::kEtcdKeyFormatNames, o.format)) format = *f;
  registry::Registration r;
  r.name = o.name;
  r.address = o.address;
  r.port = static_cast<std::uint16_t>(o.port);
  r.id = o.id;
  if (format == config::EtcdKeyFormat::Json && r.id.empty()) {
    if (o.address.empty() || o.port == 0)
      return usage("give --id, or --address and --port (json format keys use the id)");
    r.id = config::default_service_id(r.name, r.address, r.port);
  }
  if (format != config::EtcdKeyFormat::Json && (o.address.empty() || o.port == 0))
    return usage("--address and --port are required for the " + o.format + " format");
  std::string prefix = o.prefix;
  if (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  const std::string key = registry::etcd::format_entry(format, prefix, r).key;

  std::string last_error;
  for (const std::string& endpoint_text : o.etcd) {
    std::string why;
    auto endpoint = config::normalize_etcd_endpoint(endpoint_text, why);
    if (!endpoint) return usage("--etcd: " + why);
    auto channel = grpc::CreateChannel(*endpoint, grpc::InsecureChannelCredentials());
    auto stub = etcdserverpb::KV::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    ctx.set_wait_for_ready(true);  // wait for the connection up to the deadline
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
    last_error = *endpoint + ": " + status.error_message();
  }
  std::fprintf(stderr, "grpc-registrar deregister: etcd unreachable (%s); %s not deleted\n",
               last_error.c_str(), key.c_str());
  return kExitUnavailable;
}

int deregister_consul(const DeregisterOptions& o, config::Duration timeout) {
  if (o.id.empty()) return usage("--id is required with --consul (the Consul service id)");
  std::string address = o.consul->empty() ? "" : *o.consul;
  if (address.empty()) {
    const char* env = std::getenv("CONSUL_HTTP_ADDR");
    address = env != nullptr && *env != '\0' ? env : "127.0.0.1:8500";
  }
  std::string why;
  auto normalized = config::normalize_consul_address(address, why);
  if (!normalized) return usage("--consul: " + why);
  if (normalized->rfind("unix://", 0) == 0)
    return usage("--consul: unix sockets are not supported here");
  const auto colon = normalized->rfind(':');
  std::string host = normalized->substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const auto port = static_cast<std::uint16_t>(std::stoi(normalized->substr(colon + 1)));

  status::HttpHeaders headers;
  std::string error;
  std::optional<std::string> token;
  if (!o.token_file.empty()) {
    token = read_token_file(o.token_file, error);
  } else if (const char* f = std::getenv("CONSUL_HTTP_TOKEN_FILE"); f != nullptr && *f != '\0') {
    token = read_token_file(f, error);
  } else if (const char* t = std::getenv("CONSUL_HTTP_TOKEN"); t != nullptr && *t != '\0') {
    token = t;
  }
  if (!error.empty()) {
    std::fprintf(stderr, "grpc-registrar deregister: %s\n", error.c_str());
    return kExitConfig;
  }
  if (token && !token->empty()) headers.emplace_back("X-Consul-Token", *token);

  std::string encoded;
  for (unsigned char c : o.id) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      encoded += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      encoded += buf;
    }
  }
  auto r = status::http_request(host, port, "PUT", "/v1/agent/service/deregister/" + encoded,
                                timeout, error, headers);
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
  etcd->excludes(consul);
  consul->excludes(etcd);
  cmd.add_option("--name", o.name, "Service name (etcd)");
  cmd.add_option("--id", o.id, "Instance id (etcd json format; Consul service id)");
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
  cmd.add_option("--timeout", o.timeout, "Give up after this long")
      ->type_name("DURATION")
      ->capture_default_str();
}

int deregister(const DeregisterOptions& o) {
  std::string why;
  auto timeout = config::parse_duration(o.timeout, why);
  if (!timeout || timeout->count() == 0)
    return usage("--timeout: invalid duration \"" + o.timeout + "\"" +
                 (why.empty() ? "" : ": " + why));
  if (o.etcd.empty() && !o.consul) return usage("--etcd or --consul is required");
  if (o.consul) return deregister_consul(o, *timeout);
  if (o.name.empty()) return usage("--name is required with --etcd");
  if (!o.token_file.empty()) return usage("--token-file: only with --consul");
  return deregister_etcd(o, *timeout);
}

}  // namespace registrar::cli
