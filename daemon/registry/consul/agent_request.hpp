// A request to the Consul agent: the HTTP transport's request, with the ACL token in the
// X-Consul-Token header (never in the query string, where access logs would keep it).
#pragma once

#include <string>
#include <utility>

#include "registry/http/transport.hpp"

namespace registrar::registry::consul {

using http::HttpRequest;
using http::HttpResult;
using http::HttpTransport;
using http::Method;

inline constexpr const char* kTokenHeader = "X-Consul-Token";

inline HttpRequest agent_request(Method method, std::string target, std::string body,
                                 const std::string& token) {
  HttpRequest r;
  r.method = method;
  r.target = std::move(target);
  r.body = std::move(body);
  if (!token.empty()) r.headers.push_back({kTokenHeader, token});
  return r;
}

}  // namespace registrar::registry::consul
