// hello.v1.Hello, hello.v1.Ping and hello.v1.HealthControl, on the gRPC callback API.
#pragma once

#include "health_service.hpp"
#include "hello.grpc.pb.h"

namespace hello_service {

class HelloService final : public hello::v1::Hello::CallbackService {
 public:
  grpc::ServerUnaryReactor* SayHello(grpc::CallbackServerContext* context,
                                     const hello::v1::HelloRequest* request,
                                     hello::v1::HelloReply* reply) override;
};

class PingService final : public hello::v1::Ping::CallbackService {
 public:
  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* context,
                                 const hello::v1::PingRequest* request,
                                 hello::v1::PingReply* reply) override;
};

// Runtime control of the health service, for tests, scripts and the demo.
class HealthControlService final : public hello::v1::HealthControl::CallbackService {
 public:
  explicit HealthControlService(HealthService& health) : health_(health) {}

  grpc::ServerUnaryReactor* SetStatus(grpc::CallbackServerContext* context,
                                      const hello::v1::SetStatusRequest* request,
                                      hello::v1::SetStatusReply* reply) override;
  grpc::ServerUnaryReactor* SetHang(grpc::CallbackServerContext* context,
                                    const hello::v1::SetHangRequest* request,
                                    hello::v1::SetHangReply* reply) override;

 private:
  HealthService& health_;
};

}  // namespace hello_service
