#include "support/etcd_server.hpp"

#include <signal.h>

#include <stdexcept>
#include <system_error>

#include "support/ports.hpp"
#include "support/wait.hpp"

namespace registrar::test {

#ifndef REGISTRAR_ETCD_BIN
#define REGISTRAR_ETCD_BIN "/usr/bin/etcd"
#endif

std::string etcd_bin() {
  return REGISTRAR_ETCD_BIN;
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
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  process_ = std::make_unique<Process>(etcd_bin(), std::move(args), EnvVars{},
                                       "etcd#" + std::to_string(generation_));
  const Etcdctl ctl(endpoint(), 1s);
  const bool up = wait_until(
      [&] {
        if (!process_->running()) return true;  // died: stop waiting, report below
        return ctl.healthy();
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
  start(timeout);
}

}  // namespace registrar::test
