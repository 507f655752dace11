// The request policy: framing (Transfer-Encoding), browser-shaped requests, Host, body types.
#include "status/request_policy.hpp"

#include <catch2/catch.hpp>

using namespace registrar::status;

namespace {
RequestHeaders plain(std::string host = "127.0.0.1:9901") {
  RequestHeaders h;
  h.host = std::move(host);
  return h;
}
int status_of(const RequestHeaders& h, RequestPolicy p = {}) {
  const auto r = refuse(h, p);
  return r ? r->status : 0;
}
}  // namespace

TEST_CASE("policy: what grpc-registrar status, curl and a kubelet send goes through",
          "[status][policy]") {
  CHECK(status_of(plain()) == 0);
  CHECK(status_of(plain("localhost:9901")) == 0);
  CHECK(status_of(plain("[::1]:9901")) == 0);
  CHECK(status_of(plain("::1")) == 0);
  CHECK(status_of(plain("127.0.0.2")) == 0);
  RequestHeaders json = plain();
  json.content_type = "application/json; charset=utf-8";
  json.has_body = true;
  json.has_content_length = true;
  CHECK(status_of(json) == 0);
  RequestPolicy remote;
  remote.any_ip_host = true;
  CHECK(status_of(plain("10.0.0.7:9901"), remote) == 0);  // a kubelet's httpGet to the pod IP
}

TEST_CASE("policy: a cross-site form post is refused", "[status][policy]") {
  RequestHeaders form = plain("attacker.example");
  form.origin = "http://attacker.example";
  form.content_type = "text/plain";
  form.has_body = true;
  form.has_content_length = true;
  const auto r = refuse(form, {});
  REQUIRE(r);
  CHECK(r->status == 403);
  CHECK(r->reason.find("web browsers") != std::string::npos);
  // Without Origin (an old browser, a form with a stripped header): Host, then the body type.
  form.origin.clear();
  CHECK(status_of(form) == 421);
  form.host = "127.0.0.1:9901";
  CHECK(status_of(form) == 415);
  RequestHeaders fetch = plain();
  fetch.has_sec_fetch = true;
  CHECK(status_of(fetch) == 403);
}

TEST_CASE("policy: Host must name this server as an address, never a DNS name",
          "[status][policy]") {
  CHECK(status_of(plain("attacker.example:9901")) == 421);  // DNS rebinding
  CHECK(status_of(plain("")) == 421);
  CHECK(status_of(plain("10.0.0.7:9901")) == 421);  // not loopback, and allow_remote is off
  CHECK(status_of(plain("[fe80::1]:9901")) == 421);
  CHECK(status_of(plain("[::1")) == 421);
  RequestPolicy remote;
  remote.any_ip_host = true;
  CHECK(status_of(plain("attacker.example"), remote) == 421);  // names stay refused
  RequestPolicy control;
  control.control_socket = true;  // no browser reaches a Unix socket
  CHECK(status_of(plain(""), control) == 0);
}

TEST_CASE("policy: Transfer-Encoding other than chunked is 501 (RFC 9112)", "[status][policy]") {
  for (const char* te : {"xchunked", "gzip", "gzip, chunked", "chunked, gzip", "identity"}) {
    RequestHeaders h = plain();
    h.transfer_encoding = te;
    h.has_body = true;
    h.content_type = "application/json";
    INFO(te);
    CHECK(status_of(h) == 501);
  }
  RequestHeaders chunked = plain();
  chunked.transfer_encoding = "Chunked";
  chunked.has_body = true;
  chunked.content_type = "application/json";
  CHECK(status_of(chunked) == 0);
  chunked.has_content_length = true;  // both: ambiguous framing
  CHECK(status_of(chunked) == 400);
}
