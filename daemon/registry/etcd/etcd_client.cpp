#include "registry/etcd/etcd_client.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <mutex>

#include "runtime/grpc_deadline.hpp"

namespace registrar::registry::etcd {

namespace {

template <class Req, class Resp>
struct UnaryCall : detail::CallBase {
  Req req;
  Resp resp;
};

bool is_connectivity_error(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

}  // namespace

// The channel to the current endpoint. Shared with completions, which may run after the client
// is gone; touched only on the executor.
struct detail::Connection {
  std::vector<std::string> endpoints;
  std::size_t current = 0;
  std::uint64_t generation = 0;  // bumped on every fail-over
  std::chrono::milliseconds dial_timeout;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<etcdserverpb::KV::Stub> kv;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease;

  void connect() {
    grpc::ChannelArguments args;
    // etcd answers client pings faster than every 5 s with GOAWAY (too_many_pings).
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                static_cast<int>(std::clamp<std::int64_t>(dial_timeout.count(), 1000, 60000)));
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
    // Keep reconnecting at least every second, so that our own backoff decides the pace.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    channel =
        grpc::CreateCustomChannel(endpoints[current], grpc::InsecureChannelCredentials(), args);
    kv = etcdserverpb::KV::NewStub(channel);
    lease = etcdserverpb::Lease::NewStub(channel);
  }

  // A call made on `gen` failed with `status`: move on, once per generation.
  void failed(std::uint64_t gen, const grpc::Status& status) {
    if (endpoints.size() < 2 || gen != generation || !is_connectivity_error(status)) return;
    move_on();
  }

