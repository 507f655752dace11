// local_tcp_owner (peer.hpp): one exact NETLINK_SOCK_DIAG lookup of the client's socket by its
// four-tuple, the way `ss -e` shows a socket's uid. Any local user may ask this of any socket.
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>

#include "status/peer.hpp"

namespace registrar::status {

namespace {

// The IPv4 form of a v4-mapped address: the client's socket is then an AF_INET one.
boost::asio::ip::address unmapped(const boost::asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  return a;
}

// Writes `a` into inet_diag_sockid's 4 x 32-bit address field.
void put_address(const boost::asio::ip::address& a, __be32 out[4]) {
  std::memset(out, 0, 16);
  if (a.is_v4()) {
    const auto bytes = a.to_v4().to_bytes();
    std::memcpy(out, bytes.data(), bytes.size());
  } else {
    const auto bytes = a.to_v6().to_bytes();
    std::memcpy(out, bytes.data(), bytes.size());
  }
}

struct DiagRequest {
  nlmsghdr header;
  inet_diag_req_v2 request;
};

}  // namespace

std::optional<uid_t> local_tcp_owner(const boost::asio::ip::tcp::endpoint& client,
                                     const boost::asio::ip::tcp::endpoint& server) {
  const auto client_address = unmapped(client.address());
  const auto server_address = unmapped(server.address());
  if (client_address.is_v4() != server_address.is_v4()) return std::nullopt;
  const int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return std::nullopt;
  timeval tv{0, 200000};  // the kernel answers at once; never let a lookup hold the loop
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  DiagRequest req{};
  req.header.nlmsg_len = sizeof req;
  req.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.header.nlmsg_flags = NLM_F_REQUEST;
  req.request.sdiag_family = client_address.is_v4() ? AF_INET : AF_INET6;
  req.request.sdiag_protocol = IPPROTO_TCP;
  req.request.idiag_states = ~0U;
  // The client's socket: its source is the client's end, its destination our end.
  req.request.id.idiag_sport = htons(client.port());
  req.request.id.idiag_dport = htons(server.port());
  put_address(client_address, req.request.id.idiag_src);
  put_address(server_address, req.request.id.idiag_dst);
  req.request.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  req.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  std::optional<uid_t> uid;
  if (::sendto(fd, &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) ==
      static_cast<ssize_t>(sizeof req)) {
    alignas(nlmsghdr) char buf[1024];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    const auto* h = reinterpret_cast<const nlmsghdr*>(buf);
    if (n > 0 && NLMSG_OK(h, static_cast<unsigned>(n)) && h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
        h->nlmsg_len >= NLMSG_LENGTH(sizeof(inet_diag_msg))) {
      uid = static_cast<const inet_diag_msg*>(NLMSG_DATA(h))->idiag_uid;
    }
  }
  ::close(fd);
  return uid;
}

}  // namespace registrar::status
