// EtcdClient's authentication against an in-process etcd double that speaks etcd's Auth, KV and
// Lease services with etcd's answers: the token on every call (the LeaseKeepAlive stream
// included), a new token and one retry when etcd calls the token invalid, never more than one,
// and a wrong password as an authentication failure that names no password.
#include <grpcpp/grpcpp.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "etcd_rpc.grpc.pb.h"
#include "registry/etcd/etcd_auth.hpp"
#include "registry/etcd/etcd_client.hpp"

using namespace std::chrono_literals;
using registrar::registry::etcd::EtcdClient;

namespace {

constexpr const char* kPassword = "pw-unit-Client-77";
constexpr const char* kInvalidToken = "etcdserver: invalid auth token";

// What the double saw; guarded by mu (gRPC's threads write, the test reads).
struct Seen {
  std::mutex mu;
  int authenticates = 0;
  std::vector<std::string> txn_tokens;    // the token of each Txn, "" when none
  std::vector<std::string> grant_tokens;  // of each LeaseGrant
  std::vector<std::string> keepalive_tokens;
  std::string valid_token;    // the one token etcd accepts now; "" = none
  bool refuse_every = false;  // every token is invalid at once (as with a tiny --auth-token-ttl)
  std::string password = kPassword;
};

std::string token_of(const grpc::ServerContext* ctx) {
  const auto& md = ctx->client_metadata();
  const auto it = md.find("token");
  return it == md.end() ? "" : std::string(it->second.data(), it->second.size());
}

class AuthService final : public etcdserverpb::Auth::Service {
 public:
  explicit AuthService(Seen& seen) : seen_(seen) {}
  grpc::Status Authenticate(grpc::ServerContext*, const etcdserverpb::AuthenticateRequest* req,
                            etcdserverpb::AuthenticateResponse* resp) override {
    std::lock_guard lock(seen_.mu);
    if (req->name() != "registrar" || req->password() != seen_.password)
      return {grpc::StatusCode::INVALID_ARGUMENT,
              "etcdserver: authentication failed, invalid user ID or password"};
    ++seen_.authenticates;
    const std::string token = "tok-" + std::to_string(seen_.authenticates);
    seen_.valid_token = seen_.refuse_every ? "" : token;
    resp->set_token(token);
    return grpc::Status::OK;
  }

 private:
  Seen& seen_;
};

class KvService final : public etcdserverpb::KV::Service {
 public:
  explicit KvService(Seen& seen) : seen_(seen) {}
  grpc::Status Txn(grpc::ServerContext* ctx, const etcdserverpb::TxnRequest*,
                   etcdserverpb::TxnResponse* resp) override {
    std::lock_guard lock(seen_.mu);
    const std::string token = token_of(ctx);
    seen_.txn_tokens.push_back(token);
    if (token.empty())
      return {grpc::StatusCode::INVALID_ARGUMENT, "etcdserver: user name is empty"};
    if (token != seen_.valid_token) return {grpc::StatusCode::UNAUTHENTICATED, kInvalidToken};
    resp->set_succeeded(true);
    return grpc::Status::OK;
  }

 private:
  Seen& seen_;
};

class LeaseService final : public etcdserverpb::Lease::Service {
 public:
  explicit LeaseService(Seen& seen) : seen_(seen) {}
  grpc::Status LeaseGrant(grpc::ServerContext* ctx, const etcdserverpb::LeaseGrantRequest* req,
                          etcdserverpb::LeaseGrantResponse* resp) override {
    std::lock_guard lock(seen_.mu);
    const std::string token = token_of(ctx);
    seen_.grant_tokens.push_back(token);
    if (token != seen_.valid_token) return {grpc::StatusCode::UNAUTHENTICATED, kInvalidToken};
    resp->set_id(42);
    resp->set_ttl(req->ttl());
    return grpc::Status::OK;
  }
  grpc::Status LeaseKeepAlive(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<etcdserverpb::LeaseKeepAliveResponse,
                               etcdserverpb::LeaseKeepAliveRequest>* stream) override {
    {
      std::lock_guard lock(seen_.mu);
      seen_.keepalive_tokens.push_back(token_of(ctx));
    }
    etcdserverpb::LeaseKeepAliveRequest req;
    while (stream->Read(&req)) {
      etcdserverpb::LeaseKeepAliveResponse resp;
      resp.set_id(req.id());
      resp.set_ttl(5);
      if (!stream->Write(resp)) break;
    }
    return grpc::Status::OK;
  }

 private:
  Seen& seen_;
};

class FakeEtcd {
 public:
  FakeEtcd() : auth_(seen), kv_(seen), lease_(seen) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&auth_);
    builder.RegisterService(&kv_);
    builder.RegisterService(&lease_);
    server_ = builder.BuildAndStart();
    REQUIRE(server_);
    REQUIRE(port_ != 0);
  }
  ~FakeEtcd() { server_->Shutdown(std::chrono::system_clock::now() + 1s); }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

  Seen seen;

 private:
  AuthService auth_;
  KvService kv_;
  LeaseService lease_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

registrar::config::EtcdSpec auth_spec(const std::string& password = kPassword) {
  registrar::config::EtcdSpec spec;
  spec.username = "registrar";
  spec.password = password;
  spec.password_source = "ETCDCTL_PASSWORD";
  return spec;
}

// The client on an io_context the test drives; every loop bounded by a deadline.
struct Harness {
  FakeEtcd etcd;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{
      boost::asio::make_work_guard(io)};
  std::optional<EtcdClient> client;

