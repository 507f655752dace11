// The Nacos entry format: form encoding, metadata with gRPC_port, and the parsing of answers.
#include "registry/nacos/nacos_api.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace registrar::registry;
using namespace registrar::registry::nacos;
using namespace std::chrono_literals;

TEST_CASE("nacos api: form escaping keeps only unreserved characters") {
  CHECK(form_escape("a-b_c.d~e") == "a-b_c.d~e");
  CHECK(form_escape("{\"k\":\"v w\"}&=") == "%7B%22k%22%3A%22v%20w%22%7D%26%3D");
}

TEST_CASE("nacos api: metadata is the meta plus gRPC_port, unless the meta sets it") {
  Registration r{"svc", "id", "10.0.0.1", 5000, {}, {{"zone", "a"}}, Health::Passing, ""};
  CHECK(nlohmann::json::parse(metadata_json(r)) ==
        nlohmann::json{{"zone", "a"}, {"gRPC_port", "5000"}});
  r.meta["gRPC_port"] = "6000";  // an operator's own value wins (a port behind a proxy, say)
  CHECK(nlohmann::json::parse(metadata_json(r))["gRPC_port"] == "6000");
}

TEST_CASE("nacos api: a beat's answer, and odd intervals ignored") {
  std::string why;
  auto a =
      parse_beat_answer(R"({"clientBeatInterval":2000,"code":10200,"lightBeatEnabled":true})", why);
  REQUIRE(a);
  CHECK(a->code == kCodeOk);
  CHECK(a->interval == 2000ms);
  a = parse_beat_answer(R"({"clientBeatInterval":5000,"code":20404})", why);
  REQUIRE(a);
  CHECK(a->code == kCodeResourceNotFound);
  a = parse_beat_answer(R"({"clientBeatInterval":0,"code":10200})", why);
  REQUIRE(a);
  CHECK(a->interval == kDefaultBeatInterval);  // 0 would beat in a tight loop
  CHECK_FALSE(parse_beat_answer("ok", why));
  CHECK(why == "the beat's answer is not a JSON object");
  CHECK_FALSE(parse_beat_answer(R"({"code":"x"})", why));
}

TEST_CASE("nacos api: a login's answer needs a token") {
  std::string why;
  auto a = parse_login_answer(R"({"accessToken":"t","tokenTtl":60,"globalAdmin":false})", why);
  REQUIRE(a);
  CHECK(a->token == "t");
  CHECK(a->ttl == 60s);
  CHECK_FALSE(parse_login_answer(R"({"accessToken":"","tokenTtl":60})", why));
  CHECK_FALSE(parse_login_answer("unknown user!", why));
  CHECK(why == "the login answer has no accessToken");
}

TEST_CASE("nacos api: the password is in the login's body, never in its target") {
  const auto req = login_request("u", "p w");
  CHECK(req.target == "/nacos/v1/auth/login");
  CHECK(req.body == "username=u&password=p%20w");
  CHECK(req.content_type == "application/x-www-form-urlencoded");
}
