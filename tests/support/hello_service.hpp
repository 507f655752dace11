// HelloService: the example gRPC service (examples/hello-service) on 127.0.0.1, port chosen by
// the kernel and parsed from its "listening on 127.0.0.1:PORT" line.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace registrar::test {

struct HelloServiceOptions {
  std::vector<std::string> services;  // extra health names (--service NAME); "" always exists
  bool not_serving = false;           // --not-serving: start NOT_SERVING
  bool no_watch = false;              // --no-watch: Health.Watch unimplemented
  // TLS: serve with this certificate and key (--tls-cert/--tls-key); with tls_client_ca too, mTLS
  // (--tls-client-ca: client certificates signed by it required). The control client
  // (set_status, set_hang) then trusts control_ca and, under mTLS, presents control_cert/key.
  // (The `{}` keep brace-initialised options such as {{}, true} free of
  // -Wmissing-field-initializers.)
  std::string tls_cert{};
  std::string tls_key{};
  std::string tls_client_ca{};
  std::string control_ca{};
  std::string control_cert{};
  std::string control_key{};
};

class HelloService {
 public:
  // Throws if the binary is unknown or it does not report its port within `timeout`.
  explicit HelloService(HelloServiceOptions options = {}, Millis timeout = 10s);

  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1"; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }

  // Every health name at once, by signal (SIGUSR2 = SERVING, SIGUSR1 = NOT_SERVING).
  // Asynchronous: the service applies it shortly after.
  void set_serving(bool serving);
  // One health name, by the client mode; returns once the service acknowledged. Throws on
  // failure.
  void set_status(const std::string& service, bool serving);
  // Make Check/Watch calls hang (--on) or answer again (--off). Throws on failure.
  void set_hang(bool on);
  // SIGTERM and wait for the exit.
  ExitStatus terminate(Millis timeout = 10s);

  Process& process() { return *process_; }

 private:
  void client(const std::vector<std::string>& args);

  std::string bin_;
  HelloServiceOptions options_;
  std::unique_ptr<Process> process_;
  std::uint16_t port_ = 0;
};

}  // namespace registrar::test
