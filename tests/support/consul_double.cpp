#include "support/consul_double.hpp"

#include <signal.h>

#include <regex>
#include <sstream>
#include <stdexcept>

#include "support/certs.hpp"
#include "support/paths.hpp"

namespace registrar::test {

ConsulDoubleOptions https_options(const TestPki& pki, bool verify_incoming,
                                  ConsulDoubleOptions base) {
  base.tls_cert = pki.server().cert;
  base.tls_key = pki.server().key;
  base.tls_ca = verify_incoming ? pki.ca() : std::filesystem::path();
  base.client_tls = HttpTls{};
  base.client_tls.ca = pki.ca();
  if (verify_incoming) {
    base.client_tls.cert = pki.client().cert;
    base.client_tls.key = pki.client().key;
  }
  return base;
}

ConsulDouble::ConsulDouble(ConsulDoubleOptions options, bool start_now)
    : options_(std::move(options)), dir_("registrar-consul-double") {
  if (!options_.token.empty()) token_file_ = dir_.write_file("acl-token", options_.token + "\n");
  if (start_now) start();
}

ConsulDouble::~ConsulDouble() {
  if (process_) process_->kill9();
}

bool ConsulDouble::running() const {
  return process_ && process_->running();
}

void ConsulDouble::start(Millis timeout) {
  if (running()) return;
  const auto bin = consul_double_bin();
  if (!bin) {
    throw std::runtime_error("consul-double binary is not available (REGISTRAR_CONSUL_DOUBLE)");
  }
  std::ostringstream scale;
  scale << options_.time_scale;
  std::vector<std::string> args{
      "--listen",     "127.0.0.1:" + std::to_string(port_),  // port 0 the first time
      "--time-scale", scale.str(),
      "--node",       options_.node,
      "--datacenter", options_.datacenter,
  };
  if (!token_file_.empty()) args.insert(args.end(), {"--acl-token-file", token_file_.string()});
  if (options_.legacy_agent) args.push_back("--legacy-agent");
  if (options_.https()) {
    args.insert(args.end(),
                {"--tls-cert", options_.tls_cert.string(), "--tls-key", options_.tls_key.string()});
    if (!options_.tls_ca.empty()) args.insert(args.end(), {"--tls-ca", options_.tls_ca.string()});
  }
  ++generation_;
  process_ = std::make_unique<Process>(*bin, args, EnvVars{},
                                       "consul-double#" + std::to_string(generation_));
  static const std::regex listening(R"(^listening on 127\.0\.0\.1:([0-9]+)$)");
  const auto line = process_->wait_for_line(Stream::Stdout, listening, timeout);
  if (!line) {
    const std::string state =
        process_->running() ? "still running" : process_->exit_status()->describe();
    const std::string err = process_->stderr_text();
    process_->kill9();
    throw std::runtime_error("consul-double did not print 'listening on 127.0.0.1:PORT' (" + state +
                             "); stderr: " + err);
  }
  port_ = static_cast<std::uint16_t>(std::stoul(line->groups.at(1)));
  if (options_.https())
    http_ = std::make_unique<HttpClient>("127.0.0.1", port_, 10s, false, options_.client_tls);
  else
    http_ = std::make_unique<HttpClient>("127.0.0.1", port_, 10s);
}

ExitStatus ConsulDouble::stop(Millis timeout) {
  if (!process_) return {};
  process_->signal(SIGTERM);
  if (auto st = process_->wait_exit(timeout)) return *st;
  return process_->kill9();
}

void ConsulDouble::kill() {
  if (process_) process_->kill9();
}

HttpHeaders ConsulDouble::auth_headers() const {
  if (options_.token.empty()) return {};
  return {{"X-Consul-Token", options_.token}};
}

nlohmann::json ConsulDouble::control(const std::string& method, const std::string& target) {
  const HttpResponse res = http_->request(method, target);
  if (res.status != 200) {
    throw std::runtime_error("consul-double " + method + " " + target + ": " +
                             std::to_string(res.status) + " " + res.body);
  }
  return nlohmann::json::parse(res.body);
}

nlohmann::json ConsulDouble::read_json(const std::string& target) {
  const HttpResponse res = http_->get(target, auth_headers());
  if (res.status != 200) {
    throw std::runtime_error("consul-double GET " + target + ": " + std::to_string(res.status) +
                             " " + res.body);
  }
  return nlohmann::json::parse(res.body);
}

void ConsulDouble::restart_wiping_state() {
  control("POST", "/_double/restart");
}

void ConsulDouble::restore_resetting_index() {
  control("POST", "/_double/restore");
}

void ConsulDouble::fail_next(int n, int status) {
  control("POST", "/_double/fail?count=" + std::to_string(n) + "&status=" + std::to_string(status));
}

void ConsulDouble::delay(int ms, int count) {
  std::string target = "/_double/delay?ms=" + std::to_string(ms);
  if (count >= 0) target += "&count=" + std::to_string(count);
  control("POST", target);
}

void ConsulDouble::close_next(int n) {
  control("POST", "/_double/close?count=" + std::to_string(n));
}

nlohmann::json ConsulDouble::requests(std::uint64_t since) {
  return control("GET", "/_double/requests?since=" + std::to_string(since));
}

void ConsulDouble::clear_requests() {
  control("POST", "/_double/requests/clear");
}

std::uint64_t ConsulDouble::index() {
  return control("GET", "/_double/state").at("index").get<std::uint64_t>();
}

nlohmann::json ConsulDouble::agent_services() {
  return read_json("/v1/agent/services");
}

nlohmann::json ConsulDouble::agent_checks() {
  return read_json("/v1/agent/checks");
}

nlohmann::json ConsulDouble::health_service(const std::string& name, bool passing,
                                            const std::string& tag) {
  std::string target = "/v1/health/service/" + url_encode(name);
  std::string sep = "?";
  if (passing) {
    target += sep + "passing=1";
    sep = "&";
  }
  if (!tag.empty()) target += sep + "tag=" + url_encode(tag);
  return read_json(target);
}

}  // namespace registrar::test
