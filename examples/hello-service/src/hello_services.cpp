#include "hello_services.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace hello_service {

grpc::ServerUnaryReactor* HelloService::SayHello(grpc::CallbackServerContext* context,
                                                 const hello::v1::HelloRequest* request,
                                                 hello::v1::HelloReply* reply) {
  const std::string& name = request->name();
  reply->set_message("Hello, " + (name.empty() ? std::string("world") : name) + "!");
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* PingService::Ping(grpc::CallbackServerContext* context,
                                            const hello::v1::PingRequest* /*request*/,
                                            hello::v1::PingReply* reply) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  reply->set_message("pong");
  reply->set_unix_nanos(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* HealthControlService::SetStatus(
    grpc::CallbackServerContext* context, const hello::v1::SetStatusRequest* request,
    hello::v1::SetStatusReply* /*reply*/) {
  spdlog::debug("control: SetStatus(\"{}\", {})", request->service(), request->serving());
  health_.SetStatus(request->service(), request->serving());
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* HealthControlService::SetHang(grpc::CallbackServerContext* context,
                                                        const hello::v1::SetHangRequest* request,
                                                        hello::v1::SetHangReply* /*reply*/) {
  spdlog::debug("control: SetHang({})", request->hang());
  health_.SetHang(request->hang());
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace hello_service
