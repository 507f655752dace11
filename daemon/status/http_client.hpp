// A one-shot HTTP/1.1 client for the command line (`drain`, `status`): one request to a
// running daemon's status server or control socket, bounded by a timeout. Blocking; not for the
// daemon's loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace registrar::status {

struct HttpResult {
  int status = 0;
  std::string body;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// Sends `method path` to host:port (an IP address, or a name resolved first). Returns nullopt
// and sets `error` when there is no answer (connection refused, timeout, bad response). Header
// values never appear in `error`.
std::optional<HttpResult> http_request(const std::string& host, std::uint16_t port,
                                       const std::string& method, const std::string& path,
                                       std::chrono::milliseconds timeout, std::string& error,
                                       const HttpHeaders& headers = {});

// The same over the Unix socket at `socket_path` (the daemon's control socket). `error` names
// the socket ("cannot connect to the control socket /run/...: Permission denied").
std::optional<HttpResult> http_request_unix(const std::string& socket_path,
                                            const std::string& method, const std::string& path,
                                            std::chrono::milliseconds timeout, std::string& error,
                                            const HttpHeaders& headers = {});

}  // namespace registrar::status
