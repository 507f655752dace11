#include "support/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <tuple>

namespace registrar::test {

namespace {

constexpr const char* kPrefix = "rgnf";  // every namespace of every lab starts with this
constexpr const char* kTable = "inet rgnf";

// An administration tool by name: PATH first, then the sbin directories a test runner's PATH
// may lack. "" if absent.
std::string tool(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream in(path);
    for (std::string dir; std::getline(in, dir, ':');) dirs.push_back(dir);
  }
  for (const char* d : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) dirs.emplace_back(d);
  for (const auto& dir : dirs) {
    const std::string candidate = dir + "/" + name;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

const std::string& ip_bin() {
  static const std::string path = tool("ip");
  return path;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

// `ip args...` to completion; throws with its stderr unless it exits 0.
std::string ip(const std::vector<std::string>& args) {
  const CommandResult r = run_command(ip_bin(), args, 10s);
  if (!r.status.exited_with(0))
    throw std::runtime_error("netns: ip " + join(args) + ": " + r.status.describe() + ": " + r.err);
  return r.out;
}

// The same, for clean-up paths: never throws.
void ip_quiet(const std::vector<std::string>& args) noexcept {
  try {
    run_command(ip_bin(), args, 10s);
  } catch (...) {
  }
}

// The pids `ip netns pids NS` lists (processes whose network namespace it is).
std::vector<pid_t> pids_in(const std::string& ns) noexcept {
  std::vector<pid_t> pids;
  try {
    const CommandResult r = run_command(ip_bin(), {"netns", "pids", ns}, 10s);
    std::stringstream in(r.out);
    for (long pid = 0; in >> pid;)
      if (pid > 1) pids.push_back(static_cast<pid_t>(pid));
  } catch (...) {
  }
  return pids;
}

// The pid a lab's namespace name carries ("rgnf<pid>-..."), or 0.
pid_t owner_pid(const std::string& ns) {
  if (ns.rfind(kPrefix, 0) != 0) return 0;
  const auto dash = ns.find('-');
  if (dash == std::string::npos) return 0;
  try {
    return static_cast<pid_t>(std::stol(ns.substr(std::strlen(kPrefix), dash)));
  } catch (const std::exception&) {
    return 0;
  }
}

void kill_all_in(const std::string& ns) noexcept {
  for (pid_t pid : pids_in(ns)) ::kill(pid, SIGKILL);
}

// Namespaces left by labs whose test process is gone (a crash, a ctest timeout's SIGKILL).
void sweep_leftovers() noexcept {
  std::error_code ec;
  std::vector<std::string> dead;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
    const std::string name = entry.path().filename().string();
    const pid_t pid = owner_pid(name);
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) dead.push_back(name);
  }
  for (const auto& ns : dead) {
    kill_all_in(ns);
    ip_quiet({"netns", "del", ns});
  }
}

std::string probe_netns() {
  if (const char* off = std::getenv("REGISTRAR_TEST_NETNS"); off && std::string(off) == "off")
    return "network namespaces disabled by REGISTRAR_TEST_NETNS=off";
  if (::geteuid() != 0) return "network namespaces need root (CI runs as root)";
  if (ip_bin().empty()) return "`ip` (iproute2) not found: run scripts/bootstrap";
  if (tool("nft").empty()) return "`nft` (nftables) not found: run scripts/bootstrap";
  const std::string ns = std::string(kPrefix) + std::to_string(::getpid()) + "-probe";
  try {
    ip({"netns", "add", ns});
    ip({"-n", ns, "link", "add", "p0", "type", "veth", "peer", "name", "p1"});
    ip({"netns", "exec", ns, "nft", "add table inet probe"});
  } catch (const std::exception& e) {
    ip_quiet({"netns", "del", ns});
    return std::string("cannot create a network namespace, veth pair or nftables table: ") +
           e.what();
  }
  ip_quiet({"netns", "del", ns});
  return {};
}

}  // namespace

std::string netns_unavailable_reason() {
  static const std::string reason = probe_netns();
  return reason;
}

void run_in_netns(const std::string& ns_path, const std::function<void()>& fn) {
  std::exception_ptr error;
  std::thread worker([&] {
    try {
      const int fd = ::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) throw std::runtime_error("netns: open " + ns_path + ": " + std::strerror(errno));
      const int rc = ::setns(fd, CLONE_NEWNET);
      const int err = errno;
      ::close(fd);
      if (rc != 0) throw std::runtime_error("netns: setns " + ns_path + ": " + std::strerror(err));
      fn();
    } catch (...) {
      error = std::current_exception();
    }
  });
  worker.join();
  if (error) std::rethrow_exception(error);
}

