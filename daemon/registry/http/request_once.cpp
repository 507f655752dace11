#include "registry/http/request_once.hpp"

#include <boost/asio/io_context.hpp>
#include <optional>

#include "registry/http/client.hpp"

namespace registrar::registry::http {

HttpResult request_once(const std::string& address, const config::TlsSpec& tls,
                        const TlsNames& tls_names, std::chrono::milliseconds timeout,
                        HttpRequest request) {
  boost::asio::io_context ioc;
  std::optional<HttpResult> result;
  {
    HttpClient client(ioc.get_executor(), address, timeout, tls, tls_names);
    client.send(std::move(request), [&result](HttpResult r) { result = std::move(r); });
    // The client's own deadline ends the request; run() returns once it is done.
    while (!result && ioc.run_one() > 0) {
    }
  }
  if (!result) {
    HttpResult r;
    r.error = HttpResult::Error::Timeout;
    r.error_text = "no answer within " + std::to_string(timeout.count()) + " ms";
    return r;
  }
  return *result;
}

}  // namespace registrar::registry::http
