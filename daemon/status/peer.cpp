#include "status/peer.hpp"

#include <sys/socket.h>

namespace registrar::status {

namespace {

std::string endpoint_text(const boost::asio::ip::tcp::endpoint& ep) {
  const auto a = ep.address();
  const std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  return host + ":" + std::to_string(ep.port());
}

std::string ip_of(const std::string& address) {
  return address.substr(0, address.rfind(':'));
}

}  // namespace

std::string Peer::client_key() const {
  if (uid) return "uid:" + std::to_string(*uid);
  return control_socket ? "control:unknown" : "ip:" + ip_of(address);
}

std::string Peer::describe() const {
  if (control_socket) {
    std::string s = uid ? "uid " + std::to_string(*uid) : std::string("an unknown user");
    if (pid) s += ", pid " + std::to_string(*pid);
    return s + ", on the control socket";
  }
  return uid ? address + " (uid " + std::to_string(*uid) + ")" : address;
}

Peer tcp_peer(boost::asio::ip::tcp::socket& socket) {
  Peer p;
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) return p;
  p.address = endpoint_text(remote);
  auto address = remote.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  if (address.is_loopback()) {
    const auto local = socket.local_endpoint(ec);
    if (!ec) p.uid = local_tcp_owner(remote, local);
  }
  return p;
}

Peer unix_peer(boost::asio::local::stream_protocol::socket& socket) {
  Peer p;
  p.control_socket = true;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    p.uid = cred.uid;
    p.pid = cred.pid;
  }
  return p;
}

}  // namespace registrar::status
