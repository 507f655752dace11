// hello-service: the example gRPC server that grpc-registrar probes, and a small client for its
// HealthControl service (`hello-service set-status ...`, `hello-service set-hang ...`).
#include <grpcpp/grpcpp.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "health_service.hpp"
#include "hello.grpc.pb.h"
#include "hello_services.hpp"

namespace {

using hello_service::HealthService;

struct ServerOptions {
  std::string listen = "127.0.0.1:0";
  std::vector<std::string> services;
  int numbered_services = 0;  // --services N: N more names, <service_prefix>0 .. <prefix>N-1
  std::string service_prefix = "svc-";
  int extra_ports = 0;  // --extra-ports N: N more free ports on the --listen host, same services
  bool not_serving = false;
  bool no_watch = false;
  std::string tls_cert;       // serve TLS with this certificate (chain) ...
  std::string tls_key;        // ... and its key
  std::string tls_client_ca;  // mTLS: require a client certificate signed by this CA
};

struct ClientOptions {
  std::string target;
  double timeout_seconds = 5.0;
  std::string service;  // set-status
  bool serving = false;
  bool not_serving = false;
  bool on = false;  // set-hang
  bool off = false;
  std::string tls_ca;    // connect over TLS, trusting this CA
  std::string tls_cert;  // mTLS: the client certificate ...
  std::string tls_key;   // ... and its key
};

void SetUpLogging() {
  auto logger = spdlog::stderr_color_mt("hello-service");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l hello-service[%P]: %v");
  spdlog::set_default_logger(logger);
}

// The whole file, or nullopt (and a log line) when it cannot be read.
std::optional<std::string> ReadFile(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) {
    std::fprintf(stderr, "hello-service: %s %s: cannot read it (or it is empty)\n", flag,
                 path.c_str());
    return std::nullopt;
  }
  return text.str();
}