  void move_on() {
    current = (current + 1) % endpoints.size();
    ++generation;
    connect();
  }
};

EtcdClient::EtcdClient(boost::asio::any_io_executor executor, std::vector<std::string> endpoints,
                       std::chrono::milliseconds dial_timeout)
    : executor_(std::move(executor)), connection_(std::make_shared<detail::Connection>()) {
  if (endpoints.empty()) endpoints.push_back("127.0.0.1:2379");
  connection_->endpoints = std::move(endpoints);
  connection_->dial_timeout = dial_timeout;
  connection_->connect();
}

EtcdClient::~EtcdClient() {
  cancel_all();
}

const std::string& EtcdClient::endpoint() const {
  return connection_->endpoints[connection_->current];
}

bool EtcdClient::ready() {
  const grpc_connectivity_state state = connection_->channel->GetState(/*try_to_connect=*/true);
  if (state == GRPC_CHANNEL_READY) return true;
  // This endpoint refused or dropped the connection: with several, try the next one. A channel
  // still CONNECTING is left alone, so that each endpoint gets its chance to connect.
  if (state == GRPC_CHANNEL_TRANSIENT_FAILURE && connection_->endpoints.size() > 1)
    connection_->move_on();
  return false;
}

void EtcdClient::cancel_all() {
  for (auto& weak : calls_)
    if (auto call = weak.lock()) call->ctx.TryCancel();
  calls_.clear();
}

template <class Req, class Resp, class Start>
void EtcdClient::unary(Req req, Done<Resp> done, Start start) {
  auto call = std::make_shared<UnaryCall<Req, Resp>>();
  call->req = std::move(req);
  call->ctx.set_deadline(runtime::grpc_deadline_after(connection_->dial_timeout));
  // With one endpoint, wait for the channel to (re)connect up to the deadline, so that a call
  // issued while etcd restarts goes through as soon as it answers. With several, fail fast: a
  // refused connection then moves us to the next endpoint at once.
  call->ctx.set_wait_for_ready(connection_->endpoints.size() == 1);
  std::erase_if(calls_, [](const auto& w) { return w.expired(); });
  calls_.push_back(call);
  start(&call->ctx, &call->req, &call->resp,
        [call, done = std::move(done), ex = executor_, conn = std::weak_ptr(connection_),
         gen = connection_->generation](grpc::Status status) mutable {
          boost::asio::post(ex,
                            [call, done = std::move(done), status = std::move(status), conn, gen] {
                              if (auto c = conn.lock()) c->failed(gen, status);
                              done(status, std::move(call->resp));
                            });
        });
}

void EtcdClient::txn(etcdserverpb::TxnRequest req, Done<etcdserverpb::TxnResponse> done) {
  unary<etcdserverpb::TxnRequest, etcdserverpb::TxnResponse>(
      std::move(req), std::move(done),
      [stub = connection_->kv.get()](auto* ctx, auto* rq, auto* rs, auto cb) {
        stub->async()->Txn(ctx, rq, rs, std::move(cb));
      });
}

void EtcdClient::lease_grant(std::int64_t ttl_seconds,
                             Done<etcdserverpb::LeaseGrantResponse> done) {
  etcdserverpb::LeaseGrantRequest req;
  req.set_ttl(ttl_seconds);
  unary<etcdserverpb::LeaseGrantRequest, etcdserverpb::LeaseGrantResponse>(
      std::move(req), std::move(done),
      [stub = connection_->lease.get()](auto* ctx, auto* rq, auto* rs, auto cb) {
        stub->async()->LeaseGrant(ctx, rq, rs, std::move(cb));
      });
}

void EtcdClient::lease_revoke(std::int64_t id, Done<etcdserverpb::LeaseRevokeResponse> done) {
  etcdserverpb::LeaseRevokeRequest req;
  req.set_id(id);
  unary<etcdserverpb::LeaseRevokeRequest, etcdserverpb::LeaseRevokeResponse>(
      std::move(req), std::move(done),
      [stub = connection_->lease.get()](auto* ctx, auto* rq, auto* rs, auto cb) {
        stub->async()->LeaseRevoke(ctx, rq, rs, std::move(cb));
      });
}

void EtcdClient::lease_time_to_live(std::int64_t id, bool keys,
                                    Done<etcdserverpb::LeaseTimeToLiveResponse> done) {
  etcdserverpb::LeaseTimeToLiveRequest req;
  req.set_id(id);
  req.set_keys(keys);
  unary<etcdserverpb::LeaseTimeToLiveRequest, etcdserverpb::LeaseTimeToLiveResponse>(
      std::move(req), std::move(done),
      [stub = connection_->lease.get()](auto* ctx, auto* rq, auto* rs, auto cb) {
        stub->async()->LeaseTimeToLive(ctx, rq, rs, std::move(cb));
      });
}

// ---- keepalive stream -------------------------------------------------------------------

// State shared between the executor side (KeepAliveStream) and gRPC's threads (Reactor).
struct KeepAliveStream::Shared {
  std::mutex mu;
  Reactor* reactor = nullptr;  // null once the stream is closing: no write may start then
  bool write_pending = false;
  // Touched only on the executor:
  bool cancelled = false;
  boost::asio::any_io_executor executor;
  std::function<void(const etcdserverpb::LeaseKeepAliveResponse&)> on_response;
  std::function<void(const grpc::Status&)> on_closed;
};

// The reactor holds the stream open (AddHold) until its last read fails, so that a write
// started from the executor never races the stream's teardown: gRPC destroys the call before
// OnDone once no operation and no hold remain.
class KeepAliveStream::Reactor final
    : public grpc::ClientBidiReactor<etcdserverpb::LeaseKeepAliveRequest,
                                     etcdserverpb::LeaseKeepAliveResponse> {
 public:
  explicit Reactor(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

  grpc::ClientContext ctx;
  etcdserverpb::LeaseKeepAliveRequest request;

  void begin(etcdserverpb::Lease::Stub* stub) {
    stub->async()->LeaseKeepAlive(&ctx, this);
    AddHold();
    StartRead(&response_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the stream is ending: no more writes, then let it finish
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

  void OnWriteDone(bool) override {
    std::lock_guard lock(shared_->mu);
    shared_->write_pending = false;
  }

  void OnDone(const grpc::Status& status) override {
    boost::asio::post(shared_->executor, [shared = shared_, status] {
      if (!shared->cancelled) shared->on_closed(status);
    });
    delete this;
  }

 private:
  std::shared_ptr<Shared> shared_;
  etcdserverpb::LeaseKeepAliveResponse response_;
};

std::shared_ptr<KeepAlive> EtcdClient::open_keepalive(OnKeepAlive on_response, OnClosed on_closed) {
  auto stream = std::shared_ptr<KeepAliveStream>(new KeepAliveStream());
  stream->shared_ = std::make_shared<KeepAliveStream::Shared>();
  stream->shared_->executor = executor_;
  stream->shared_->on_response = std::move(on_response);
  stream->shared_->on_closed = [conn = std::weak_ptr(connection_), gen = connection_->generation,
                                closed = std::move(on_closed)](const grpc::Status& status) {
    if (auto c = conn.lock()) c->failed(gen, status);
    closed(status);
  };
  auto* reactor = new KeepAliveStream::Reactor(stream->shared_);
  {
    std::lock_guard lock(stream->shared_->mu);
    stream->shared_->reactor = reactor;
  }
  reactor->begin(connection_->lease.get());
  return stream;
}

KeepAliveStream::~KeepAliveStream() {
  cancel();
}

bool KeepAliveStream::send(std::int64_t lease_id) {
  std::lock_guard lock(shared_->mu);
  if (shared_->reactor == nullptr || shared_->write_pending || shared_->cancelled) return false;
  shared_->write_pending = true;
  shared_->reactor->request.set_id(lease_id);
  shared_->reactor->StartWrite(&shared_->reactor->request);
  return true;
}

void KeepAliveStream::cancel() {
  if (!shared_) return;
  shared_->cancelled = true;
  std::lock_guard lock(shared_->mu);
  if (shared_->reactor != nullptr) shared_->reactor->ctx.TryCancel();
}

bool KeepAliveStream::open() const {
  std::lock_guard lock(shared_->mu);
  return shared_->reactor != nullptr && !shared_->cancelled;
}

}  // namespace registrar::registry::etcd
