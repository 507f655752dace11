// The Eureka REST API as the backend speaks it: what an instance's registration says (a pure
// function of a Registration), the status a probe verdict maps to, the request targets under a
// server's base path, and the basic-auth header.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "registry/registration.hpp"

namespace registrar::registry::eureka {

// The application a service is an instance of: its name upper-cased (Eureka upper-cases them).
std::string app_name(std::string_view service_name);
// vipAddress and secureVipAddress: the name lower-cased, what Spring's
// DiscoveryClient.getInstances(name) matches.
std::string vip_address(std::string_view service_name);

// Eureka's InstanceStatus for a probe verdict: passing and warning are UP (still serving),
// critical is DOWN. OUT_OF_SERVICE is the backend's own, for an instance on its way out.
const char* eureka_status(Health h);
inline constexpr const char* kOutOfService = "OUT_OF_SERVICE";

struct LeaseSettings {
  std::chrono::milliseconds renewal_interval{30000};
  std::chrono::milliseconds lease_duration{90000};
};

// The JSON body of POST {base}/apps/{APP}: {"instance": {...}} with instanceId, hostName, app,
// ipAddr, vipAddress, secureVipAddress, status, port, securePort (disabled), dataCenterInfo
// (MyOwn), leaseInfo and metadata (the service's meta plus gRPC_port). `status`: as sent.
std::string registration_body(const Registration& reg, const char* status,
                              const LeaseSettings& lease);

// Percent-encodes everything but RFC 3986's unreserved characters, for one path segment.
std::string escape_segment(std::string_view s);
// {base}/apps/{APP}
std::string app_target(const std::string& base, const std::string& name);
// {base}/apps/{APP}/{ID}: heartbeat (PUT) and cancel (DELETE).
std::string instance_target(const std::string& base, const std::string& name,
                            const std::string& id);
// {base}/apps/{APP}/{ID}/status?value=S
std::string status_target(const std::string& base, const std::string& name, const std::string& id,
                          std::string_view status);

// "Basic base64(user:password)".
std::string basic_authorization(const std::string& user, const std::string& password);

}  // namespace registrar::registry::eureka