NetLab::NetLab() : prefix_(std::string(kPrefix) + std::to_string(::getpid()) + "-") {
  if (const std::string why = netns_unavailable_reason(); !why.empty())
    throw std::runtime_error("netns: " + why);
  sweep_leftovers();
  hub_ = prefix_ + "hub";
  destroy_namespace(hub_);  // an earlier lab of this process that could not clean up
  try {
    ip({"netns", "add", hub_});
    ip({"-n", hub_, "link", "set", "lo", "up"});
    exec_hub({"sysctl", "-q", "-w", "net.ipv4.ip_forward=1"});
    // Faults: drops before routing (so a dropped packet never causes an ICMP error), the
    // silenced connections of half_open() first of all, rejects where forwarding decides.
    nft(std::string("add table ") + kTable);
    nft(std::string("add chain ") + kTable +
        " silenced { type filter hook prerouting priority -310; policy accept; }");
    nft(std::string("add chain ") + kTable +
        " drops { type filter hook prerouting priority -300; policy accept; }");
    nft(std::string("add chain ") + kTable +
        " rejects { type filter hook forward priority 0; policy accept; }");
  } catch (...) {
    destroy_namespace(hub_);
    throw;
  }
}

NetLab::~NetLab() {
  for (const auto& [name, n] : nodes_) destroy_namespace(n.ns);
  destroy_namespace(hub_);
}

void NetLab::destroy_namespace(const std::string& ns) noexcept {
  if (!std::filesystem::exists("/run/netns/" + ns)) return;
  kill_all_in(ns);
  ip_quiet({"netns", "del", ns});
}

void NetLab::exec_hub(const std::vector<std::string>& command) {
  std::vector<std::string> args{"netns", "exec", hub_};
  args.insert(args.end(), command.begin(), command.end());
  ip(args);
}

void NetLab::nft(const std::string& rule) {
  exec_hub({"nft", rule});
}

const NetLab::Node& NetLab::node(const std::string& name) const {
  const auto it = nodes_.find(name);
  if (it == nodes_.end()) throw std::invalid_argument("netns: no node \"" + name + "\"");
  return it->second;
}

