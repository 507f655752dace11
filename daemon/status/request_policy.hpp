// What a request must look like before any endpoint sees it: HTTP framing the server implements
// (RFC 9112: a Transfer-Encoding other than "chunked" is answered 501 and the connection closed,
// so that a body can never be read as a second request), and not shaped like a browser's (DNS
// rebinding, cross-site forms): an Origin or Sec-Fetch-* header, a Host that is not an IP
// address or localhost (any IP when status.allow_remote, else a loopback one), a body that is
// not JSON. Pure: tested in tests/unit/status/request_policy_test.cpp.
#pragma once

#include <optional>
#include <string>

namespace registrar::status {

// The headers the policy reads ("" when absent).
struct RequestHeaders {
  std::string host;
  std::string origin;
  std::string transfer_encoding;
  std::string content_type;
  bool has_content_length = false;
  bool has_sec_fetch = false;  // any Sec-Fetch-* header
  bool has_body = false;       // Content-Length > 0 or chunked
};

struct PolicyRefusal {
  int status = 400;
  std::string reason;  // one line, for the answer's body and the debug log
};

struct RequestPolicy {
  bool control_socket = false;  // no Host rule there: browsers cannot reach a Unix socket
  bool any_ip_host = false;     // status.allow_remote: any IP literal in Host is accepted
};

// nullopt when the request may go on to its endpoint.
std::optional<PolicyRefusal> refuse(const RequestHeaders& h, const RequestPolicy& policy);

// Whether `host` (a Host header: "name", "name:port", "[v6]:port") names this server as the
// policy allows: localhost or a loopback IP, or any IP literal when any_ip is true.
bool host_accepted(const std::string& host, bool any_ip);

}  // namespace registrar::status
