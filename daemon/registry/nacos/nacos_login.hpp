// The Nacos backend's login (servers with nacos.core.auth.enabled): when an accessToken is
// needed, the password it is got with (read from password_file at every login, so that a
// rotated file needs no restart, else taken from $NACOS_PASSWORD), and when to renew it: a tenth
// of tokenTtl before it runs out, as Nacos's own clients do, and at once after a 403.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "config/manifest.hpp"
#include "runtime/clock.hpp"

namespace registrar::registry::nacos {

class Login {
 public:
  using time_point = runtime::Clock::time_point;
  // Reads a secret file: its content, or nullopt with `error` set (never the content).
  using ReadFile =
      std::function<std::optional<std::string>(const std::string& path, std::string& error)>;
  static std::optional<std::string> read_file(const std::string& path, std::string& error);

  Login(const config::NacosSpec& spec, ReadFile read_file)
      : spec_(&spec), read_file_(std::move(read_file)) {}

  bool enabled() const { return !spec_->username.empty(); }
  // A login must come before the next request: none yet, renewal due, or the token refused.
  bool due(time_point now) const { return enabled() && (token_.empty() || now >= renew_at_); }
  // The password, or nullopt with `error` set.
  std::optional<std::string> password(std::string& error) const;
  void obtained(std::string token, std::chrono::seconds ttl, time_point now);
  // The server answered 403: log in again before the next request.
  void refused() { token_.clear(); }
  const std::string& token() const { return token_; }
  const std::string& username() const { return spec_->username; }
  const std::string& source() const { return spec_->password_source; }

 private:
  const config::NacosSpec* spec_;
  ReadFile read_file_;
  std::string token_;
  time_point renew_at_{};
};

}  // namespace registrar::registry::nacos
