// The Eureka REST API's bodies and targets.
#include "registry/eureka/eureka_api.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "config/eureka_limits.hpp"

namespace registrar::registry::eureka {

std::string app_name(std::string_view service_name) {
  std::string out(service_name);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

std::string vip_address(std::string_view service_name) {
  std::string out(service_name);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

const char* eureka_status(Health h) {
  return h == Health::Critical ? "DOWN" : "UP";
}

std::string registration_body(const Registration& reg, const char* status,
                              const LeaseSettings& lease) {
  using nlohmann::json;
  json metadata = json::object();
  for (const auto& [k, v] : reg.meta) metadata[k] = v;
  metadata[std::string(config::kEurekaGrpcPortKey)] = std::to_string(reg.port);
  const auto secs = [](std::chrono::milliseconds d) {
    return std::max<long long>(1, std::chrono::duration_cast<std::chrono::seconds>(d).count());
  };
  json instance = {
      {"instanceId", reg.id},
      {"hostName", reg.address},
      {"app", app_name(reg.name)},
      {"ipAddr", reg.address},
      {"vipAddress", vip_address(reg.name)},
      {"secureVipAddress", vip_address(reg.name)},
      {"status", status},
      {"port", {{"$", reg.port}, {"@enabled", "true"}}},
      {"securePort", {{"$", 443}, {"@enabled", "false"}}},
      {"dataCenterInfo",
       {{"@class", "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"}, {"name", "MyOwn"}}},
      {"leaseInfo",
       {{"renewalIntervalInSecs", secs(lease.renewal_interval)},
        {"durationInSecs", secs(lease.lease_duration)}}},
      {"metadata", metadata},
  };
  return json{{"instance", instance}}.dump();
}

std::string escape_segment(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string app_target(const std::string& base, const std::string& name) {
  return base + "/apps/" + escape_segment(app_name(name));
}

std::string instance_target(const std::string& base, const std::string& name,
                            const std::string& id) {
  return app_target(base, name) + "/" + escape_segment(id);
}

std::string status_target(const std::string& base, const std::string& name, const std::string& id,
                          std::string_view status) {
  return instance_target(base, name, id) + "/status?value=" + std::string(status);
}

std::string basic_authorization(const std::string& user, const std::string& password) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = user + ":" + password;
  std::string out = "Basic ";
  for (std::size_t i = 0; i < in.size(); i += 3) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

}  // namespace registrar::registry::eureka
