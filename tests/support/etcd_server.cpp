#include "support/etcd_server.hpp"

#include <signal.h>

#include <cstdlib>
#include <stdexcept>
#include <system_error>

#include "support/ports.hpp"
#include "support/wait.hpp"

namespace registrar::test {

#ifndef REGISTRAR_ETCD_BIN
#define REGISTRAR_ETCD_BIN "/usr/bin/etcd"
#endif

std::string etcd_bin() {
  const char* from_env = std::getenv("REGISTRAR_TEST_ETCD_BIN");  // support/paths.hpp
  return from_env != nullptr ? from_env : REGISTRAR_ETCD_BIN;
}

EtcdServer::EtcdServer(bool start_now, Millis start_timeout) : dir_("registrar-etcd") {
  data_dir_ = dir_.path() / "data";
  const auto ports = free_ports(2);
  client_port_ = ports[0];
  peer_port_ = ports[1];
  if (start_now) start(start_timeout);
}

EtcdServer::~EtcdServer() {
  if (process_) process_->kill9();
}

std::string EtcdServer::endpoint() const {
  return "127.0.0.1:" + std::to_string(client_port_);
}

bool EtcdServer::running() const {
  return process_ && process_->running();
}

void EtcdServer::start(Millis timeout) {
  if (running()) return;
  const std::string peer_url = "http://127.0.0.1:" + std::to_string(peer_port_);
  const std::string name = "itest";
  ++generation_;
  process_.reset();  // the previous run's process was reaped by kill9()/stop()
  std::vector<std::string> args{
      "--name=" + name,
      "--data-dir=" + data_dir_.string(),
      "--listen-client-urls=" + client_url(),
      "--advertise-client-urls=" + client_url(),
      "--listen-peer-urls=" + peer_url,
      "--initial-advertise-peer-urls=" + peer_url,
      "--initial-cluster=" + name + "=" + peer_url,
      "--initial-cluster-state=new",
      // A single member: short raft timers only make (re)starts elect themselves sooner.
      "--heartbeat-interval=50",
      "--election-timeout=300",
      "--logger=zap",
      "--log-outputs=stderr",
      "--log-level=warn",
  };
  if (tls_) {
    args.push_back("--cert-file=" + tls_->cert.string());
    args.push_back("--key-file=" + tls_->key.string());
    if (!tls_->trusted_ca.empty()) {
      args.push_back("--client-cert-auth");
      args.push_back("--trusted-ca-file=" + tls_->trusted_ca.string());
    }
  }
  if (auth_token_ttl_s_ > 0) {
    args.push_back("--auth-token=simple");
    args.push_back("--auth-token-ttl=" + std::to_string(auth_token_ttl_s_));
  }
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  process_ = std::make_unique<Process>(etcd_bin(), std::move(args), EnvVars{},
                                       "etcd#" + std::to_string(generation_));
  const Etcdctl ctl(endpoint(), 1s);
  std::vector<std::string> health = etcdctl_tls_flags();
  // etcdctl refuses a flag that shadows its variable: a test that set ETCDCTL_USER (or
  // ETCDCTL_PASSWORD) for its own etcdctl calls speaks for this one too.
  if (!root_password_.empty() && std::getenv("ETCDCTL_USER") == nullptr &&
      std::getenv("ETCDCTL_PASSWORD") == nullptr)
    health.push_back("--user=root:" + root_password_);
  health.insert(health.end(), {"endpoint", "health"});
  const bool up = wait_until(
      [&] {
        if (!process_->running()) return true;  // died: stop waiting, report below
        try {
          return ctl.run_raw(health).status.exited_with(0);
        } catch (const std::exception&) {
          return false;
        }
      },
      timeout, 50ms);
  if (!up || !process_->running()) {
    const std::string log = process_->stderr_text();
    const std::string how = process_->running()
                                ? "not healthy after " + std::to_string(timeout.count()) + " ms"
                                : "exited (" + process_->exit_status()->describe() + ")";
    process_->kill9();
    throw std::runtime_error("etcd on " + endpoint() + " " + how + "; log:\n" + log);
  }
}

std::vector<std::string> EtcdServer::etcdctl_tls_flags() const {
  if (!tls_) return {};
  std::vector<std::string> flags;
  // etcdctl refuses a flag that shadows its variable: one the caller set wins.
  const auto add = [&](const char* variable, const std::string& flag) {
    if (std::getenv(variable) == nullptr) flags.push_back(flag);
  };
  add("ETCDCTL_CACERT", "--cacert=" + tls_->ca.string());
  if (!tls_->client_cert.empty()) {
    add("ETCDCTL_CERT", "--cert=" + tls_->client_cert.string());
    add("ETCDCTL_KEY", "--key=" + tls_->client_key.string());
  }
  return flags;
}

void EtcdServer::enable_auth(const EtcdServerAuth& auth) {
  const Etcdctl ctl(endpoint());
  // `what` names the step; args may hold a password, so they are never part of an error.
  const auto step = [&](const std::string& what, std::vector<std::string> args) {
    std::vector<std::string> full = etcdctl_tls_flags();
    full.insert(full.end(), args.begin(), args.end());
    const CommandResult r = ctl.run_raw(full);
    if (!r.status.exited_with(0))
      throw std::runtime_error("etcd on " + endpoint() + ": enable_auth: " + what + ": " +
                               r.status.describe());
  };
  step("role add root", {"role", "add", "root"});
  step("user add root", {"user", "add", "root:" + auth.root_password, "--interactive=false"});
  step("user grant-role root", {"user", "grant-role", "root", "root"});
  if (!auth.user.empty()) {
    step("role add " + auth.user, {"role", "add", auth.user});
    for (const auto& prefix : auth.readwrite_prefixes)
      step("grant readwrite on prefix " + prefix,
           {"role", "grant-permission", auth.user, "readwrite", prefix, "--prefix=true"});
    for (const auto& key : auth.readwrite_keys)
      step("grant readwrite on key " + key,
           {"role", "grant-permission", auth.user, "readwrite", key});
    step("user add " + auth.user,
         {"user", "add", auth.user + ":" + auth.password, "--interactive=false"});
    step("user grant-role " + auth.user, {"user", "grant-role", auth.user, auth.user});
  }
  step("auth enable", {"auth", "enable"});
  root_password_ = auth.root_password;
}

void EtcdServer::kill9() {
  if (process_) process_->kill9();
}

ExitStatus EtcdServer::stop(Millis timeout) {
  if (!process_) return {};
  process_->signal(SIGTERM);
  if (auto st = process_->wait_exit(timeout)) return *st;
  return process_->kill9();
}

void EtcdServer::restart(Millis timeout) {
  if (running()) stop();
  start(timeout);
}

void EtcdServer::wipe_and_restart(Millis timeout) {
  kill9();
  std::error_code ec;
  std::filesystem::remove_all(data_dir_, ec);
  if (ec) throw std::runtime_error("wipe " + data_dir_.string() + ": " + ec.message());
  root_password_.clear();  // a new cluster has no users
  start(timeout);
}

}  // namespace registrar::test
