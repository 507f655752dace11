// Asynchronous access to etcd's KV and Lease services over one gRPC channel, with fail-over
// between endpoints. Every completion is delivered on the given executor, which must run on
// one thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "etcd_rpc.grpc.pb.h"

namespace registrar::registry::etcd {

class KeepAliveStream;

namespace detail {
struct CallBase {
  grpc::ClientContext ctx;
  virtual ~CallBase() = default;
};
struct Connection;
}  // namespace detail

class EtcdClient {
 public:
  template <class Resp>
  using Done = std::function<void(const grpc::Status&, Resp&&)>;

  EtcdClient(boost::asio::any_io_executor executor, std::vector<std::string> endpoints,
             std::chrono::milliseconds dial_timeout);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  void txn(etcdserverpb::TxnRequest req, Done<etcdserverpb::TxnResponse> done);
  void lease_grant(std::int64_t ttl_seconds, Done<etcdserverpb::LeaseGrantResponse> done);
  void lease_revoke(std::int64_t id, Done<etcdserverpb::LeaseRevokeResponse> done);

  // Opens a LeaseKeepAlive stream on the current endpoint.
  std::shared_ptr<KeepAliveStream> open_keepalive(
      std::function<void(const etcdserverpb::LeaseKeepAliveResponse&)> on_response,
      std::function<void(const grpc::Status&)> on_closed);

  // The endpoint calls go to now. A call or stream that fails with UNAVAILABLE or a deadline
  // moves the client to the next endpoint, unless another failure already did.
  const std::string& endpoint() const;

  // Cancels every call in flight; their completions still arrive (with CANCELLED).
  void cancel_all();

 private:
  template <class Req, class Resp, class Start>
  void unary(Req req, Done<Resp> done, Start start);

  boost::asio::any_io_executor executor_;
  std::shared_ptr<detail::Connection> connection_;
  // Live calls, so that cancel_all() can reach them; entries expire as calls complete.
  std::vector<std::weak_ptr<detail::CallBase>> calls_;
};

// One LeaseKeepAlive bidi stream. Writes are serialised: send() refuses while a write is pending.
class KeepAliveStream {
 public:
  ~KeepAliveStream();
  // Sends a keepalive for `lease_id`; false if the stream is closing or a write is pending.
  bool send(std::int64_t lease_id);
  // Ends the stream; no callback runs after cancel() returns (both run on the executor).
  void cancel();
  bool open() const;

 private:
  friend class EtcdClient;
  class Reactor;
  struct Shared;
  std::shared_ptr<Shared> shared_;
};

}  // namespace registrar::registry::etcd
