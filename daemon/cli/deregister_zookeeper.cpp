// `grpc-registrar deregister --zookeeper HOST:PORT --name N --id I`: deletes the node a daemon
// that is gone left in ZooKeeper, and the ownership record a `register` of this host wrote for
// it. An entry is ephemeral and goes with its session (within --ttl of a SIGKILL); this is for
// now, and for the record, which is persistent. One session on the daemon's own client
// (registry/zookeeper/zk_client.hpp), digest authentication as the daemon's.
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "config/effective.hpp"
#include "registry/zookeeper/entry_format.hpp"
#include "registry/zookeeper/owner_record.hpp"
#include "registry/zookeeper/zk_client.hpp"
#include "runtime/secret_file.hpp"

namespace registrar::cli {

namespace {

namespace zk = registry::zookeeper;

int zookeeper_usage(const std::string& message) {
  std::fprintf(stderr, "grpc-registrar deregister: %s\n", message.c_str());
  return kExitUsage;
}

// "user:password" for zoo_add_auth, "" without --zookeeper-user; nullopt after a message.
std::optional<std::string> zookeeper_auth(const config::ZooKeeperSpec& spec) {
  if (spec.username.empty()) return std::string();
  std::string password = spec.password;
  if (!spec.password_file.empty()) {
    std::string error;
    runtime::SecretReadOptions options;
    options.trim_trailing_newlines = true;
    options.what = "--zookeeper-password-file";
    const auto read = runtime::read_secret_file(spec.password_file, error, options);
    if (!read) {
      std::fprintf(stderr, "grpc-registrar deregister: %s\n", error.c_str());
      return std::nullopt;
    }
    password = *read;
  }
  return spec.username + ":" + password;
}

// What happened to each node, filled in on the io_context's thread.
struct Outcome {
  bool connected = false;
  bool auth_failed = false;
  int entry = 1;   // ZooKeeper's result code of the entry's delete; 1: not answered
  int record = 1;  // of the ownership record's
};

}  // namespace

int deregister_zookeeper(const DeregisterOptions& o, const config::ZooKeeperSpec& spec,
                         config::Duration timeout) {
  if (o.name.empty()) return zookeeper_usage("--name is required with --zookeeper");
  registry::Registration r;
  r.name = o.name;
  r.id = o.id;
  if (r.id.empty()) {
    if (o.address.empty() || o.port <= 0 || o.port > 65535)
      return zookeeper_usage("give --id, or --address and --port (the default id)");
    r.id = config::default_service_id(o.name, o.address, static_cast<std::uint16_t>(o.port));
  }
  const std::string path = zk::entry_path(spec.format, spec.base_path, r);
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  const std::string record = zk::owner_record_path(std::string(host) + ":register/" + r.id);
  const std::optional<std::string> auth = zookeeper_auth(spec);
  if (!auth) return kExitConfig;

  boost::asio::io_context io;
  // The library's threads post onto `io`: keep it running until io.stop() or the timeout.
  const auto work = boost::asio::make_work_guard(io);
  zk::ZkClient client(io.get_executor(), spec);
  Outcome out;
  const std::string why = client.open(*auth, [&](const zk::SessionEvent& e) {
    if (e.kind == zk::SessionEvent::Kind::AuthFailed) {
      out.auth_failed = true;
      io.stop();
    }
    if (e.kind != zk::SessionEvent::Kind::Connected || out.connected) return;
    out.connected = true;
    client.remove(path, -1, [&](int code) {
      out.entry = code;
      client.remove(record, -1, [&](int code2) {
        out.record = code2;
        io.stop();
      });
    });
  });
  if (!why.empty()) {
    std::fprintf(stderr, "grpc-registrar deregister: %s\n", why.c_str());
    return kExitUnavailable;
  }
  io.run_for(timeout);
  client.close();
  if (out.auth_failed || out.entry == zk::rc::kNoAuth) {
    const std::string why =
        spec.username.empty()
            ? "ZooKeeper refused the delete (ZNOAUTH): the node has an ACL; give --zookeeper-user"
            : "ZooKeeper refused the credentials of --zookeeper-user " + spec.username;
    std::fprintf(stderr, "grpc-registrar deregister: %s; %s not deleted\n", why.c_str(),
                 path.c_str());
    return kExitConfig;
  }
  if (out.entry == zk::rc::kOk) std::printf("deleted %s\n", path.c_str());
  if (out.entry == zk::rc::kNoNode)
    std::printf("%s was not registered (nothing to delete)\n", path.c_str());
  if (out.entry == zk::rc::kOk || out.entry == zk::rc::kNoNode) {
    if (out.record == zk::rc::kOk) std::printf("deleted %s\n", record.c_str());
    return kExitOk;
  }
  std::string servers;
  for (const auto& s : spec.servers) servers += (servers.empty() ? "" : ",") + s;
  std::fprintf(
      stderr, "grpc-registrar deregister: ZooKeeper unreachable (%s: %s); %s not deleted\n",
      servers.c_str(),
      out.connected ? zk::rc_name(out.entry).c_str() : "no session within --timeout", path.c_str());
  return kExitUnavailable;
}

}  // namespace registrar::cli
