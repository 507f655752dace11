#include "registry/etcd/key_format.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using registrar::config::EtcdKeyFormat;
using registrar::registry::Registration;
using registrar::registry::etcd::format_entry;

namespace {
Registration hello() {
  return {"hello", "hello-1", "10.0.0.5", 50051, {"v1", "blue"}, {{"zone", "a"}}, {}, {}};
}
}  // namespace

TEST_CASE("json format: key by id, value with every field") {
  auto e = format_entry(EtcdKeyFormat::Json, "/services", hello());
  CHECK(e.key == "/services/hello/hello-1");
  auto v = nlohmann::json::parse(e.value);
  CHECK(v ==
        nlohmann::json::parse(R"({"name":"hello","id":"hello-1","address":"10.0.0.5","port":50051,)"
                              R"("tags":["v1","blue"],"meta":{"zone":"a"}})"));
  CHECK(v["port"].is_number());
}

TEST_CASE("json format: empty tags and meta are an empty array and object") {
  Registration r{"a", "a-1", "127.0.0.1", 1, {}, {}, {}, {}};
  auto v = nlohmann::json::parse(format_entry(EtcdKeyFormat::Json, "/p", r).value);
  CHECK(v["tags"].is_array());
  CHECK(v["tags"].empty());
  CHECK(v["meta"].is_object());
}

TEST_CASE("gokit format: key ends in host:port and the value is exactly host:port") {
  auto e = format_entry(EtcdKeyFormat::GoKit, "/services", hello());
  CHECK(e.key == "/services/hello/10.0.0.5:50051");
  CHECK(e.value == "10.0.0.5:50051");
}

TEST_CASE("grpc-go format: no prefix, value is a naming update with Op 0 and null Metadata") {
  auto e = format_entry(EtcdKeyFormat::GrpcGo, "/services", hello());
  CHECK(e.key == "hello/10.0.0.5:50051");
  CHECK(e.value == R"({"Op":0,"Addr":"10.0.0.5:50051","Metadata":null})");
  // Metadata stays null even with meta: an object there panics gRPC-Go's round_robin.
  Registration bare{"x", "x-1", "127.0.0.1", 9, {}, {}, {}, {}};
  CHECK(nlohmann::json::parse(format_entry(EtcdKeyFormat::GrpcGo, "", bare).value)["Metadata"]
            .is_null());
}

TEST_CASE("IPv6 addresses are bracketed in host:port") {
  Registration r{"h", "h-1", "fd00::5", 443, {}, {}, {}, {}};
  CHECK(format_entry(EtcdKeyFormat::GoKit, "/s", r).value == "[fd00::5]:443");
  CHECK(format_entry(EtcdKeyFormat::GoKit, "/s", r).key == "/s/h/[fd00::5]:443");
  CHECK(nlohmann::json::parse(format_entry(EtcdKeyFormat::GrpcGo, "", r).value)["Addr"] ==
        "[fd00::5]:443");
}
