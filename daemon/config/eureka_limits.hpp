// What the manifest and the Eureka backend agree on about Eureka, in one dependency-free place:
// the metadata key grpc-spring clients read the gRPC port from, and the default server URL.
#pragma once

#include <string_view>

namespace registrar::config {

// grpc-spring-boot-starter's discovery reads an instance's gRPC port from this metadata key; the
// backend sets it to the service's port, so the manifest may not.
inline constexpr std::string_view kEurekaGrpcPortKey = "gRPC_port";
// Spring Cloud Netflix's default service URL (eureka.client.serviceUrl.defaultZone).
inline constexpr std::string_view kEurekaDefaultUrl = "http://127.0.0.1:8761/eureka";
// The variable the basic-auth password is read from when there is no password_file.
inline constexpr std::string_view kEurekaPasswordVariable = "EUREKA_PASSWORD";

}  // namespace registrar::config
