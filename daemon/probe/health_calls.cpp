#include "probe/health_calls.hpp"

#include <boost/asio/post.hpp>
#include <utility>

#include "probe/tsan_handoff.hpp"
#include "runtime/grpc_deadline.hpp"

namespace registrar::probe {

namespace asio = boost::asio;

void WatchCall::start(grpc::health::v1::Health::Stub& stub, const std::string& service) {
  self_ = shared_from_this();
  request_.set_service(service);
  stub.async()->Watch(&context_, &request_, this);
  StartRead(&response_);
  handoff_release(this);
  StartCall();
}

void WatchCall::OnReadDone(bool ok) {
  handoff_acquire(this);
  if (!ok) return;  // the stream is over; OnDone follows
  const HealthCallSink::ServingStatus status = response_.status();
  const asio::any_io_executor work = work_;
  asio::post(work, [sink = sink_, call = shared_from_this(), status] {
    sink->on_watch_message(call.get(), status);
  });
  handoff_release(this);
  StartRead(&response_);
}

void WatchCall::OnDone(const grpc::Status& status) {
  handoff_acquire(this);
  // Hand our last references to the executor; `this` may be destroyed there at any moment after
  // post(), so touch no member afterwards.
  const asio::any_io_executor work = work_;
  asio::post(work, [sink = std::move(sink_), call = std::move(self_), status] {
    sink->on_watch_done(call.get(), status);
  });
}

void CheckCall::start(grpc::health::v1::Health::Stub& stub, const std::string& service,
                      std::chrono::milliseconds timeout) {
  self_ = shared_from_this();
  request_.set_service(service);
  context_.set_deadline(runtime::grpc_deadline_after(timeout));  // monotonic
  stub.async()->Check(&context_, &request_, &response_, this);
  handoff_release(this);
  StartCall();
}

void CheckCall::OnDone(const grpc::Status& status) {
  handoff_acquire(this);
  const HealthCallSink::ServingStatus serving = response_.status();
  const asio::any_io_executor work = work_;  // as in WatchCall::OnDone
  asio::post(work, [sink = std::move(sink_), call = std::move(self_), status, serving] {
    sink->on_check_done(call.get(), status, serving);
  });
}

}  // namespace registrar::probe
