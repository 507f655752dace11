#include "discovery/etcd_watch_stream.hpp"

#include <boost/asio/post.hpp>
#include <mutex>

namespace registrar::discovery::etcd {

// Between the executor side (WatchStream) and gRPC's threads (Reactor).
struct WatchStream::Shared {
  std::mutex mu;
  Reactor* reactor = nullptr;  // null once the stream is ending
  // Touched only on the executor:
  bool cancelled = false;
  boost::asio::any_io_executor executor;
  OnResponse on_response;
  OnClosed on_closed;
};

// As the lease keepalive stream (registry/etcd/etcd_client.cpp): the reactor holds the call open
// until its last read fails, and is destroyed on the executor, never on gRPC's thread, because
// its context holds a reference to the channel.
class WatchStream::Reactor final
    : public grpc::ClientBidiReactor<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse> {
 public:
  Reactor(std::shared_ptr<Shared> shared, const std::shared_ptr<grpc::Channel>& channel)
      : shared_(std::move(shared)), stub_(etcdserverpb::Watch::NewStub(channel)) {}

  grpc::ClientContext ctx;
  etcdserverpb::WatchRequest request;

  void begin() {
    stub_->async()->Watch(&ctx, this);
    AddHold();
    StartWrite(&request);
    StartRead(&response_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      {
        std::lock_guard lock(shared_->mu);
        shared_->reactor = nullptr;
      }
      RemoveHold();
      return;
    }
    boost::asio::post(shared_->executor, [shared = shared_, resp = response_] {
      if (!shared->cancelled) shared->on_response(resp);
    });
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    auto shared = shared_;
    boost::asio::post(shared->executor, [shared, status, self = std::unique_ptr<Reactor>(this)] {
      if (!shared->cancelled) shared->on_closed(status);
    });
  }

 private:
  std::shared_ptr<Shared> shared_;
  std::unique_ptr<etcdserverpb::Watch::Stub> stub_;
  etcdserverpb::WatchResponse response_;
};

std::unique_ptr<WatchStream> WatchStream::open(boost::asio::any_io_executor executor,
                                               const std::shared_ptr<grpc::Channel>& channel,
                                               const std::string& token,
                                               etcdserverpb::WatchCreateRequest create,
                                               OnResponse on_response, OnClosed on_closed) {
  std::unique_ptr<WatchStream> stream(new WatchStream());
  stream->shared_ = std::make_shared<Shared>();
  stream->shared_->executor = std::move(executor);
  stream->shared_->on_response = std::move(on_response);
  stream->shared_->on_closed = std::move(on_closed);
  auto* reactor = new Reactor(stream->shared_, channel);
  // No deadline: the stream lasts as long as the watch. The channel's HTTP/2 keepalive pings
  // (registry.etcd.keepalive_time) end it when the connection goes silent.
  if (!token.empty()) reactor->ctx.AddMetadata("token", token);
  *reactor->request.mutable_create_request() = std::move(create);
  {
    std::lock_guard lock(stream->shared_->mu);
    stream->shared_->reactor = reactor;
  }
  reactor->begin();
  return stream;
}

WatchStream::~WatchStream() {
  cancel();
}

void WatchStream::cancel() {
  if (!shared_) return;
  shared_->cancelled = true;
  std::lock_guard lock(shared_->mu);
  if (shared_->reactor != nullptr) shared_->reactor->ctx.TryCancel();
}

}  // namespace registrar::discovery::etcd
