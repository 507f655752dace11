// ChannelPool: probers of one target share channels, at most max_users per channel.
#include "probe/channel_pool.hpp"

#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <memory>
#include <vector>

namespace {

using registrar::probe::ChannelPool;
using Sizes = std::vector<std::size_t>;

// Counts the channels made; they are real but lazy (nothing connects until an RPC is made).
struct CountingFactory {
  int made = 0;
  ChannelPool::Factory make() {
    return [this] {
      ++made;
      return grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
    };
  }
};

}  // namespace

TEST_CASE("channel pool: holders of one key share a channel up to max_users") {
  ChannelPool pool(3);
  CountingFactory f;
  auto a = pool.acquire("t", f.make());
  auto b = pool.acquire("t", f.make());
  auto c = pool.acquire("t", f.make());
  CHECK(f.made == 1);
  CHECK(a.get() == b.get());
  CHECK(b.get() == c.get());
  CHECK(pool.users("t") == Sizes{3});

  auto d = pool.acquire("t", f.make());  // the first channel is full
  CHECK(f.made == 2);
  CHECK(d.get() != a.get());
  CHECK(pool.users("t") == Sizes{3, 1});
}

TEST_CASE("channel pool: different keys never share") {
  ChannelPool pool(100);
  CountingFactory f;
  auto a = pool.acquire("127.0.0.1:1 timeout=1000ms", f.make());
  auto b = pool.acquire("127.0.0.1:1 timeout=2000ms", f.make());
  auto c = pool.acquire("127.0.0.1:2 timeout=1000ms", f.make());
  CHECK(f.made == 3);
  CHECK(a.get() != b.get());
  CHECK(a.get() != c.get());
  CHECK(pool.users("127.0.0.1:1 timeout=1000ms") == Sizes{1});
}

TEST_CASE("channel pool: a released use frees its slot, the last one releases the channel") {
  ChannelPool pool(2);
  CountingFactory f;
  auto a = pool.acquire("t", f.make());
  auto b = pool.acquire("t", f.make());
  std::weak_ptr<grpc::Channel> first = a;
  b.reset();
  CHECK(pool.users("t") == Sizes{1});

  auto c = pool.acquire("t", f.make());  // takes b's slot on the same channel
  CHECK(f.made == 1);
  CHECK(c.get() == a.get());

  a.reset();
  c.reset();
  CHECK(pool.users("t").empty());
  CHECK(first.expired());  // nobody holds the channel any more

  auto d = pool.acquire("t", f.make());
  CHECK(f.made == 2);
  CHECK(pool.users("t") == Sizes{1});
}

TEST_CASE("channel pool: copies of a handle are one use") {
  ChannelPool pool(2);
  CountingFactory f;
  auto a = pool.acquire("t", f.make());
  auto copy = a;
  CHECK(pool.users("t") == Sizes{1});
  a.reset();
  CHECK(pool.users("t") == Sizes{1});
  copy.reset();
  CHECK(pool.users("t").empty());
}

TEST_CASE("channel pool: handles may outlive the pool") {
  CountingFactory f;
  std::shared_ptr<grpc::Channel> kept;
  {
    ChannelPool pool(2);
    kept = pool.acquire("t", f.make());
  }
  REQUIRE(kept);
  // The channel still works as a channel: asking for its state touches it.
  CHECK(kept->GetState(false) == GRPC_CHANNEL_IDLE);
  kept.reset();  // and dropping it after the pool is gone is fine
}

TEST_CASE("channel pool: max_users of 0 behaves as 1") {
  ChannelPool pool(0);
  CountingFactory f;
  auto a = pool.acquire("t", f.make());
  auto b = pool.acquire("t", f.make());
  CHECK(f.made == 2);
  CHECK(a.get() != b.get());
}
