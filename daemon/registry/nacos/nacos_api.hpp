// The Nacos naming v1 Open API as the backend speaks it: pure functions from a Registration and
// the manifest's registry.nacos to requests (form-encoded, as Nacos's own Java client sends them:
// parameters in the query, the beat JSON in a form body), and the parsing of the answers.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "config/manifest.hpp"
#include "registry/http/transport.hpp"
#include "registry/registration.hpp"

namespace registrar::registry::nacos {

using http::HttpRequest;

// The metadata key grpc-spring clients read the gRPC port from.
inline constexpr const char* kGrpcPortKey = "gRPC_port";
// Nacos's answer codes to a beat (NamingResponseCode / ResponseCode).
inline constexpr int kCodeOk = 10200;
inline constexpr int kCodeResourceNotFound = 20404;
// What Nacos answers as clientBeatInterval unless told otherwise, and its heart-beat timeout.
inline constexpr std::chrono::milliseconds kDefaultBeatInterval{5000};
inline constexpr std::chrono::milliseconds kHeartBeatTimeout{15000};

// application/x-www-form-urlencoded escaping (RFC 3986 unreserved characters kept).
std::string form_escape(const std::string& s);

// The instance's metadata as Nacos stores it: the service's meta plus gRPC_port (unless the meta
// sets it). A JSON object of strings.
std::string metadata_json(const Registration& reg);

// POST /nacos/v1/ns/instance: ephemeral, healthy and enabled.
HttpRequest register_request(const config::NacosSpec& spec, const Registration& reg,
                             const std::string& token);
// DELETE /nacos/v1/ns/instance.
HttpRequest deregister_request(const config::NacosSpec& spec, const Registration& reg,
                               const std::string& token);
// PUT /nacos/v1/ns/instance/beat with the full beat JSON, so that a server that lost the instance
// registers it again from the beat.
HttpRequest beat_request(const config::NacosSpec& spec, const Registration& reg,
                         std::chrono::milliseconds period, const std::string& token);
// POST /nacos/v1/auth/login. The body holds the password: never logged.
HttpRequest login_request(const std::string& username, const std::string& password);

struct BeatAnswer {
  int code = kCodeOk;
  std::chrono::milliseconds interval = kDefaultBeatInterval;
};
// nullopt when the body is not the JSON object a beat answers (`why` says what is wrong).
std::optional<BeatAnswer> parse_beat_answer(const std::string& body, std::string& why);

struct LoginAnswer {
  std::string token;
  std::chrono::seconds ttl{18000};
};
std::optional<LoginAnswer> parse_login_answer(const std::string& body, std::string& why);

// The part of a registration that names the instance in Nacos (service, ip, port): a change of
// it means the old instance must be deregistered, not replaced.
bool same_instance(const Registration& a, const Registration& b);

}  // namespace registrar::registry::nacos
