#include "registry/etcd/etcd_client.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <mutex>

#include "config/etcd_keepalive.hpp"
#include "registry/etcd/connect_diagnosis.hpp"
#include "registry/etcd/etcd_auth.hpp"
#include "registry/etcd/tls_credentials.hpp"
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

// How long the probe that asks a failed channel for its reason may take.
constexpr std::chrono::milliseconds kDiagnosisTimeout{500};

}  // namespace

// The channel to the current endpoint, the token, and the calls in flight. Shared with
// completions, which may run after the client is gone; touched only on the executor.
struct detail::Connection : std::enable_shared_from_this<detail::Connection> {
  boost::asio::any_io_executor executor;
  std::vector<std::string> endpoints;
  std::size_t current = 0;
  std::uint64_t generation = 0;  // bumped on every new channel
  std::chrono::milliseconds dial_timeout;
  config::EtcdSpec spec;                   // tls and the credentials; endpoints above
  std::shared_ptr<grpc::Channel> channel;  // null until first used, or while tls_error is set
  std::unique_ptr<etcdserverpb::KV::Stub> kv;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease;
  std::unique_ptr<etcdserverpb::Auth::Stub> auth;
  std::string tls_error;  // the TLS files could not be used: every call fails with this
  std::size_t tls_fingerprint = 0;
  // Live calls, so that cancel_all() can reach them; entries expire as calls complete.
  std::vector<std::weak_ptr<CallBase>> calls;

  // Authentication (spec.username set).
  std::string token;             // "" = none yet, or rejected
  bool server_auth_off = false;  // etcd said authentication is not enabled: no token needed
  bool authenticating = false;
  std::vector<std::function<void(const grpc::Status&)>> auth_waiters;

  bool auth_wanted() const { return !spec.username.empty(); }
  bool needs_token() const { return auth_wanted() && token.empty() && !server_auth_off; }
  const std::string& endpoint() const { return endpoints[current]; }

