#include "support/eureka_double.hpp"

#include <signal.h>

#include <regex>
#include <stdexcept>

#include "support/paths.hpp"

namespace registrar::test {

EurekaDouble::EurekaDouble(EurekaDoubleOptions options, bool start_now)
    : options_(std::move(options)), dir_("registrar-eureka-double") {
  if (start_now) start();
}

EurekaDouble::~EurekaDouble() {
  if (process_) process_->kill9();
}

bool EurekaDouble::running() const {
  return process_ && process_->running();
}

void EurekaDouble::start(Millis timeout) {
  if (running()) return;
  const auto bin = eureka_double_bin();
  if (!bin)
    throw std::runtime_error("eureka-double binary is not available (REGISTRAR_EUREKA_DOUBLE)");
  std::vector<std::string> args{
      "--listen",
      "127.0.0.1:" + std::to_string(port_),  // port 0 the first time
      "--response-cache-update-interval",
      options_.cache_update_interval,
      "--eviction-interval",
      options_.eviction_interval,
      std::string("--self-preservation=") + (options_.self_preservation ? "true" : "false"),
  };
  ++generation_;
  process_ = std::make_unique<Process>(*bin, args, EnvVars{},
                                       "eureka-double#" + std::to_string(generation_));
  static const std::regex listening(R"(^listening on 127\.0\.0\.1:([0-9]+)$)");
  const auto line = process_->wait_for_line(Stream::Stdout, listening, timeout);
  if (!line) {
    const std::string err = process_->stderr_text();
    process_->kill9();
    throw std::runtime_error("eureka-double did not print 'listening on'; stderr: " + err);
  }
  port_ = static_cast<std::uint16_t>(std::stoul(line->groups.at(1)));
  http_ = std::make_unique<HttpClient>("127.0.0.1", port_, 10s);
}

ExitStatus EurekaDouble::stop(Millis timeout) {
  if (!process_) return {};
  process_->signal(SIGTERM);
  if (auto st = process_->wait_exit(timeout)) return *st;
  return process_->kill9();
}

void EurekaDouble::kill() {
  if (process_) process_->kill9();
}

nlohmann::json EurekaDouble::control(const std::string& method, const std::string& target) {
  const HttpResponse res = http_->request(method, target);
  if (res.status != 200) {
    throw std::runtime_error("eureka-double " + method + " " + target + ": " +
                             std::to_string(res.status) + " " + res.body);
  }
  return nlohmann::json::parse(res.body);
}

void EurekaDouble::restart_wiping_state() {
  control("POST", "/_double/restart");
}

void EurekaDouble::fail_next(int n, int status) {
  control("POST", "/_double/fail?count=" + std::to_string(n) + "&status=" + std::to_string(status));
}

void EurekaDouble::delay(int ms, int count) {
  std::string target = "/_double/delay?ms=" + std::to_string(ms);
  if (count >= 0) target += "&count=" + std::to_string(count);
  control("POST", target);
}

void EurekaDouble::evict_now() {
  control("POST", "/_double/evict");
}

nlohmann::json EurekaDouble::requests(std::uint64_t since) {
  return control("GET", "/_double/requests?since=" + std::to_string(since));
}

nlohmann::json EurekaDouble::state() {
  return control("GET", "/_double/state");
}

std::optional<nlohmann::json> EurekaDouble::instance(const std::string& app,
                                                     const std::string& id) {
  const HttpResponse res =
      http_->get("/eureka/apps/" + app + "/" + id, {{"Accept", "application/json"}});
  if (res.status == 404) return std::nullopt;
  if (res.status != 200)
    throw std::runtime_error("eureka-double GET instance: " + std::to_string(res.status));
  return nlohmann::json::parse(res.body).at("instance");
}

nlohmann::json EurekaDouble::applications() {
  const HttpResponse res = http_->get("/eureka/apps", {{"Accept", "application/json"}});
  if (res.status != 200)
    throw std::runtime_error("eureka-double GET /eureka/apps: " + std::to_string(res.status));
  return nlohmann::json::parse(res.body);
}

bool EurekaDouble::cancel(const std::string& app, const std::string& id) {
  return http_->request("DELETE", "/eureka/apps/" + app + "/" + id).status == 200;
}

HttpResponse EurekaDouble::post_instance(const std::string& app, const std::string& body) {
  return http_->request("POST", "/eureka/apps/" + app, body,
                        {{"Content-Type", "application/json"}, {"Accept", "application/json"}});
}

}  // namespace registrar::test
