#include "config/status_policy.hpp"

#include <arpa/inet.h>

namespace registrar::config {

namespace {

constexpr std::size_t kMaxUnixPath = 107;  // sizeof(sockaddr_un::sun_path) - 1 on Linux

std::string runtime_directory_socket(const EnvLookup& env) {
  const auto dir = env("RUNTIME_DIRECTORY");
  if (!dir || dir->empty()) return "";
  // systemd lists several directories separated by ':' when RuntimeDirectory= names several.
  const std::string first = dir->substr(0, dir->find(':'));
  if (first.empty() || first.front() != '/') return "";
  return first + "/" + kControlSocketName;
}

}  // namespace

bool is_loopback(const ListenAddress& a) {
  in_addr v4{};
  if (::inet_pton(AF_INET, a.host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, a.host.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

std::string remote_refusal(const ListenAddress& a) {
  return to_string(a) +
         " is not a loopback address: /healthz, /readyz, /v1/services and /metrics would be "
         "open to the network; set status.allow_remote: true (or --status-allow-remote) to "
         "allow it";
}

std::string remote_status_warning(const StatusSpec& s) {
  if (s.listen.empty()) return "";
  std::string why;
  const auto a = parse_listen_address(s.listen, why);
  if (!a || is_loopback(*a)) return "";
  return "status.listen " + s.listen +
         " is not a loopback address (status.allow_remote: true): /healthz, /readyz, "
         "/v1/services and /metrics are open to the network; drain stays on the control socket";
}

bool valid_control_socket(const std::string& path, std::string& why) {
  if (path == "off") return true;
  if (path.empty() || path.front() != '/') {
    why = "expected an absolute path or off, got \"" + path + "\"";
    return false;
  }
  if (path.size() > kMaxUnixPath) {
    why = "a Unix socket path has at most " + std::to_string(kMaxUnixPath) + " bytes, got " +
          std::to_string(path.size());
    return false;
  }
  if (path.find('\0') != std::string::npos) {
    why = "a path must not hold a NUL byte";
    return false;
  }
  return true;
}

std::string control_socket_path(const StatusSpec& s, const EnvLookup& env) {
  if (s.control_socket == "off") return "";
  if (!s.control_socket.empty()) return s.control_socket;
  if (s.listen.empty()) return "";
  const std::string from_env = runtime_directory_socket(env);
  return from_env.empty() ? kDefaultControlSocket : from_env;
}

std::vector<std::string> control_socket_candidates(const StatusSpec& s, const EnvLookup& env) {
  if (s.control_socket == "off") return {};
  if (!s.control_socket.empty()) return {s.control_socket};
  std::vector<std::string> out;
  if (std::string from_env = runtime_directory_socket(env); !from_env.empty())
    out.push_back(std::move(from_env));
  if (out.empty() || out.front() != kDefaultControlSocket) out.emplace_back(kDefaultControlSocket);
  return out;
}

}  // namespace registrar::config
