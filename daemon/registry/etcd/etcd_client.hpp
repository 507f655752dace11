// Asynchronous access to etcd's KV and Lease services over one gRPC channel, with fail-over
// between endpoints. Every completion is delivered on the given executor, which must run on
// one thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/manifest.hpp"
#include "etcd_rpc.grpc.pb.h"

namespace registrar::registry::etcd {

// One LeaseKeepAlive stream, as the registry sees it.
class KeepAlive {
 public:
  virtual ~KeepAlive() = default;
  // Sends a keepalive for `lease_id`; false if the stream is closing or a write is pending.
  virtual bool send(std::int64_t lease_id) = 0;
  // Ends the stream; no callback runs after cancel() returns (both run on the executor).
  virtual void cancel() = 0;
  virtual bool open() const = 0;
};

// What the registry needs of etcd: the seam that lets tests script etcd's answers.
class EtcdTransport {
 public:
  template <class Resp>
  using Done = std::function<void(const grpc::Status&, Resp&&)>;
  using OnKeepAlive = std::function<void(const etcdserverpb::LeaseKeepAliveResponse&)>;
  using OnClosed = std::function<void(const grpc::Status&)>;

  virtual ~EtcdTransport() = default;
  virtual void txn(etcdserverpb::TxnRequest req, Done<etcdserverpb::TxnResponse> done) = 0;
  virtual void lease_grant(std::int64_t ttl_seconds,
                           Done<etcdserverpb::LeaseGrantResponse> done) = 0;
  virtual void lease_revoke(std::int64_t id, Done<etcdserverpb::LeaseRevokeResponse> done) = 0;
  // The lease's remaining TTL (-1 if etcd does not have it) and, with `keys`, its keys.
  virtual void lease_time_to_live(std::int64_t id, bool keys,
                                  Done<etcdserverpb::LeaseTimeToLiveResponse> done) = 0;
  virtual std::shared_ptr<KeepAlive> open_keepalive(OnKeepAlive on_response,
                                                    OnClosed on_closed) = 0;
  // The endpoint calls go to now (for log lines).
  virtual const std::string& endpoint() const = 0;
  // Whether a connection to etcd is established now. Asks the transport to (re)connect if it is
  // not, and never blocks: the registry polls this during an outage so that it retries as soon
  // as etcd answers again instead of waiting out its backoff. With several endpoints, a call
  // that finds the current one unreachable moves on to the next.
  virtual bool ready() = 0;
  // Cancels every call in flight; their completions still arrive (with CANCELLED).
  virtual void cancel_all() = 0;
  // TLS and authentication for every connection and call from now on (the registry passes its
  // spec before its first call). Transports that do not connect anywhere ignore it.
  virtual void configure(const config::EtcdSpec& /*spec*/) {}
};

class KeepAliveStream;

namespace detail {
struct CallBase {
  grpc::ClientContext ctx;
  virtual ~CallBase() = default;
};
struct Connection;
}  // namespace detail

// The real transport: gRPC to etcd. With registry.etcd.tls, the channel uses TLS credentials
// made of the files, read when the channel is created and again after a failed connection (a
// rotated or fixed file gets a new channel); files that cannot be used fail every call with
// UNAVAILABLE naming them. With a username, calls wait for Auth.Authenticate and carry the token
// as metadata "token"; an answer saying the token is invalid, or stale after a change of users or
// roles, gets a new token and the call is made once more. Authentication failures are
// is_auth_failure() statuses. Connection failures are explained (explain_connect_failure).
class EtcdClient final : public EtcdTransport {
 public:
  EtcdClient(boost::asio::any_io_executor executor, std::vector<std::string> endpoints,
             std::chrono::milliseconds dial_timeout);
  ~EtcdClient() override;
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  void txn(etcdserverpb::TxnRequest req, Done<etcdserverpb::TxnResponse> done) override;
  void lease_grant(std::int64_t ttl_seconds, Done<etcdserverpb::LeaseGrantResponse> done) override;
  void lease_revoke(std::int64_t id, Done<etcdserverpb::LeaseRevokeResponse> done) override;
  void lease_time_to_live(std::int64_t id, bool keys,
                          Done<etcdserverpb::LeaseTimeToLiveResponse> done) override;
  // Opens a LeaseKeepAlive stream on the current endpoint.
  std::shared_ptr<KeepAlive> open_keepalive(OnKeepAlive on_response, OnClosed on_closed) override;
  // A call or stream that fails with UNAVAILABLE or a deadline moves the client to the next
  // endpoint, unless another failure already did.
  const std::string& endpoint() const override;
  bool ready() override;
  void cancel_all() override;
  void configure(const config::EtcdSpec& spec) override;

  // For a stream another part opens on this client's connection (the reader's Watch,
  // discovery/etcd_watch_stream.hpp): the current channel and the token calls carry now. nullopt,
  // with `error` set, when the TLS files cannot be used.
  struct StreamTarget {
    std::shared_ptr<grpc::Channel> channel;
    std::string token;
    std::uint64_t generation = 0;
  };
  std::optional<StreamTarget> stream_target(std::string& error);
  // Such a stream ended with `status`: the same fail-over and TLS renewal as after a failed call,
  // and a token etcd rejected is dropped, so that the next call authenticates again.
  void stream_ended(const StreamTarget& target, const grpc::Status& status);

 private:
  boost::asio::any_io_executor executor_;
  std::shared_ptr<detail::Connection> connection_;
};

// One LeaseKeepAlive bidi stream over gRPC. Writes are serialised: send() refuses while a write
// is pending.
class KeepAliveStream final : public KeepAlive {
 public:
  ~KeepAliveStream() override;
  bool send(std::int64_t lease_id) override;
  void cancel() override;
  bool open() const override;

 private:
  friend class EtcdClient;
  class Reactor;
  struct Shared;
  std::shared_ptr<Shared> shared_;
};

}  // namespace registrar::registry::etcd
