// Key suggestions and host:port syntax, used by the manifest parser.
#include <array>
#include <catch2/catch.hpp>
#include <string>

#include "config/address.hpp"
#include "config/suggest.hpp"

using namespace registrar::config;

TEST_CASE("edit distance counts insertions, deletions, substitutions and transpositions") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("abc", "") == 3);
  CHECK(edit_distance("port", "port") == 0);
  CHECK(edit_distance("prot", "port") == 1);  // transposition
  CHECK(edit_distance("endpoint", "endpoints") == 1);
  CHECK(edit_distance("lease_tl", "lease_ttl") == 1);
  CHECK(edit_distance("Port", "port") == 0);  // case-insensitive
  CHECK(edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("closest_match suggests only likely typos") {
  constexpr std::array<std::string_view, 4> keys{"interval", "timeout", "rise", "fall"};
  CHECK(closest_match("intervall", keys) == std::optional<std::string>("interval"));
  CHECK(closest_match("timeot", keys) == std::optional<std::string>("timeout"));
  CHECK(closest_match("rse", keys) == std::optional<std::string>("rise"));
  CHECK(closest_match("Fall", keys) == std::optional<std::string>("fall"));
  CHECK_FALSE(closest_match("rs", keys).has_value());  // 2 edits from a 4-letter word
  CHECK_FALSE(closest_match("zone", keys).has_value());
  CHECK_FALSE(closest_match("fall", keys).has_value());  // exact: nothing to suggest
  CHECK(join_names(keys) == "interval, timeout, rise, fall");
}

TEST_CASE("host validation") {
  CHECK(host_error("127.0.0.1").empty());
  CHECK(host_error("localhost").empty());
  CHECK(host_error("my_host.internal").empty());
  CHECK(host_error("::1").empty());
  CHECK(host_error("fe80::1%eth0").empty());
  CHECK(host_error("") == "empty address");
  CHECK(host_error("1.2.3") == "\"1.2.3\" is not a valid IPv4 address");
  CHECK(host_error("-a.example") == "\"-a.example\" is not a valid hostname, IPv4 or IPv6 address");
  CHECK(host_error("a-.example") == "\"a-.example\" is not a valid hostname, IPv4 or IPv6 address");
  CHECK(host_error("a-b.example").empty());
  CHECK(host_error(std::string(64, 'a')) ==
        "\"" + std::string(64, 'a') + "\" is not a valid hostname, IPv4 or IPv6 address");
  CHECK(host_error(std::string(63, 'a') + "." + std::string(63, 'b')).empty());
  CHECK(host_error("0.0.0.0") ==
        "\"0.0.0.0\" is a wildcard listen address, not one clients can "
        "dial; use a concrete address");
  CHECK(is_ipv6_literal("2001:db8::1"));
  CHECK_FALSE(is_ipv6_literal("127.0.0.1"));
  CHECK_FALSE(is_ipv6_literal("fe80::1%"));
  CHECK(join_host_port("::1", 80) == "[::1]:80");
  CHECK(join_host_port("h", 80) == "h:80");
}

TEST_CASE("etcd endpoint normalisation") {
  std::string why;
  CHECK(normalize_etcd_endpoint("127.0.0.1:2379", why) ==
        std::optional<std::string>("127.0.0.1:2379"));
  CHECK(normalize_etcd_endpoint("http://etcd:2379", why) ==
        std::optional<std::string>("etcd:2379"));
  CHECK(normalize_etcd_endpoint("http://[::1]:2379/", why) ==
        std::optional<std::string>("[::1]:2379"));
  CHECK_FALSE(normalize_etcd_endpoint("https://etcd:2379", why).has_value());
  CHECK(why ==
        "use host:port; TLS to etcd is turned on by a registry.etcd.tls section, not by https://");
  CHECK_FALSE(normalize_etcd_endpoint("etcd:http", why).has_value());
  CHECK(why == "\"etcd:http\" has an invalid port \"http\" (1-65535)");
  CHECK_FALSE(normalize_etcd_endpoint("etcd:02379", why).has_value());
  CHECK(why == "\"etcd:02379\" has an invalid port \"02379\" (1-65535)");
  CHECK_FALSE(normalize_etcd_endpoint(":2379", why).has_value());
  CHECK(why == "empty address");
  CHECK_FALSE(normalize_etcd_endpoint("[::1]", why).has_value());
  CHECK(why == "\"[::1]\" has no port; expected host:port, e.g. 127.0.0.1:2379");
}

TEST_CASE("IPv6 literals: a zone is an interface name, and no NUL byte hides a suffix") {
  CHECK(host_error("fe80::1%eth0").empty());
  CHECK(host_error("fe80::1%3").empty());
  CHECK(host_error("fe80::1%br-lan.10").empty());
  CHECK_FALSE(host_error("fe80::1%").empty());
  CHECK_FALSE(host_error("fe80::1%eth0 x").empty());
  CHECK_FALSE(host_error("fe80::1%eth0://x").empty());
  CHECK_FALSE(host_error("fe80::1%eth03unix:///var/run/").empty());
  CHECK_FALSE(host_error(std::string("fe80::1%a\0b", 11)).empty());
  CHECK_FALSE(host_error(std::string("fe80::\0 junk", 12)).empty());
  CHECK(host_error("fe80::1%eth0 x") == "\"fe80::1%eth0 x\" is not a valid IPv6 address");
}

TEST_CASE("an address with user:password@ is refused without being quoted") {
  std::string why;
  CHECK_FALSE(normalize_etcd_endpoint("http://root:s3cr3t-pw@127.0.0.1:2379", why));
  CHECK(why.find("s3cr3t-pw") == std::string::npos);
  CHECK(why.find("credentials in an address") != std::string::npos);
  why.clear();
  CHECK_FALSE(normalize_consul_address("https://tok:s3cr3t-pw@consul:8501", why));
  CHECK(why.find("s3cr3t-pw") == std::string::npos);
  CHECK(why.find("credentials in an address") != std::string::npos);
}