  // (Re)creates the channel; with TLS, reads the files first. False when they cannot be used.
  bool connect() {
    grpc::ChannelArguments args;
    // A connection that goes silent (a partition, a peer gone without FIN or RST) is closed
    // after an unanswered ping, or after any data left unacknowledged for the timeout: gRPC sets
    // the timeout as the socket's TCP_USER_TIMEOUT too, so a keepalive sent every TTL/3 shows a
    // dead connection within TTL/3 + timeout instead of TCP's ~15 minutes of retransmissions.
    // etcd answers pings faster than its --grpc-keepalive-min-time (5 s) with GOAWAY
    // (too_many_pings), and pings without a call in flight too: we always have the keepalive
    // stream open while we hold a lease, and ping only then.
    config::EtcdSpec timing = spec;  // before configure(): the dial_timeout given to the client
    timing.dial_timeout = dial_timeout;
    const auto timeout = config::keepalive_timeout_of(timing);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(spec.keepalive_time.count()));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(timeout.count()));
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
    // Keep reconnecting at least every second, so that our own backoff decides the pace.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
    ++generation;
    if (spec.tls.enabled) {
      std::string error;
      std::optional<TlsMaterial> material = read_tls_material(spec.tls, error);
      if (!material) {
        tls_error = "TLS to etcd at " + endpoint() + " not possible: " + error;
        channel.reset();
        kv.reset();
        lease.reset();
        auth.reset();
        return false;
      }
      tls_error.clear();
      tls_fingerprint = material->fingerprint;
      creds = make_tls_credentials(*material);
      if (!spec.tls.server_name.empty())
        args.SetString(GRPC_SSL_TARGET_NAME_OVERRIDE_ARG, spec.tls.server_name);
    }
    channel = grpc::CreateCustomChannel(endpoint(), creds, args);
    kv = etcdserverpb::KV::NewStub(channel);
    lease = etcdserverpb::Lease::NewStub(channel);
    auth = etcdserverpb::Auth::NewStub(channel);
    return true;
  }

  bool ensure_channel() { return channel || connect(); }

  // A call made on `gen` failed with `status`: with several endpoints move on, once per
  // generation; with TLS, a file that changed since the channel was made gets a new channel.
  void failed(std::uint64_t gen, const grpc::Status& status) {
    if (gen != generation || !is_connectivity_error(status)) return;
    if (endpoints.size() > 1) return move_on();
    if (!spec.tls.enabled) return;
    std::string error;
    std::optional<TlsMaterial> material = read_tls_material(spec.tls, error);
    if (!material || material->fingerprint != tls_fingerprint) {
      spdlog::debug("registry: the etcd TLS files changed or cannot be read; new channel");
      connect();
    }
  }

  void move_on() {
    current = (current + 1) % endpoints.size();
    connect();
  }

  void track(const std::shared_ptr<CallBase>& call) {
    std::erase_if(calls, [](const auto& w) { return w.expired(); });
    calls.push_back(call);
  }

  // Sets the deadline, wait-for-ready and token of a call on the current channel.
  void prepare(grpc::ClientContext& ctx, bool with_token) const {
    ctx.set_deadline(runtime::grpc_deadline_after(dial_timeout));
    // With one endpoint, wait for the channel to (re)connect up to the deadline, so that a call
    // issued while etcd restarts goes through as soon as it answers. With several, fail fast: a
    // refused connection then moves us to the next endpoint at once.
    ctx.set_wait_for_ready(endpoints.size() == 1);
    if (with_token && !token.empty()) ctx.AddMetadata("token", token);
  }

  // `status` is a connection failure: hands `done` the status with the reason explained. A call
  // that waited for the channel only says "Deadline Exceeded"; then one call that does not wait
  // asks the failing channel for gRPC's last error.
  void explain(const grpc::Status& status, std::function<void(const grpc::Status&)> done) {
    auto explained = [ep = endpoint(), tls = spec.tls](const grpc::Status& s) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          explain_connect_failure(s.error_message(), ep, tls));
    };
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE) return done(explained(status));
    if (!channel || channel->GetState(false) != GRPC_CHANNEL_TRANSIENT_FAILURE) return done(status);
    auto probe =
        std::make_shared<UnaryCall<etcdserverpb::RangeRequest, etcdserverpb::RangeResponse>>();
    probe->ctx.set_deadline(
        runtime::grpc_deadline_after(std::min(dial_timeout, kDiagnosisTimeout)));
    probe->ctx.set_wait_for_ready(false);
    track(probe);
    kv->async()->Range(
        &probe->ctx, &probe->req, &probe->resp,
        [probe, status, done = std::move(done), explained, ex = executor](grpc::Status s) mutable {
          boost::asio::post(ex, [probe = std::move(probe), status, done = std::move(done),
                                 explained, s = std::move(s)] {
            if (s.error_code() == grpc::StatusCode::UNAVAILABLE) return done(explained(s));
            done(status);
          });
        });
  }

  // Gets a token (reading the password now), then calls `then` with OK or the failure. Calls
  // that arrive meanwhile share the one Authenticate.
  void authenticate(std::function<void(const grpc::Status&)> then) {
    auth_waiters.push_back(std::move(then));
    if (authenticating) return;
    authenticating = true;
    std::string error;
    std::optional<std::string> password = read_password(spec, error);
    if (!password) {
      return finish_authentication(auth_failure("etcd authentication as user \"" + spec.username +
                                                "\" impossible: " + error));
    }
    auto call = std::make_shared<
        UnaryCall<etcdserverpb::AuthenticateRequest, etcdserverpb::AuthenticateResponse>>();
    call->req.set_name(spec.username);
    call->req.set_password(std::move(*password));
    prepare(call->ctx, /*with_token=*/false);
    track(call);
    auth->async()->Authenticate(
        &call->ctx, &call->req, &call->resp,
        [call, conn = weak_from_this(), gen = generation, ex = executor](grpc::Status s) mutable {
          boost::asio::post(ex, [call = std::move(call), conn, gen, s = std::move(s)] {
            call->req.clear_password();
            auto c = conn.lock();
            if (!c) return;
            c->failed(gen, s);
            c->authenticated(s, call->resp.token());
          });
        });
  }

  void authenticated(const grpc::Status& s, const std::string& new_token) {
    if (s.ok() && !new_token.empty()) {
      token = new_token;
      server_auth_off = false;
      spdlog::debug("registry: authenticated to etcd as user \"{}\" (password from {})",
                    spec.username, spec.password_source);
      return finish_authentication(grpc::Status::OK);
    }
    spdlog::debug("registry: etcd Authenticate failed: {}", s.error_message());
    if (classify_auth_reply(s) == AuthReply::AuthNotEnabled) {
      if (!server_auth_off)
        spdlog::warn(
            "registry: etcd at {} has authentication disabled; calling it without a token "
            "(registry.etcd.username \"{}\" is not needed)",
            endpoint(), spec.username);
      server_auth_off = true;
      return finish_authentication(grpc::Status::OK);
    }
    if (s.error_code() == grpc::StatusCode::CANCELLED) return finish_authentication(s);
    if (is_connectivity_error(s)) {
      return explain(s, [self = shared_from_this()](const grpc::Status& e) {
        self->finish_authentication(e);
      });
    }
    finish_authentication(describe_authenticate_failure(spec, s));
  }

  void finish_authentication(const grpc::Status& s) {
    authenticating = false;
    auto waiters = std::move(auth_waiters);
    auth_waiters.clear();
    for (auto& w : waiters) w(s);
  }

  // etcd refused `used` (should_reauthenticate): forget it, unless a newer one replaced it.
  void token_rejected(const std::string& used, const grpc::Status& s) {
    spdlog::debug("registry: etcd rejected the token ({}); authenticating again",
                  s.error_message());
    if (token == used) token.clear();
    if (classify_auth_reply(s) == AuthReply::UserEmpty) server_auth_off = false;
  }
};

