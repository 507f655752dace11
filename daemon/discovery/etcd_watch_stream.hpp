// One etcd Watch stream (a bidi gRPC stream with one create request) on a channel of the
// daemon's etcd client (EtcdClient::stream_target), for the etcd reader.
#pragma once

#include <grpcpp/grpcpp.h>

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <string>

#include "etcd_rpc.grpc.pb.h"

namespace registrar::discovery::etcd {

class WatchStream {
 public:
  using OnResponse = std::function<void(const etcdserverpb::WatchResponse&)>;
  using OnClosed = std::function<void(const grpc::Status&)>;

  // Opens the stream and sends `create`. Both callbacks run on `executor`, none after cancel();
  // `on_closed` once, when the stream ends (etcd gone, cancelled, token refused).
  static std::unique_ptr<WatchStream> open(boost::asio::any_io_executor executor,
                                           const std::shared_ptr<grpc::Channel>& channel,
                                           const std::string& token,
                                           etcdserverpb::WatchCreateRequest create,
                                           OnResponse on_response, OnClosed on_closed);
  ~WatchStream();
  WatchStream(const WatchStream&) = delete;
  WatchStream& operator=(const WatchStream&) = delete;

  void cancel();

  class Reactor;
  struct Shared;

 private:
  WatchStream() = default;
  std::shared_ptr<Shared> shared_;
};

}  // namespace registrar::discovery::etcd
