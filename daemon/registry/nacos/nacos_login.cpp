#include "registry/nacos/nacos_login.hpp"

#include "runtime/secret_file.hpp"

namespace registrar::registry::nacos {

std::optional<std::string> Login::read_file(const std::string& path, std::string& error) {
  runtime::SecretReadOptions options;
  options.trim_trailing_newlines = true;
  options.what = "registry.nacos.password_file";
  return runtime::read_secret_file(path, error, options);
}

std::optional<std::string> Login::password(std::string& error) const {
  if (spec_->password_file.empty()) {
    if (spec_->password.empty())
      error = "no password (registry.nacos.password_file or $NACOS_PASSWORD)";
    if (spec_->password.empty()) return std::nullopt;
    return spec_->password;
  }
  std::optional<std::string> pw = read_file_(spec_->password_file, error);
  if (pw && pw->empty()) {
    error = "registry.nacos.password_file " + spec_->password_file + " is empty";
    return std::nullopt;
  }
  return pw;
}

void Login::obtained(std::string token, std::chrono::seconds ttl, time_point now) {
  token_ = std::move(token);
  // Renewed a tenth of its lifetime early (Nacos's clients: tokenRefreshWindow = tokenTtl / 10).
  renew_at_ = now + ttl - ttl / 10;
}

}  // namespace registrar::registry::nacos