namespace {

template <class Req, class Resp>
using Start = std::function<void(detail::Connection&, grpc::ClientContext*, const Req*, Resp*,
                                 std::function<void(grpc::Status)>)>;

// One unary call: authenticates first when there is no token, retries once with a new token when
// etcd rejects the one it carried. `done` runs on the executor, never inside this call.
template <class Req, class Resp>
void issue(const std::shared_ptr<detail::Connection>& c, std::shared_ptr<const Req> req,
           EtcdTransport::Done<Resp> done, Start<Req, Resp> start, bool retried) {
  if (!c->ensure_channel()) {
    return boost::asio::post(c->executor, [done = std::move(done), error = c->tls_error] {
      done(grpc::Status(grpc::StatusCode::UNAVAILABLE, error), Resp{});
    });
  }
  if (c->needs_token()) {
    return c->authenticate([c, req, done, start, retried](const grpc::Status& s) mutable {
      if (!s.ok()) return done(s, Resp{});
      issue<Req, Resp>(c, std::move(req), std::move(done), std::move(start), retried);
    });
  }
  auto call = std::make_shared<UnaryCall<Req, Resp>>();
  call->req = *req;
  c->prepare(call->ctx, /*with_token=*/true);
  c->track(call);
  auto* conn = c.get();
  start(*conn, &call->ctx, &call->req, &call->resp,
        [call, req, done = std::move(done), start, retried, weak = std::weak_ptr(c),
         gen = c->generation, used = c->token, ex = c->executor](grpc::Status status) mutable {
          boost::asio::post(ex, [call = std::move(call), req, done = std::move(done),
                                 start = std::move(start), retried, weak, gen, used,
                                 status = std::move(status)]() mutable {
            auto c = weak.lock();
            if (!c) return done(status, std::move(call->resp));
            c->failed(gen, status);
            if (c->auth_wanted() && !retried && should_reauthenticate(status)) {
              c->token_rejected(used, status);
              return issue<Req, Resp>(c, std::move(req), std::move(done), std::move(start), true);
            }
            if (is_connectivity_error(status)) {
              return c->explain(
                  status, [call, done](const grpc::Status& s) { done(s, std::move(call->resp)); });
            }
            done(explain_refusal(c->spec, status), std::move(call->resp));
          });
        });
}

template <class Req, class Resp>
void unary(const std::shared_ptr<detail::Connection>& c, Req req, EtcdTransport::Done<Resp> done,
           Start<Req, Resp> start) {
  issue<Req, Resp>(c, std::make_shared<const Req>(std::move(req)), std::move(done),
                   std::move(start), false);
}

}  // namespace

EtcdClient::EtcdClient(boost::asio::any_io_executor executor, std::vector<std::string> endpoints,
                       std::chrono::milliseconds dial_timeout)
    : executor_(std::move(executor)), connection_(std::make_shared<detail::Connection>()) {
  if (endpoints.empty()) endpoints.push_back("127.0.0.1:2379");
  connection_->executor = executor_;
  connection_->endpoints = std::move(endpoints);
  connection_->dial_timeout = dial_timeout;
}

EtcdClient::~EtcdClient() {
  cancel_all();
}

void EtcdClient::configure(const config::EtcdSpec& spec) {
  auto& c = *connection_;
  c.spec = spec;
  c.token.clear();
  c.server_auth_off = false;
  if (c.auth_wanted() && !spec.tls.enabled)
    spdlog::warn(
        "registry: etcd user \"{}\" authenticates without TLS: its password (from {}) and "
        "tokens cross the network in clear text; add a registry.etcd.tls section",
        spec.username, spec.password_source);
  if (c.channel) c.connect();  // calls made from now on use the new settings
}

const std::string& EtcdClient::endpoint() const {
  return connection_->endpoint();
}

bool EtcdClient::ready() {
  if (!connection_->ensure_channel()) return false;
  const grpc_connectivity_state state = connection_->channel->GetState(/*try_to_connect=*/true);
  if (state == GRPC_CHANNEL_READY) return true;
  // This endpoint refused or dropped the connection: with several, try the next one. A channel
  // still CONNECTING is left alone, so that each endpoint gets its chance to connect.
  if (state == GRPC_CHANNEL_TRANSIENT_FAILURE && connection_->endpoints.size() > 1)
    connection_->move_on();
  return false;
}

