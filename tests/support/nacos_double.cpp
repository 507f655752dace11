#include "support/nacos_double.hpp"

#include <regex>
#include <sstream>
#include <stdexcept>

#include "support/paths.hpp"

namespace registrar::test {

NacosDouble::NacosDouble(NacosDoubleOptions options)
    : options_(std::move(options)), dir_("registrar-nacos-double") {
  if (!options_.user.empty()) password_file_ = dir_.write_file("password", options_.password);
  start();
}

NacosDouble::~NacosDouble() {
  if (process_) process_->kill9();
}

bool NacosDouble::running() const {
  return process_ && process_->running();
}

void NacosDouble::start(Millis timeout) {
  if (running()) return;
  const auto bin = nacos_double_bin();
  if (!bin)
    throw std::runtime_error("nacos-double binary is not available (REGISTRAR_NACOS_DOUBLE)");
  std::ostringstream scale;
  scale << options_.time_scale;
  std::vector<std::string> args{"--listen", "127.0.0.1:" + std::to_string(port_), "--time-scale",
                                scale.str()};
  if (!options_.user.empty()) {
    args.insert(args.end(),
                {"--auth-user", options_.user, "--auth-password-file", password_file_.string(),
                 "--token-ttl", std::to_string(options_.token_ttl_s)});
  }
  ++generation_;
  process_ = std::make_unique<Process>(*bin, args, EnvVars{},
                                       "nacos-double#" + std::to_string(generation_));
  static const std::regex listening(R"(^listening on 127\.0\.0\.1:([0-9]+)$)");
  const auto line = process_->wait_for_line(Stream::Stdout, listening, timeout);
  if (!line) {
    const std::string err = process_->stderr_text();
    process_->kill9();
    throw std::runtime_error("nacos-double did not print 'listening on 127.0.0.1:PORT'; stderr: " +
                             err);
  }
  port_ = static_cast<std::uint16_t>(std::stoul(line->groups.at(1)));
  http_ = std::make_unique<HttpClient>("127.0.0.1", port_, 10s);
}

void NacosDouble::kill() {
  if (process_) process_->kill9();
}

nlohmann::json NacosDouble::control(const std::string& method, const std::string& target) {
  const HttpResponse res = http_->request(method, target);
  if (res.status != 200) {
    throw std::runtime_error("nacos-double " + method + " " + target + ": " +
                             std::to_string(res.status) + " " + res.body);
  }
  if (res.body.empty() || (res.body[0] != '{' && res.body[0] != '[')) return nlohmann::json();
  return nlohmann::json::parse(res.body);
}

void NacosDouble::restart_wiping_state() {
  control("POST", "/_double/restart");
}

void NacosDouble::fail_next(int n, int status) {
  control("POST", "/_double/fail?count=" + std::to_string(n) + "&status=" + std::to_string(status));
}

void NacosDouble::delay(int ms, int count) {
  std::string target = "/_double/delay?ms=" + std::to_string(ms);
  if (count >= 0) target += "&count=" + std::to_string(count);
  control("POST", target);
}

void NacosDouble::expire_tokens() {
  control("POST", "/_double/expire-tokens");
}

nlohmann::json NacosDouble::stats() {
  return control("GET", "/_double/stats");
}

nlohmann::json NacosDouble::requests(std::uint64_t since) {
  return control("GET", "/_double/requests?since=" + std::to_string(since));
}

nlohmann::json NacosDouble::instances() {
  return control("GET", "/_double/instances");
}

std::string NacosDouble::token() {
  if (options_.user.empty()) return "";
  const HttpResponse res = http_->post(
      "/nacos/v1/auth/login",
      "username=" + url_encode(options_.user) + "&password=" + url_encode(options_.password),
      {{"Content-Type", "application/x-www-form-urlencoded"}});
  if (res.status != 200) throw std::runtime_error("nacos-double login: " + res.body);
  return nlohmann::json::parse(res.body).at("accessToken").get<std::string>();
}

nlohmann::json NacosDouble::hosts(const std::string& service, bool healthy_only,
                                  const std::string& namespace_id, const std::string& group) {
  std::string target = "/nacos/v1/ns/instance/list?serviceName=" + url_encode(service) +
                       "&groupName=" + url_encode(group) +
                       "&namespaceId=" + url_encode(namespace_id) +
                       "&healthyOnly=" + (healthy_only ? "true" : "false");
  if (const std::string t = token(); !t.empty()) target += "&accessToken=" + url_encode(t);
  const HttpResponse res = http_->get(target);
  if (res.status != 200) {
    throw std::runtime_error("nacos-double GET " + target + ": " + std::to_string(res.status) +
                             " " + res.body);
  }
  return nlohmann::json::parse(res.body).at("hosts");
}

}  // namespace registrar::test
