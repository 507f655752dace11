#include "registry/etcd/etcd_auth.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "support/temp_dir.hpp"

using grpc::Status;
using grpc::StatusCode;
using registrar::config::EtcdSpec;
using namespace registrar::registry::etcd;

namespace {
// A password that is only ever in this test's files: it must never show in a message.
constexpr const char* kPassword = "pw-unit-Secret-41";

EtcdSpec spec_with_file(const std::string& path) {
  EtcdSpec s;
  s.username = "registrar";
  s.password_file = path;
  s.password_source = "registry.etcd.password_file (" + path + ")";
  return s;
}
}  // namespace

TEST_CASE("etcd's auth answers are told apart by code and message") {
  CHECK(classify_auth_reply(Status(StatusCode::UNAUTHENTICATED,
                                   "etcdserver: invalid auth token")) == AuthReply::InvalidToken);
  CHECK(classify_auth_reply(
            Status(StatusCode::INVALID_ARGUMENT, "etcdserver: revision of auth store is old")) ==
        AuthReply::OldRevision);
  CHECK(classify_auth_reply(Status(StatusCode::INVALID_ARGUMENT,
                                   "etcdserver: user name is empty")) == AuthReply::UserEmpty);
  CHECK(classify_auth_reply(
            Status(StatusCode::INVALID_ARGUMENT,
                   "etcdserver: authentication failed, invalid user ID or password")) ==
        AuthReply::AuthFailed);
  CHECK(classify_auth_reply(
            Status(StatusCode::FAILED_PRECONDITION, "etcdserver: authentication is not enabled")) ==
        AuthReply::AuthNotEnabled);
  CHECK(
      classify_auth_reply(Status(StatusCode::PERMISSION_DENIED, "etcdserver: permission denied")) ==
      AuthReply::PermissionDenied);
  CHECK(classify_auth_reply(Status(StatusCode::INVALID_ARGUMENT,
                                   "etcdserver: key is not provided")) == AuthReply::Other);
  CHECK(classify_auth_reply(Status(StatusCode::UNAVAILABLE, "invalid auth token")) ==
        AuthReply::Other);
}

TEST_CASE("a new token is worth a retry only for a rejected, stale or missing token") {
  CHECK(
      should_reauthenticate(Status(StatusCode::UNAUTHENTICATED, "etcdserver: invalid auth token")));
  CHECK(should_reauthenticate(
      Status(StatusCode::INVALID_ARGUMENT, "etcdserver: revision of auth store is old")));
  CHECK(should_reauthenticate(
      Status(StatusCode::INVALID_ARGUMENT, "etcdserver: user name is empty")));
  CHECK_FALSE(should_reauthenticate(
      Status(StatusCode::PERMISSION_DENIED, "etcdserver: permission denied")));
  CHECK_FALSE(should_reauthenticate(Status(StatusCode::UNAVAILABLE, "Connection refused")));
  CHECK_FALSE(should_reauthenticate(Status::OK));
}

TEST_CASE("the password file is re-read at every call, trailing newlines dropped") {
  registrar::test::TempDir dir;
  const auto path = dir.write_file("pw", std::string(kPassword) + "\n");
  ::chmod(path.c_str(), 0600);
  const EtcdSpec spec = spec_with_file(path.string());
  std::string error;
  CHECK(read_password(spec, error) == std::string(kPassword));
  dir.write_file("pw", "rotated\r\n");
  CHECK(read_password(spec, error) == std::string("rotated"));
}

TEST_CASE("a missing or empty password file is an error naming the file, not a password") {
  registrar::test::TempDir dir;
  std::string error;
  const EtcdSpec missing = spec_with_file((dir.path() / "absent").string());
  CHECK_FALSE(read_password(missing, error));
  CHECK(error.find("cannot read registry.etcd.password_file: ") == 0);
  CHECK(error.find((dir.path() / "absent").string()) != std::string::npos);
  const auto empty = dir.write_file("empty", "\n");
  ::chmod(empty.c_str(), 0600);
  CHECK_FALSE(read_password(spec_with_file(empty.string()), error));
  CHECK(error.find("is empty") != std::string::npos);
}

TEST_CASE("a password from the environment is used as it is") {
  EtcdSpec s;
  s.username = "registrar";
  s.password = kPassword;
  s.password_source = "ETCDCTL_PASSWORD";
  std::string error;
  CHECK(read_password(s, error) == std::string(kPassword));
}

TEST_CASE("a wrong password is an auth failure naming the user and the source, not the password") {
  const EtcdSpec spec = spec_with_file("/run/secrets/etcd-pw");
  const Status s = describe_authenticate_failure(
      spec, Status(StatusCode::INVALID_ARGUMENT,
                   "etcdserver: authentication failed, invalid user ID or password"));
  CHECK(is_auth_failure(s));
  const std::string& m = s.error_message();
  CHECK(m.find("etcd authentication as user \"registrar\" failed") == 0);
  CHECK(m.find("registry.etcd.password_file (/run/secrets/etcd-pw)") != std::string::npos);
  CHECK(m.find("invalid user ID or password") != std::string::npos);
  CHECK(m.find(kPassword) == std::string::npos);
  CHECK_FALSE(
      is_auth_failure(Status(StatusCode::UNAUTHENTICATED, "etcdserver: invalid auth token")));
}

TEST_CASE("permission denied names the user and the keys its role needs") {
  EtcdSpec spec = spec_with_file("/p");
  spec.prefix = "/services";
  spec.owner = "node-7:/etc/grpc-registrar/services.yaml";
  const Status s =
      explain_refusal(spec, Status(StatusCode::PERMISSION_DENIED, "etcdserver: permission denied"));
  CHECK(s.error_code() == StatusCode::PERMISSION_DENIED);
  CHECK(s.error_message().find("user \"registrar\" lacks permission") != std::string::npos);
  CHECK(s.error_message().find("\"/services/\"") != std::string::npos);
  CHECK(s.error_message().find(
            "its ownership record "
            "\"/grpc-registrar/owners/node-7:/etc/grpc-registrar/services.yaml\"") !=
        std::string::npos);
  EtcdSpec none;
  const Status u =
      explain_refusal(none, Status(StatusCode::INVALID_ARGUMENT, "etcdserver: user name is empty"));
  CHECK(u.error_message().find("set registry.etcd.username") != std::string::npos);
  const Status other(StatusCode::INVALID_ARGUMENT,
                     "etcdserver: too many operations in txn request");
  CHECK(explain_refusal(spec, other).error_message() == other.error_message());
}
