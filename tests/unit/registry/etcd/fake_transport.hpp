// A scripted etcd for the state machine's tests: a small model of etcd (keys with leases, Txn
// semantics) whose calls complete only when the test says so.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <deque>
#include <map>
#include <set>

#include "registry/etcd/etcd_client.hpp"

namespace registrar::test {

using registrar::registry::etcd::EtcdTransport;
using registrar::registry::etcd::KeepAlive;

struct FakeKeepAlive final : KeepAlive {
  std::vector<std::int64_t> sent;
  bool is_open = true;
  EtcdTransport::OnKeepAlive on_response;
  EtcdTransport::OnClosed on_closed;
  bool send(std::int64_t id) override {
    if (!is_open) return false;
    sent.push_back(id);
    return true;
  }
  void cancel() override { is_open = false; }
  bool open() const override { return is_open; }
};

// Keeps a small model of etcd (key -> value, lease) and the calls not yet answered.
struct FakeTransport final : EtcdTransport {
  struct Stored {
    std::string value;
    std::int64_t lease;
  };
  std::map<std::string, Stored> kv;
  std::set<std::int64_t> leases;
  std::size_t max_ops = 128;
  std::deque<std::pair<etcdserverpb::TxnRequest, Done<etcdserverpb::TxnResponse>>> txns;
  std::deque<std::pair<std::int64_t, Done<etcdserverpb::LeaseGrantResponse>>> grants;
  std::vector<std::int64_t> revoked;
  int revokes_to_fail = 0;                // answer this many revokes with UNAVAILABLE first
  boost::asio::any_io_executor executor;  // revokes complete asynchronously, as in production
  std::vector<std::shared_ptr<FakeKeepAlive>> streams;
  std::vector<etcdserverpb::TxnRequest> all_txns;
  std::string ep = "fake:2379";
  bool connected = true;  // what ready() answers
  int ready_calls = 0;
  std::deque<std::pair<std::int64_t, Done<etcdserverpb::LeaseTimeToLiveResponse>>> ttl_calls;

  void txn(etcdserverpb::TxnRequest req, Done<etcdserverpb::TxnResponse> done) override {
    all_txns.push_back(req);
    txns.emplace_back(std::move(req), std::move(done));
  }
  void lease_grant(std::int64_t ttl, Done<etcdserverpb::LeaseGrantResponse> done) override {
    grants.emplace_back(ttl, std::move(done));
  }
  void lease_revoke(std::int64_t id, Done<etcdserverpb::LeaseRevokeResponse> done) override {
    revoked.push_back(id);
    grpc::Status status = grpc::Status::OK;
    if (revokes_to_fail > 0) {
      --revokes_to_fail;
      status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused");
    } else {
      if (leases.erase(id) == 0)
        status = grpc::Status(grpc::StatusCode::NOT_FOUND, "lease not found");
      std::erase_if(kv, [id](const auto& e) { return e.second.lease == id; });
    }
    boost::asio::post(executor, [done = std::move(done), status] { done(status, {}); });
  }
  std::shared_ptr<KeepAlive> open_keepalive(OnKeepAlive on_response, OnClosed on_closed) override {
    auto s = std::make_shared<FakeKeepAlive>();
    s->on_response = std::move(on_response);
    s->on_closed = std::move(on_closed);
    streams.push_back(s);
    return s;
  }
  void lease_time_to_live(std::int64_t id, bool keys,
                          Done<etcdserverpb::LeaseTimeToLiveResponse> done) override {
    REQUIRE(keys);
    ttl_calls.emplace_back(id, std::move(done));
  }
  const std::string& endpoint() const override { return ep; }
  bool ready() override {
    ++ready_calls;
    return connected;
  }
  void cancel_all() override {}

  // Answers the oldest LeaseTimeToLive from the model: the lease's keys, TTL -1 if it is gone.
  void answer_ttl(grpc::Status status = grpc::Status::OK) {
    REQUIRE_FALSE(ttl_calls.empty());
    auto [id, done] = std::move(ttl_calls.front());
    ttl_calls.pop_front();
    etcdserverpb::LeaseTimeToLiveResponse r;
    r.set_id(id);
    if (leases.contains(id)) {
      r.set_ttl(5);
      r.set_grantedttl(10);
      for (const auto& [k, v] : kv)
        if (v.lease == id) r.add_keys(k);
    } else {
      r.set_ttl(-1);
    }
    done(status, std::move(r));
  }

  // Answers the oldest grant with lease `id`.
  void grant(std::int64_t id, std::int64_t ttl = 10) {
    REQUIRE_FALSE(grants.empty());
    auto [asked, done] = std::move(grants.front());
    grants.pop_front();
    leases.insert(id);
    etcdserverpb::LeaseGrantResponse r;
    r.set_id(id);
    r.set_ttl(std::max(ttl, asked));
    done(grpc::Status::OK, std::move(r));
  }

  // Answers the oldest grant as a refused connection would.
  void fail_grant() {
    REQUIRE_FALSE(grants.empty());
    auto [asked, done] = std::move(grants.front());
    grants.pop_front();
    done(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused"), {});
  }

  // Applies the oldest Txn to the model (as etcd would) and answers it with `status`.
  etcdserverpb::TxnRequest answer_txn(grpc::Status status = grpc::Status::OK, bool apply = true) {
    REQUIRE_FALSE(txns.empty());
    auto [req, done] = std::move(txns.front());
    txns.pop_front();
    etcdserverpb::TxnResponse resp;
    if (status.ok() && static_cast<std::size_t>(req.success_size()) > max_ops) {
      status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "etcdserver: too many operations in txn request");
      apply = false;
    }
    if (apply) {
      for (const auto& op : req.success()) {
        auto* out = resp.add_responses();
        if (op.has_request_put()) {
          const auto& p = op.request_put();
          if (!leases.contains(p.lease())) {
            status =
                grpc::Status(grpc::StatusCode::NOT_FOUND, "etcdserver: requested lease not found");
            break;
          }
          kv[p.key()] = {p.value(), p.lease()};
          out->mutable_response_put();
        } else if (op.has_request_delete_range()) {
          kv.erase(op.request_delete_range().key());
          out->mutable_response_delete_range();
        } else {
          auto* range = out->mutable_response_range();
          if (auto it = kv.find(op.request_range().key()); it != kv.end()) {
            auto* k = range->add_kvs();
            k->set_key(it->first);
            k->set_value(it->second.value);
            k->set_lease(it->second.lease);
          }
        }
      }
    }
    done(status, std::move(resp));
    return req;
  }

  // The newest keepalive stream answers for lease `id` with `ttl` (0: etcd no longer has it).
  void keepalive_answer(std::int64_t id, std::int64_t ttl) {
    REQUIRE_FALSE(streams.empty());
    etcdserverpb::LeaseKeepAliveResponse ka;
    ka.set_id(id);
    ka.set_ttl(ttl);
    streams.back()->on_response(ka);
  }

  std::size_t puts_in(const etcdserverpb::TxnRequest& req) const {
    return static_cast<std::size_t>(
        std::count_if(req.success().begin(), req.success().end(),
                      [](const auto& op) { return op.has_request_put(); }));
  }
};

}  // namespace registrar::test
