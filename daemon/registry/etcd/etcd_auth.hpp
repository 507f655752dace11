// etcd authentication: what etcd's answers mean for the token, the password (read at each
// authentication), and the messages an operator sees. Never a password in any of them.
#pragma once

#include <grpcpp/support/status.h>

#include <optional>
#include <string>

#include "config/manifest.hpp"

namespace registrar::registry::etcd {

// The answers of etcd (3.4, 3.5) that concern authentication.
enum class AuthReply {
  Other,
  InvalidToken,      // UNAUTHENTICATED "etcdserver: invalid auth token": expired, or etcd restarted
  OldRevision,       // INVALID_ARGUMENT "etcdserver: revision of auth store is old": users,
                     // roles or permissions changed since the token was issued
  UserEmpty,         // INVALID_ARGUMENT "etcdserver: user name is empty": no token, auth is on
  AuthFailed,        // INVALID_ARGUMENT "etcdserver: authentication failed, invalid user ID or
                     // password"
  AuthNotEnabled,    // FAILED_PRECONDITION "etcdserver: authentication is not enabled"
  PermissionDenied,  // PERMISSION_DENIED "etcdserver: permission denied"
};

AuthReply classify_auth_reply(const grpc::Status& status);

// A fresh token may make the call succeed: authenticate again, then retry it once.
bool should_reauthenticate(const grpc::Status& status);

// The password of `spec`: password_file's content (trailing newlines dropped), re-read at every
// call, else the one taken from $ETCDCTL_PASSWORD. nullopt with `error` naming the file when it
// cannot be read or is empty.
std::optional<std::string> read_password(const config::EtcdSpec& spec, std::string& error);

// Authentication failures the client reports: UNAUTHENTICATED, with a message that starts
// "etcd authentication as user" and names the user and the password's source.
grpc::Status auth_failure(const std::string& message);
bool is_auth_failure(const grpc::Status& status);

// The failure of Authenticate (answered `status`) as an auth_failure().
grpc::Status describe_authenticate_failure(const config::EtcdSpec& spec,
                                           const grpc::Status& status);

// A refusal of a KV or Lease call explained: a hint for PERMISSION_DENIED (the role the user
// needs) and for "user name is empty" without a username (etcd wants authentication). Other
// statuses are returned unchanged.
grpc::Status explain_refusal(const config::EtcdSpec& spec, const grpc::Status& status);

}  // namespace registrar::registry::etcd
