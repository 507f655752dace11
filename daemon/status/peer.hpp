// Who is on the other end of a status connection: the address, and the user when the kernel can
// tell (SO_PEERCRED on the control socket; the owner of the client's socket for a loopback TCP
// peer, through sock_diag). Connection limits count per client (Peer::client_key), and the log
// line of an action names the peer (Peer::describe).
#pragma once

#include <sys/types.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <optional>
#include <string>

namespace registrar::status {

struct Peer {
  bool control_socket = false;  // the Unix control socket, else TCP
  std::string address;          // "127.0.0.1:50312", "[::1]:50312"; "" on the control socket
  std::optional<uid_t> uid;     // the client's user, when known
  std::optional<pid_t> pid;     // the client's process (control socket only)

  // The key connection limits count by: the user when known, else the IP address.
  std::string client_key() const;
  // "uid 0, pid 4242, on the control socket"; "127.0.0.1:50312 (uid 1000)"; "192.0.2.7:50312".
  std::string describe() const;
};

Peer tcp_peer(boost::asio::ip::tcp::socket& socket);
Peer unix_peer(boost::asio::local::stream_protocol::socket& socket);

// The owner of the TCP socket at `client` connected to `server`, both on this host (a loopback
// peer), through NETLINK_SOCK_DIAG; nullopt when the kernel does not tell (no such socket,
// netlink not allowed by a sandbox).
std::optional<uid_t> local_tcp_owner(const boost::asio::ip::tcp::endpoint& client,
                                     const boost::asio::ip::tcp::endpoint& server);

}  // namespace registrar::status