void EtcdClient::cancel_all() {
  for (auto& weak : connection_->calls)
    if (auto call = weak.lock()) call->ctx.TryCancel();
  connection_->calls.clear();
}

std::optional<EtcdClient::StreamTarget> EtcdClient::stream_target(std::string& error) {
  auto& c = *connection_;
  if (!c.ensure_channel()) {
    error = c.tls_error;
    return std::nullopt;
  }
  return StreamTarget{c.channel, c.token, c.generation};
}

void EtcdClient::stream_ended(const StreamTarget& target, const grpc::Status& status) {
  auto& c = *connection_;
  c.failed(target.generation, status);
  if (c.auth_wanted() && should_reauthenticate(status)) c.token_rejected(target.token, status);
}

void EtcdClient::txn(etcdserverpb::TxnRequest req, Done<etcdserverpb::TxnResponse> done) {
  unary<etcdserverpb::TxnRequest, etcdserverpb::TxnResponse>(
      connection_, std::move(req), std::move(done),
      [](detail::Connection& c, auto* ctx, auto* rq, auto* rs, auto cb) {
        c.kv->async()->Txn(ctx, rq, rs, std::move(cb));
      });
}

void EtcdClient::lease_grant(std::int64_t ttl_seconds,
                             Done<etcdserverpb::LeaseGrantResponse> done) {
  etcdserverpb::LeaseGrantRequest req;
  req.set_ttl(ttl_seconds);
  unary<etcdserverpb::LeaseGrantRequest, etcdserverpb::LeaseGrantResponse>(
      connection_, std::move(req), std::move(done),
      [](detail::Connection& c, auto* ctx, auto* rq, auto* rs, auto cb) {
        c.lease->async()->LeaseGrant(ctx, rq, rs, std::move(cb));
      });
}

void EtcdClient::lease_revoke(std::int64_t id, Done<etcdserverpb::LeaseRevokeResponse> done) {
  etcdserverpb::LeaseRevokeRequest req;
  req.set_id(id);
  unary<etcdserverpb::LeaseRevokeRequest, etcdserverpb::LeaseRevokeResponse>(
      connection_, std::move(req), std::move(done),
      [](detail::Connection& c, auto* ctx, auto* rq, auto* rs, auto cb) {
        c.lease->async()->LeaseRevoke(ctx, rq, rs, std::move(cb));
      });
}

void EtcdClient::lease_time_to_live(std::int64_t id, bool keys,
                                    Done<etcdserverpb::LeaseTimeToLiveResponse> done) {
  etcdserverpb::LeaseTimeToLiveRequest req;
  req.set_id(id);
  req.set_keys(keys);
  unary<etcdserverpb::LeaseTimeToLiveRequest, etcdserverpb::LeaseTimeToLiveResponse>(
      connection_, std::move(req), std::move(done),
      [](detail::Connection& c, auto* ctx, auto* rq, auto* rs, auto cb) {
        c.lease->async()->LeaseTimeToLive(ctx, rq, rs, std::move(cb));
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

  // The reactor (and its ClientContext, which holds a reference to the channel) is destroyed on
  // the executor, never on gRPC's thread: dropping the last reference to a channel there would
  // shut down the completion queue that thread serves, from inside it (gRPC aborts).
  void OnDone(const grpc::Status& status) override {
    auto shared = shared_;
    boost::asio::post(shared->executor, [shared, status, self = std::unique_ptr<Reactor>(this)] {
      if (!shared->cancelled) shared->on_closed(status);
    });
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
  auto& c = *connection_;
  stream->shared_->on_closed = [conn = std::weak_ptr(connection_), gen = c.generation,
                                used = c.token,
                                closed = std::move(on_closed)](const grpc::Status& status) {
    if (auto c = conn.lock()) {
      c->failed(gen, status);
      // etcd 3.4 does not check keepalives' tokens; later versions may: have a new one ready
      // for the next stream.
      if (c->auth_wanted() && should_reauthenticate(status)) {
        c->token_rejected(used, status);
        if (c->needs_token()) c->authenticate([](const grpc::Status&) {});
      }
    }
    closed(status);
  };
  if (!c.ensure_channel()) {  // the TLS files cannot be used: a stream that ends at once
    boost::asio::post(executor_, [shared = stream->shared_, error = c.tls_error] {
      if (!shared->cancelled) shared->on_closed(grpc::Status(grpc::StatusCode::UNAVAILABLE, error));
    });
    return stream;
  }
  auto* reactor = new KeepAliveStream::Reactor(stream->shared_);
  if (!c.token.empty()) reactor->ctx.AddMetadata("token", c.token);
  {
    std::lock_guard lock(stream->shared_->mu);
    stream->shared_->reactor = reactor;
  }
  reactor->begin(c.lease.get());
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
