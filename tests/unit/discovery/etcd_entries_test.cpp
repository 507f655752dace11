// The etcd reader's key ranges and entry shapes: every format the daemon writes
// (registry/etcd/key_format.hpp), read back, and the same shapes as others write them.
#include "discovery/etcd_entries.hpp"

#include <catch2/catch.hpp>

#include "registry/etcd/key_format.hpp"

using namespace registrar;
using discovery::etcd::entries_range;
using discovery::etcd::parse_entry;

namespace {

registry::Registration sample() {
  registry::Registration r;
  r.name = "greeter";
  r.id = "greeter-1";
  r.address = "10.0.0.7";
  r.port = 50051;
  r.tags = {"v2", "eu"};
  r.meta = {{"zone", "a"}};
  return r;
}

std::optional<discovery::Instance> read_back(config::EtcdKeyFormat format) {
  const auto entry = registry::etcd::format_entry(format, "/services", sample());
  const auto range = entries_range(format, "/services", "greeter");
  std::string why;
  auto i = parse_entry(range, "greeter", entry.key, entry.value, why);
  INFO(why);
  return i;
}

}  // namespace

TEST_CASE("etcd ranges: json and gokit under <prefix>/<name>/, grpc-go under <name>/") {
  auto r = entries_range(config::EtcdKeyFormat::Json, "/services", "greeter");
  CHECK(r.key == "/services/greeter/");
  CHECK(r.range_end == "/services/greeter0");
  CHECK(entries_range(config::EtcdKeyFormat::GoKit, "/p", "a").key == "/p/a/");
  r = entries_range(config::EtcdKeyFormat::GrpcGo, "/services", "greeter");
  CHECK(r.key == "greeter/");
  CHECK(r.range_end == "greeter0");
}

TEST_CASE("every format the daemon writes reads back as the instance it registered") {
  auto json = read_back(config::EtcdKeyFormat::Json);
  REQUIRE(json);
  CHECK(json->id == "greeter-1");
  CHECK(json->name == "greeter");
  CHECK(json->address == "10.0.0.7");
  CHECK(json->port == 50051);
  CHECK(json->tags == std::vector<std::string>{"v2", "eu"});
  CHECK(json->meta == std::map<std::string, std::string>{{"zone", "a"}});
  CHECK(json->health == registry::Health::Passing);

  auto gokit = read_back(config::EtcdKeyFormat::GoKit);
  REQUIRE(gokit);
  CHECK(gokit->id == "10.0.0.7:50051");
  CHECK(gokit->address == "10.0.0.7");
  CHECK(gokit->port == 50051);
  CHECK(gokit->tags.empty());

  auto grpc_go = read_back(config::EtcdKeyFormat::GrpcGo);
  REQUIRE(grpc_go);
  CHECK(grpc_go->id == "10.0.0.7:50051");
  CHECK(grpc_go->address == "10.0.0.7");
  CHECK(grpc_go->port == 50051);
}

TEST_CASE("entries written by others: go-kit instance strings, gRPC-Go metadata, IPv6") {
  const auto range = entries_range(config::EtcdKeyFormat::GoKit, "/services", "greeter");
  std::string why;
  // go-kit's etcdv3 registrar: the value is whatever instance string the service chose.
  auto url =
      parse_entry(range, "greeter", "/services/greeter/a", "http://10.1.1.1:8080/rpc\n", why);
  REQUIRE(url);
  CHECK(url->id == "a");
  CHECK(url->address == "10.1.1.1");
  CHECK(url->port == 8080);
  auto v6 = parse_entry(range, "greeter", "/services/greeter/[::1]:9", "[::1]:9", why);
  REQUIRE(v6);
  CHECK(v6->address == "::1");
  CHECK(v6->port == 9);
  // A json-shaped value under a gokit key range is read by its shape; no id: the key's.
  auto json = parse_entry(range, "greeter", "/services/greeter/x",
                          R"({"address":"h","port":1,"meta":{"n":3}})", why);
  REQUIRE(json);
  CHECK(json->id == "x");
  CHECK(json->meta.at("n") == "3");
  const auto grpc_range = entries_range(config::EtcdKeyFormat::GrpcGo, "", "greeter");
  auto md = parse_entry(grpc_range, "greeter", "greeter/h:1",
                        R"({"Op":0,"Addr":"h:1","Metadata":{"w":"5"}})", why);
  REQUIRE(md);
  CHECK(md->meta.at("w") == "5");
}

TEST_CASE("what is not an instance of the service is refused, with the reason") {
  const auto range = entries_range(config::EtcdKeyFormat::Json, "/services", "greeter");
  std::string why;
  CHECK_FALSE(parse_entry(range, "greeter", "/services/greeter/a/b", "h:1", why));
  CHECK(why == "a key below another service's prefix");
  CHECK_FALSE(parse_entry(range, "greeter", "/services/greeterx/a", "h:1", why));
  CHECK_FALSE(parse_entry(range, "greeter", "/services/greeter/a", "{not json", why));
  CHECK(why == "a value that is not valid JSON");
  CHECK_FALSE(parse_entry(range, "greeter", "/services/greeter/a", R"({"host":"h"})", why));
  CHECK_FALSE(
      parse_entry(range, "greeter", "/services/greeter/a", R"({"address":"h","port":0})", why));
  CHECK_FALSE(
      parse_entry(range, "greeter", "/services/greeter/a", R"({"address":"h","port":70000})", why));
  CHECK_FALSE(
      parse_entry(range, "greeter", "/services/greeter/a", R"({"address":"h","port":"1"})", why));
  CHECK_FALSE(
      parse_entry(range, "greeter", "/services/greeter/a", R"({"Op":1,"Addr":"h:1"})", why));
  CHECK(why == "a grpc-go entry whose Op is not 0 (Add)");
  CHECK_FALSE(parse_entry(range, "greeter", "/services/greeter/a", "h:99999", why));
  CHECK_FALSE(parse_entry(range, "greeter", "/services/greeter/a", "h", why));
  CHECK_FALSE(parse_entry(range, "greeter", "/services/greeter/a", "::1:80", why));
  CHECK_FALSE(parse_entry(range, "greeter", "/services/greeter/a", ":80", why));
  CHECK_FALSE(parse_entry(range, "greeter", "/services/greeter/a", "", why));
}
