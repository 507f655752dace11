#include "registry/etcd/etcd_auth.hpp"

#include "runtime/secret_file.hpp"

namespace registrar::registry::etcd {

namespace {

constexpr const char* kAuthPrefix = "etcd authentication as user";

bool has(const grpc::Status& s, const char* text) {
  return s.error_message().find(text) != std::string::npos;
}

std::string user_of(const config::EtcdSpec& spec) {
  return std::string(kAuthPrefix) + " \"" + spec.username + "\"";
}

std::string code_of(const grpc::Status& s) {
  return "gRPC code " + std::to_string(static_cast<int>(s.error_code()));
}

}  // namespace

AuthReply classify_auth_reply(const grpc::Status& s) {
  using grpc::StatusCode;
  switch (s.error_code()) {
    case StatusCode::UNAUTHENTICATED:
      if (has(s, "invalid auth token")) return AuthReply::InvalidToken;
      return AuthReply::Other;
    case StatusCode::INVALID_ARGUMENT:
      if (has(s, "revision of auth store is old")) return AuthReply::OldRevision;
      if (has(s, "user name is empty")) return AuthReply::UserEmpty;
      if (has(s, "authentication failed")) return AuthReply::AuthFailed;
      return AuthReply::Other;
    case StatusCode::FAILED_PRECONDITION:
      if (has(s, "authentication is not enabled")) return AuthReply::AuthNotEnabled;
      return AuthReply::Other;
    case StatusCode::PERMISSION_DENIED:
      return AuthReply::PermissionDenied;
    default:
      return AuthReply::Other;
  }
}

bool should_reauthenticate(const grpc::Status& status) {
  const AuthReply r = classify_auth_reply(status);
  return r == AuthReply::InvalidToken || r == AuthReply::OldRevision || r == AuthReply::UserEmpty;
}

std::optional<std::string> read_password(const config::EtcdSpec& spec, std::string& error) {
  if (spec.password_file.empty()) {
    if (spec.password.empty()) {
      error =
          "no password (" +
          (spec.password_source.empty() ? std::string("ETCDCTL_PASSWORD") : spec.password_source) +
          " is empty)";
      return std::nullopt;
    }
    return spec.password;
  }
  runtime::SecretReadOptions options;
  options.trim_trailing_newlines = true;
  options.what = "registry.etcd.password_file";
  std::string why;
  std::optional<std::string> pw = runtime::read_secret_file(spec.password_file, why, options);
  if (!pw) {
    error = "cannot read registry.etcd.password_file: " + why;
    return std::nullopt;
  }
  if (pw->empty()) {
    error = "registry.etcd.password_file (" + spec.password_file + ") is empty";
    return std::nullopt;
  }
  return pw;
}

grpc::Status auth_failure(const std::string& message) {
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, message);
}

bool is_auth_failure(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAUTHENTICATED &&
         status.error_message().rfind(kAuthPrefix, 0) == 0;
}

grpc::Status describe_authenticate_failure(const config::EtcdSpec& spec,
                                           const grpc::Status& status) {
  if (classify_auth_reply(status) == AuthReply::AuthFailed)
    return auth_failure(user_of(spec) + " failed: etcd answered that the user name or password " +
                        "is wrong (password from " + spec.password_source + "); etcd: \"" +
                        status.error_message() + "\" (" + code_of(status) + ")");
  return auth_failure(user_of(spec) + " failed (password from " + spec.password_source +
                      "): " + status.error_message() + " (" + code_of(status) + ")");
}

grpc::Status explain_refusal(const config::EtcdSpec& spec, const grpc::Status& status) {
  const AuthReply r = classify_auth_reply(status);
  if (r == AuthReply::PermissionDenied) {
    const std::string who = spec.username.empty()
                                ? std::string(
                                      "etcd denied permission (the client certificate's "
                                      "common name is the user when no username is set)")
                                : "etcd user \"" + spec.username + "\" lacks permission";
    return grpc::Status(
        status.error_code(),
        status.error_message() + ": " + who +
            "; its role needs readwrite on the keys this daemon writes " +
            (spec.format == config::EtcdKeyFormat::GrpcGo ? std::string("(the service names)")
                                                          : "(prefix \"" + spec.prefix + "/\")") +
            " and on its ownership record " +
            (spec.owner.empty() ? std::string("(\"/grpc-registrar/owners/<owner>\")")
                                : "\"/grpc-registrar/owners/" + spec.owner + "\""));
  }
  if (r == AuthReply::UserEmpty && spec.username.empty())
    return grpc::Status(status.error_code(),
                        status.error_message() +
                            ": etcd requires authentication; set registry.etcd.username and "
                            "registry.etcd.password_file");
  return status;
}

}  // namespace registrar::registry::etcd