  explicit Harness(const registrar::config::EtcdSpec& spec) {
    client.emplace(io.get_executor(), std::vector<std::string>{etcd.endpoint()}, 2000ms);
    client->configure(spec);
  }
  ~Harness() {
    client.reset();
    io.run_for(100ms);  // completions of cancelled calls land before the io_context goes
  }

  template <class Pred>
  bool run_until(Pred pred, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {  // pred is evaluated once per round: it may have effects (send)
      if (pred()) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io.run_for(5ms);
    }
  }

  grpc::Status txn() {
    std::optional<grpc::Status> result;
    client->txn({}, [&](const grpc::Status& s, etcdserverpb::TxnResponse&&) { result = s; });
    REQUIRE(run_until([&] { return result.has_value(); }));
    return *result;
  }
  grpc::Status grant() {
    std::optional<grpc::Status> result;
    client->lease_grant(
        5, [&](const grpc::Status& s, etcdserverpb::LeaseGrantResponse&&) { result = s; });
    REQUIRE(run_until([&] { return result.has_value(); }));
    return *result;
  }
};

}  // namespace

TEST_CASE("etcd client: the token on every call, and a new one (once) when etcd calls it invalid") {
  Harness h(auth_spec());
  CHECK(h.txn().ok());
  CHECK(h.grant().ok());
  {
    std::lock_guard lock(h.etcd.seen.mu);
    CHECK(h.etcd.seen.authenticates == 1);
    CHECK(h.etcd.seen.txn_tokens == std::vector<std::string>{"tok-1"});
    CHECK(h.etcd.seen.grant_tokens == std::vector<std::string>{"tok-1"});
    h.etcd.seen.valid_token.clear();  // the token expires (--auth-token-ttl)
  }
  CHECK(h.grant().ok());
  std::lock_guard lock(h.etcd.seen.mu);
  CHECK(h.etcd.seen.authenticates == 2);
  CHECK(h.etcd.seen.grant_tokens == std::vector<std::string>{"tok-1", "tok-1", "tok-2"});
}

TEST_CASE("etcd client: a token refused every time costs one re-authentication and one retry") {
  Harness h(auth_spec());
  {
    std::lock_guard lock(h.etcd.seen.mu);
    h.etcd.seen.refuse_every = true;
  }
  const grpc::Status s = h.txn();
  CHECK(s.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(s.error_message() == kInvalidToken);
  std::lock_guard lock(h.etcd.seen.mu);
  CHECK(h.etcd.seen.authenticates == 2);
  CHECK(h.etcd.seen.txn_tokens == std::vector<std::string>{"tok-1", "tok-2"});
}

TEST_CASE("etcd client: calls waiting for a token share one Authenticate") {
  Harness h(auth_spec());
  int done = 0;
  for (int i = 0; i < 3; ++i)
    h.client->txn({}, [&](const grpc::Status& s, etcdserverpb::TxnResponse&&) {
      CHECK(s.ok());
      ++done;
    });
  REQUIRE(h.run_until([&] { return done == 3; }));
  std::lock_guard lock(h.etcd.seen.mu);
  CHECK(h.etcd.seen.authenticates == 1);
  CHECK(h.etcd.seen.txn_tokens == std::vector<std::string>(3, "tok-1"));
}

TEST_CASE("etcd client: the LeaseKeepAlive stream carries the token") {
  Harness h(auth_spec());
  REQUIRE(h.grant().ok());
  std::optional<std::int64_t> answered;
  auto stream = h.client->open_keepalive(
      [&](const etcdserverpb::LeaseKeepAliveResponse& r) { answered = r.id(); },
      [](const grpc::Status&) {});
  REQUIRE(h.run_until([&] { return stream->send(42); }));
  REQUIRE(h.run_until([&] { return answered.has_value(); }));
  CHECK(*answered == 42);
  // Cancelled, and the client destroyed right after (~Harness) while the stream still winds
  // down on gRPC's thread: that must not crash (the channel is released on the executor).
  stream->cancel();
  std::lock_guard lock(h.etcd.seen.mu);
  CHECK(h.etcd.seen.keepalive_tokens == std::vector<std::string>{"tok-1"});
}

TEST_CASE("etcd client: a wrong password fails the call as an auth failure, without a KV call") {
  Harness h(auth_spec("pw-unit-Wrong-13"));
  const grpc::Status s = h.txn();
  CHECK(registrar::registry::etcd::is_auth_failure(s));
  CHECK(s.error_message().find("etcd authentication as user \"registrar\" failed") == 0);
  CHECK(s.error_message().find("ETCDCTL_PASSWORD") != std::string::npos);
  CHECK(s.error_message().find("pw-unit-Wrong-13") == std::string::npos);
  CHECK(s.error_message().find(kPassword) == std::string::npos);
  // The next call authenticates again (the password is read each time): still refused.
  CHECK(registrar::registry::etcd::is_auth_failure(h.txn()));
  std::lock_guard lock(h.etcd.seen.mu);
  CHECK(h.etcd.seen.txn_tokens.empty());
}

TEST_CASE("etcd client: without a username no Authenticate and no token") {
  Harness h(registrar::config::EtcdSpec{});
  const grpc::Status s = h.txn();  // the double wants a token: "user name is empty"
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(s.error_message().find("set registry.etcd.username") != std::string::npos);
  std::lock_guard lock(h.etcd.seen.mu);
  CHECK(h.etcd.seen.authenticates == 0);
  CHECK(h.etcd.seen.txn_tokens == std::vector<std::string>{""});
}
