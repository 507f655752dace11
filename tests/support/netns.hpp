// NetLab: a small network of Linux network namespaces for network-fault tests. Each node (the
// registry, the daemon, the probed service, ...) is a namespace of its own, joined to a hub
// namespace by a veth pair; the hub routes between them and is where faults are made, as a
// firewall between two hosts would make them (nftables; `tc netem` is not available):
//   - drop(a, b): packets from a to b vanish (one direction); blackhole(a, b): both directions;
//   - reject(a, b): TCP from a to b is answered with a reset, in b's name;
//   - heal(): every drop and reject gone;
//   - half_open(n): n's established TCP connections go silent for good (their packets dropped
//     in both directions from now on, so no FIN or RST of theirs ever arrives); then, with n's
//     processes killed, rebuild(n) tears n's namespace down and makes it again, same address.
//
// Addresses exist only inside the namespaces the lab creates: node i is 10.213.i.2/30, its hub
// side 10.213.i.1/30, and every node's default route goes through the hub. Namespace names carry
// the test process's pid ("rgnf<pid>-<node>"), so parallel test runs never collide; the
// constructor sweeps the namespaces of runs whose process is gone (a crash, a ctest timeout).
// The destructor SIGKILLs whatever still runs in the lab's namespaces and deletes them, also
// while an assertion unwinds. Needs root, `ip` (iproute2) and `nft` (nftables).
#pragma once

#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/process.hpp"

namespace registrar::test {

// Why network namespaces cannot be used here ("" when they can): not root, `ip` or `nft`
// missing, or creating a namespace, a veth pair or an nftables table failed. Probed once.
// REGISTRAR_TEST_NETNS=off makes it say so, to see a netfault test fail under CI=true.
std::string netns_unavailable_reason();

// Runs `fn` on a new thread that has entered the network namespace at `ns_path`
// (/run/netns/NAME) and returns its result (or rethrows its exception). What `fn` creates there
// stays there: sockets, processes it spawns, and threads it starts (a thread inherits the
// namespace of the thread that made it).
void run_in_netns(const std::string& ns_path, const std::function<void()>& fn);

class NetLab {
 public:
  NetLab();
  ~NetLab();
  NetLab(const NetLab&) = delete;
  NetLab& operator=(const NetLab&) = delete;

  // A new node linked to the hub; returns its address. Names: [a-z0-9], at most 10 characters.
  std::string add(const std::string& node);
  std::string address(const std::string& node) const;
  std::string ns_name(const std::string& node) const;  // for `ip netns exec`

  // `program args` started inside the node's namespace (`ip netns exec NS program args`: the
  // child is exec'd in place, so its pid is the program's and signals reach it).
  std::unique_ptr<Process> spawn(const std::string& node, const std::string& program,
                                 const std::vector<std::string>& args, EnvVars env = {},
                                 const std::string& label = {}) const;
  // `fn()` on a thread inside the node's namespace (see run_in_netns).
  template <class F>
  auto within(const std::string& node, F&& fn) const -> std::invoke_result_t<F&>;

  // --- faults, made in the hub; each applies at once to packets in flight and to come ---
  void drop(const std::string& from, const std::string& to);
  void blackhole(const std::string& a, const std::string& b) {
    drop(a, b);
    drop(b, a);
  }
  // TCP from `from` to `to` is refused with a reset sent back in `to`'s name.
  void reject(const std::string& from, const std::string& to);
  // Removes every drop and reject (not the silenced connections of half_open).
  void heal();
  // Silences the node's established TCP connections with the other nodes for good, in both
  // directions; returns how many. New connections are not affected.
  std::size_t half_open(const std::string& node);
  // Deletes the node's namespace (SIGKILLing anything still running in it) and creates it
  // again with the same name, link and address, as a host that rebooted.
  void rebuild(const std::string& node);

  // Runs a command to completion inside the node's namespace; throws unless it exits 0.
  std::string exec(const std::string& node, const std::vector<std::string>& command) const;

 private:
  struct Node {
    int index = 0;
    std::string ns;
  };
  const Node& node(const std::string& name) const;
  void link(const std::string& name, const Node& n);
  void exec_hub(const std::vector<std::string>& command);
  void nft(const std::string& rule);
  void destroy_namespace(const std::string& ns) noexcept;

  std::string prefix_;  // "rgnf<pid>-"
  std::string hub_;
  std::map<std::string, Node> nodes_;
};

template <class F>
auto NetLab::within(const std::string& name, F&& fn) const -> std::invoke_result_t<F&> {
  using R = std::invoke_result_t<F&>;
  const std::string path = "/run/netns/" + node(name).ns;
  if constexpr (std::is_void_v<R>) {
    run_in_netns(path, [&] { fn(); });
  } else {
    std::optional<R> result;
    run_in_netns(path, [&] { result.emplace(fn()); });
    return std::move(*result);
  }
}

}  // namespace registrar::test