std::string NetLab::add(const std::string& name) {
  if (name.empty() || name.size() > 10 ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") != std::string::npos)
    throw std::invalid_argument("netns: node names are 1-10 of [a-z0-9]: \"" + name + "\"");
  if (nodes_.count(name) != 0) throw std::invalid_argument("netns: node \"" + name + "\" exists");
  if (nodes_.size() >= 250) throw std::invalid_argument("netns: too many nodes");
  Node n{static_cast<int>(nodes_.size()) + 1, prefix_ + name};
  destroy_namespace(n.ns);
  ip({"netns", "add", n.ns});
  nodes_.emplace(name, n);  // from here the destructor removes it
  link(name, n);
  return address(name);
}

void NetLab::link(const std::string& name, const Node& n) {
  const std::string net = "10.213." + std::to_string(n.index) + ".";
  const std::string hub_side = "h-" + name;
  ip({"-n", n.ns, "link", "set", "lo", "up"});
  ip({"-n", hub_, "link", "add", hub_side, "type", "veth", "peer", "name", "eth0", "netns", n.ns});
  ip({"-n", hub_, "addr", "add", net + "1/30", "dev", hub_side});
  ip({"-n", hub_, "link", "set", hub_side, "up"});
  ip({"-n", n.ns, "addr", "add", net + "2/30", "dev", "eth0"});
  ip({"-n", n.ns, "link", "set", "eth0", "up"});
  ip({"-n", n.ns, "route", "add", "default", "via", net + "1"});
}

std::string NetLab::address(const std::string& name) const {
  return "10.213." + std::to_string(node(name).index) + ".2";
}

std::string NetLab::ns_name(const std::string& name) const {
  return node(name).ns;
}

std::unique_ptr<Process> NetLab::spawn(const std::string& name, const std::string& program,
                                       const std::vector<std::string>& args, EnvVars env,
                                       const std::string& label) const {
  std::vector<std::string> full{"netns", "exec", node(name).ns, program};
  full.insert(full.end(), args.begin(), args.end());
  return std::make_unique<Process>(ip_bin(), std::move(full), std::move(env),
                                   label.empty() ? name : label);
}

std::string NetLab::exec(const std::string& name, const std::vector<std::string>& command) const {
  std::vector<std::string> args{"netns", "exec", node(name).ns};
  args.insert(args.end(), command.begin(), command.end());
  return ip(args);
}

void NetLab::drop(const std::string& from, const std::string& to) {
  nft(std::string("add rule ") + kTable + " drops ip saddr " + address(from) + " ip daddr " +
      address(to) + " drop");
}

void NetLab::reject(const std::string& from, const std::string& to) {
  nft(std::string("add rule ") + kTable + " rejects ip saddr " + address(from) + " ip daddr " +
      address(to) + " meta l4proto tcp reject with tcp reset");
}

void NetLab::heal() {
  nft(std::string("flush chain ") + kTable + " drops");
  nft(std::string("flush chain ") + kTable + " rejects");
}

std::size_t NetLab::half_open(const std::string& name) {
  // "Recv-Q Send-Q LOCAL:PORT PEER:PORT" per established connection (no header, no state).
  const std::string out = exec(name, {"ss", "-H", "-t", "-n", "state", "established"});
  std::stringstream lines(out);
  std::size_t silenced = 0;
  for (std::string line; std::getline(lines, line);) {
    std::stringstream words(line);
    std::vector<std::string> endpoints;
    for (std::string w; words >> w;)
      if (w.find(':') != std::string::npos) endpoints.push_back(w);
    if (endpoints.size() != 2 || endpoints[1].rfind("10.213.", 0) != 0) continue;  // loopback
    const auto split = [](const std::string& ep) {
      const auto colon = ep.rfind(':');
      return std::pair{ep.substr(0, colon), ep.substr(colon + 1)};
    };
    const auto [local, lport] = split(endpoints[0]);
    const auto [peer, pport] = split(endpoints[1]);
    for (const auto& [sa, sp, da, dp] :
         {std::tuple{local, lport, peer, pport}, std::tuple{peer, pport, local, lport}})
      nft(std::string("add rule ") + kTable + " silenced ip saddr " + sa + " tcp sport " + sp +
          " ip daddr " + da + " tcp dport " + dp + " drop");
    ++silenced;
  }
  return silenced;
}

void NetLab::rebuild(const std::string& name) {
  const Node& n = node(name);
  kill_all_in(n.ns);
  // The link first: sockets that outlive their processes (a FIN waiting for its ACK) can keep
  // the old namespace alive for a while, and with it a veth end of the same name.
  ip_quiet({"-n", hub_, "link", "del", "h-" + name});
  ip_quiet({"netns", "del", n.ns});
  ip({"netns", "add", n.ns});
  link(name, n);
}

}  // namespace registrar::test