// Insecure, TLS, or TLS with client certificates required (GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_
// CERTIFICATE_AND_VERIFY); nullptr when a file cannot be read.
std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const ServerOptions& options) {
  if (options.tls_cert.empty()) return grpc::InsecureServerCredentials();
  const auto cert = ReadFile(options.tls_cert, "--tls-cert");
  const auto key = ReadFile(options.tls_key, "--tls-key");
  if (!cert || !key) return nullptr;
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  if (!options.tls_client_ca.empty()) {
    const auto ca = ReadFile(options.tls_client_ca, "--tls-client-ca");
    if (!ca) return nullptr;
    ssl.pem_root_certs = *ca;
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(const ClientOptions& options) {
  if (options.tls_ca.empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  const auto ca = ReadFile(options.tls_ca, "--tls-ca");
  if (!ca) return nullptr;
  ssl.pem_root_certs = *ca;
  if (!options.tls_cert.empty()) {
    const auto cert = ReadFile(options.tls_cert, "--tls-cert");
    const auto key = ReadFile(options.tls_key, "--tls-key");
    if (!cert || !key) return nullptr;
    ssl.pem_cert_chain = *cert;
    ssl.pem_private_key = *key;
  }
  return grpc::SslCredentials(ssl);
}

// "HOST:PORT" -> "HOST" ("[::1]:0" -> "[::1]").
std::string HostOf(const std::string& listen) {
  const auto colon = listen.rfind(':');
  return colon == std::string::npos ? listen : listen.substr(0, colon);
}

int RunServer(const ServerOptions& options) {
  // Block the signals we handle before gRPC starts any thread, so every thread inherits the mask
  // and they are delivered only to sigwait below: no work at all happens in a signal handler.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGUSR1, SIGUSR2, SIGTERM, SIGINT}) sigaddset(&signals, sig);
  if (int err = pthread_sigmask(SIG_BLOCK, &signals, nullptr); err != 0) {
    spdlog::error("pthread_sigmask failed: {}", err);
    return 1;
  }

  HealthService::Options health_options;
  health_options.names = options.services;
  for (int i = 0; i < options.numbered_services; ++i)
    health_options.names.push_back(options.service_prefix + std::to_string(i));
  health_options.names.emplace_back(hello::v1::Hello::service_full_name());
  health_options.names.emplace_back(hello::v1::Ping::service_full_name());
  health_options.serving = !options.not_serving;
  health_options.watch_enabled = !options.no_watch;

  // The services outlive the server (declared first, destroyed last).
  HealthService health(health_options);
  hello_service::HelloService hello;
  hello_service::PingService ping;
  hello_service::HealthControlService control(health);

  grpc::ServerBuilder builder;
  // Fail instead of silently sharing a port that another process already listens on.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  int port = 0;
  const auto credentials = ServerCredentials(options);
  if (!credentials) return 1;
  builder.AddListeningPort(options.listen, credentials, &port);
  // Many servers in one process, for benchmarks of distinct targets: every port serves the same
  // services (and the same health), each a separate listener the prober reaches on a channel of
  // its own.
  std::vector<int> extra_ports(static_cast<std::size_t>(options.extra_ports), 0);
  for (int& p : extra_ports)
    builder.AddListeningPort(HostOf(options.listen) + ":0", credentials, &p);
  builder.RegisterService(&health);
  builder.RegisterService(&hello);
  builder.RegisterService(&ping);
  builder.RegisterService(&control);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    spdlog::error("cannot listen on {}", options.listen);
    return 1;
  }
  spdlog::info("serving on {}:{} (initially {}{}{})", HostOf(options.listen), port,
               options.not_serving ? "NOT_SERVING" : "SERVING",
               options.no_watch ? ", Watch disabled" : "",
               options.tls_cert.empty()        ? ""
               : options.tls_client_ca.empty() ? ", TLS"
                                               : ", mTLS: client certificates required");
  if (!extra_ports.empty()) {
    std::string list;
    for (int p : extra_ports) {
      if (p == 0) {
        spdlog::error("cannot listen on {}:0 (--extra-ports)", HostOf(options.listen));
        return 1;
      }
      list += (list.empty() ? "" : ",") + std::to_string(p);
    }
    // Before "listening on", so that a reader waiting for that line has both.
    std::cout << "also listening on ports " << list << std::endl;
  }
  std::cout << "listening on " << HostOf(options.listen) << ':' << port << std::endl;

  // The signal-handling loop; it ends on SIGTERM or SIGINT.
  bool stop = false;
  while (!stop) {
    int sig = 0;
    if (int err = sigwait(&signals, &sig); err != 0) {
      spdlog::error("sigwait failed: {}", err);
      break;
    }
    switch (sig) {
      case SIGUSR1:
        spdlog::info("SIGUSR1: every name NOT_SERVING");
        health.SetAll(false);
        break;
      case SIGUSR2:
        spdlog::info("SIGUSR2: every name SERVING");
        health.SetAll(true);
        break;
      default:
        spdlog::info("{}: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
        stop = true;
        break;
    }
  }

  // Watchers see NOT_SERVING, held Checks are answered, Watch streams end; then the server
  // drains, and anything still running after 1 s is cancelled.
  health.SetAll(false);
  health.BeginShutdown();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server->Wait();
  spdlog::info("stopped");
  return 0;
}

// Runs one HealthControl call; 0 on success.
template <typename Call>
int RunClient(const ClientOptions& options, const char* what, Call&& call) {
  const auto credentials = ClientCredentials(options);
  if (!credentials) return 1;
  auto channel = grpc::CreateChannel(options.target, credentials);
  auto stub = hello::v1::HealthControl::NewStub(channel);
  grpc::ClientContext context;
  context.set_wait_for_ready(true);  // scripts may call right after starting the server
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(static_cast<long>(options.timeout_seconds * 1e3)));
  const grpc::Status status = call(*stub, context);
  if (!status.ok()) {
    std::fprintf(stderr, "hello-service %s: %s: error %d: %s\n", what, options.target.c_str(),
                 static_cast<int>(status.error_code()), status.error_message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Example gRPC service (hello.v1.Hello, hello.v1.Ping) with a controllable grpc.health.v1 "
      "health service.\nSIGUSR1: every name NOT_SERVING. SIGUSR2: every name SERVING. "
      "SIGTERM/SIGINT: NOT_SERVING, then graceful shutdown.",
      "hello-service"};
  app.require_subcommand(0, 1);

  ServerOptions server;
  app.add_option("--listen", server.listen, "Address to listen on, HOST:PORT (port 0: any free)")
      ->capture_default_str();
  app.add_option("--service", server.services, "Extra health-check name to register (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--services", server.numbered_services,
                 "Register N more health-check names, PREFIX0 .. PREFIX<N-1> (many services on "
                 "one port, for benchmarks)")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  app.add_option("--service-prefix", server.service_prefix, "PREFIX of the --services names")
      ->capture_default_str();
  app.add_option("--extra-ports", server.extra_ports,
                 "Listen on N more free ports of the --listen host, serving the same services "
                 "(many servers in one process, for benchmarks)")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
  app.add_flag("--not-serving", server.not_serving, "Every name starts NOT_SERVING");
  app.add_flag("--no-watch", server.no_watch, "Health.Watch answers UNIMPLEMENTED");
  auto* tls_cert = app.add_option("--tls-cert", server.tls_cert,
                                  "Serve TLS with this PEM certificate (chain); needs --tls-key")
                       ->type_name("FILE");
  auto* tls_key = app.add_option("--tls-key", server.tls_key, "PEM private key of --tls-cert")
                      ->type_name("FILE");
  tls_cert->needs(tls_key);
  tls_key->needs(tls_cert);
  app.add_option("--tls-client-ca", server.tls_client_ca,
                 "mTLS: require a client certificate signed by this PEM CA")
      ->type_name("FILE")
      ->needs(tls_cert);

  ClientOptions client;
  auto* set_status =
      app.add_subcommand("set-status", "Client: set one health-check name of a running server");
  set_status->add_option("--target", client.target, "Server address HOST:PORT")->required();
  set_status->add_option("--service", client.service, "Name to set (\"\" = whole server)")
      ->capture_default_str();
  set_status->add_option("--timeout", client.timeout_seconds, "Deadline in seconds")
      ->capture_default_str();
  auto add_client_tls = [&client](CLI::App* sub) {
    auto* ca = sub->add_option("--tls-ca", client.tls_ca,
                               "Connect over TLS, trusting this PEM CA (a server with --tls-cert)")
                   ->type_name("FILE");
    auto* cert = sub->add_option("--tls-cert", client.tls_cert,
                                 "mTLS: client certificate (a server with --tls-client-ca)")
                     ->type_name("FILE")
                     ->needs(ca);
    auto* key =
        sub->add_option("--tls-key", client.tls_key, "mTLS: key of --tls-cert")->type_name("FILE");
    cert->needs(key);
    key->needs(cert);
  };
  add_client_tls(set_status);
  auto* status_group = set_status->add_option_group("status", "New status");
  status_group->add_flag("--serving", client.serving, "Set SERVING");
  status_group->add_flag("--not-serving", client.not_serving, "Set NOT_SERVING");
  status_group->require_option(1);

  auto* set_hang =
      app.add_subcommand("set-hang", "Client: turn hang mode of a running server on or off");
  set_hang->add_option("--target", client.target, "Server address HOST:PORT")->required();
  set_hang->add_option("--timeout", client.timeout_seconds, "Deadline in seconds")
      ->capture_default_str();
  add_client_tls(set_hang);
  auto* hang_group = set_hang->add_option_group("mode", "Hang mode");
  hang_group->add_flag("--on", client.on, "Check and Watch stop answering");
  hang_group->add_flag("--off", client.off, "Check and Watch answer again");
  hang_group->require_option(1);

  CLI11_PARSE(app, argc, argv);

  if (set_status->parsed()) {
    return RunClient(client, "set-status", [&](auto& stub, grpc::ClientContext& context) {
      hello::v1::SetStatusRequest request;
      request.set_service(client.service);
      request.set_serving(client.serving);
      hello::v1::SetStatusReply reply;
      return stub.SetStatus(&context, request, &reply);
    });
  }
  if (set_hang->parsed()) {
    return RunClient(client, "set-hang", [&](auto& stub, grpc::ClientContext& context) {
      hello::v1::SetHangRequest request;
      request.set_hang(client.on);
      hello::v1::SetHangReply reply;
      return stub.SetHang(&context, request, &reply);
    });
  }
  SetUpLogging();
  return RunServer(server);
}
