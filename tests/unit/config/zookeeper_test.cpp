// registry.zookeeper: keys, defaults, validation with positions (one line, file:line:col), the
// password from a file or the environment, and its rendering by `check`.
#include <catch2/catch.hpp>
#include <string>

#include "config/effective.hpp"
#include "config/manifest_parser.hpp"
#include "test_env.hpp"

using namespace registrar::config;
using registrar::config::test::env_of;
using registrar::config::test::error_of;
using registrar::config::test::parse;
using namespace std::chrono_literals;

namespace {

const std::string kZk = "registry:\n  kind: zookeeper\n";

ZooKeeperSpec zk_of(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  return parse(yaml, env_of(std::move(env))).registry.zookeeper;
}

std::string zk_error(const std::string& section, std::map<std::string, std::string> env = {}) {
  return error_of(kZk + "  zookeeper:\n" + section, env_of(std::move(env)));
}

}  // namespace

TEST_CASE("registry.kind zookeeper: every key has its default") {
  const Manifest m = parse(kZk);
  CHECK(m.registry.kind == RegistryKind::ZooKeeper);
  const ZooKeeperSpec& z = m.registry.zookeeper;
  CHECK(z.servers == std::vector<std::string>{"127.0.0.1:2181"});
  CHECK(z.chroot.empty());
  CHECK(z.base_path == "/services");
  CHECK(z.session_timeout == 10s);
  CHECK(z.format == ZooKeeperFormat::Curator);
  CHECK(z.resync_interval == 30s);
  CHECK(z.owner.empty());
  CHECK(z.username.empty());
  CHECK(z.password_source.empty());
  CHECK(z.acl == ZooKeeperAcl::WorldRead);
}

TEST_CASE("registry.zookeeper: every key set") {
  const ZooKeeperSpec z = zk_of(kZk +
                                "  zookeeper:\n"
                                "    servers: [10.0.0.1:2181, 'zk-2:2182']\n"
                                "    chroot: /prod/\n"
                                "    base_path: /sd/grpc\n"
                                "    session_timeout: 4s\n"
                                "    format: serverset\n"
                                "    resync_interval: 0\n"
                                "    owner: pod-7\n"
                                "    auth:\n"
                                "      username: registrar\n"
                                "      password_file: /run/secrets/zk\n"
                                "      acl: creator-only\n");
  CHECK(z.servers == std::vector<std::string>{"10.0.0.1:2181", "zk-2:2182"});
  CHECK(z.chroot == "/prod");
  CHECK(z.base_path == "/sd/grpc");
  CHECK(z.session_timeout == 4s);
  CHECK(z.format == ZooKeeperFormat::Serverset);
  CHECK(z.resync_interval == 0ms);
  CHECK(z.owner == "pod-7");
  CHECK(z.username == "registrar");
  CHECK(z.password_file == "/run/secrets/zk");
  CHECK(z.password.empty());
  CHECK(z.password_source == "registry.zookeeper.auth.password_file (/run/secrets/zk)");
  CHECK(z.acl == ZooKeeperAcl::CreatorOnly);
}

TEST_CASE("registry.zookeeper: servers as one connection string, and each format") {
  CHECK(zk_of(kZk + "  zookeeper:\n    servers: 'a:1, b:2,c:3'\n").servers ==
        std::vector<std::string>{"a:1", "b:2", "c:3"});
  for (const auto& [text, format] :
       std::vector<std::pair<std::string, ZooKeeperFormat>>{{"curator", ZooKeeperFormat::Curator},
                                                            {"gokit", ZooKeeperFormat::GoKit},
                                                            {"nerve", ZooKeeperFormat::Nerve}}) {
    CHECK(zk_of(kZk + "  zookeeper:\n    format: " + text + "\n").format == format);
  }
}

TEST_CASE("registry.zookeeper: the password from the environment, never in the manifest") {
  const ZooKeeperSpec z = zk_of(kZk + "  zookeeper:\n    auth: {username: u}\n",
                                {{"REGISTRAR_ZOOKEEPER_PASSWORD", "s3cret"}});
  CHECK(z.password == "s3cret");
  CHECK(z.password_source == "REGISTRAR_ZOOKEEPER_PASSWORD");
  CHECK(zk_error("    auth: {username: u}\n") ==
        "m.yaml:4:22: registry.zookeeper.auth.username: needs a password: set "
        "registry.zookeeper.auth.password_file (or $REGISTRAR_ZOOKEEPER_PASSWORD)");
  CHECK(zk_error("    auth: {username: u, password: p}\n")
            .find("a password is never written in the manifest") != std::string::npos);
  // Not in use (kind etcd): the section is validated, the environment is not required.
  CHECK(parse("registry:\n  zookeeper:\n    auth: {username: u}\n").registry.kind ==
        RegistryKind::Etcd);
}

TEST_CASE("registry.zookeeper: each bad value is one line with file:line:col") {
  CHECK(zk_error("    servers: []\n") ==
        "m.yaml:4:14: registry.zookeeper.servers: at least one server is required");
  CHECK(zk_error("    servers: [http://a:1]\n") ==
        "m.yaml:4:15: registry.zookeeper.servers[0]: a ZooKeeper server is host:port, without a "
        "scheme, got \"http://a:1\"");
  CHECK(zk_error("    servers: [a]\n").starts_with("m.yaml:4:15: registry.zookeeper.servers[0]: "));
  CHECK(zk_error("    base_path: services\n") ==
        "m.yaml:4:16: registry.zookeeper.base_path: must start with \"/\", got \"services\"");
  CHECK(zk_error("    base_path: /\n") ==
        "m.yaml:4:16: registry.zookeeper.base_path: must name at least one path segment, e.g. "
        "/services");
  CHECK(zk_error("    base_path: /a/../b\n") ==
        "m.yaml:4:16: registry.zookeeper.base_path: must not contain empty, \".\" or \"..\" "
        "segments, got \"/a/../b\"");
  CHECK(zk_error("    base_path: /zookeeper/x\n") ==
        "m.yaml:4:16: registry.zookeeper.base_path: /zookeeper is ZooKeeper's own subtree, got "
        "\"/zookeeper/x\"");
  CHECK(zk_error("    chroot: a\n").starts_with("m.yaml:4:13: registry.zookeeper.chroot: "));
  CHECK(zk_error("    session_timeout: 500ms\n") ==
        "m.yaml:4:22: registry.zookeeper.session_timeout: must be between 1s and 10m, got 500ms");
  CHECK(zk_error("    resync_interval: 100ms\n")
            .starts_with("m.yaml:4:22: registry.zookeeper.resync_interval: "));
  CHECK(zk_error("    format: curatr\n") ==
        "m.yaml:4:13: registry.zookeeper.format: invalid value \"curatr\" (allowed: curator, "
        "gokit, serverset, nerve); did you mean \"curator\"?");
  CHECK(zk_error("    owner: ''\n") ==
        "m.yaml:4:12: registry.zookeeper.owner: must not be empty (leave it out for "
        "<hostname>:<manifest>)");
  CHECK(zk_error("    auth: {username: 'a:b', password_file: /f}\n") ==
        "m.yaml:4:22: registry.zookeeper.auth.username: must not contain ':' (a digest identity "
        "is user:password)");
  CHECK(zk_error("    auth: {username: u, password_file: /f, acl: all}\n")
            .starts_with("m.yaml:4:49: registry.zookeeper.auth.acl: invalid value \"all\""));
  CHECK(zk_error("    sesion_timeout: 1s\n").starts_with("m.yaml:4:5: registry.zookeeper"));
  CHECK(error_of(kZk + "services:\n  - {name: a, id: '..', address: 127.0.0.1, port: 1}\n") ==
        "m.yaml:4:5: services[0]: id \"..\" cannot be a ZooKeeper node's name");
  CHECK(error_of(kZk + "services:\n  - {name: a, address: 127.0.0.1, port: 1, meta: {gRPC_port: "
                       "'2'}}\n") ==
        "m.yaml:4:5: services[0].meta: key \"gRPC_port\" is reserved: the curator format writes "
        "it itself");
}

TEST_CASE("registry.zookeeper: check renders the section in force, never the password") {
  const Manifest m = parse(kZk +
                               "  zookeeper:\n"
                               "    servers: a:1,b:2\n"
                               "    format: nerve\n"
                               "    auth: {username: u}\n",
                           env_of({{"REGISTRAR_ZOOKEEPER_PASSWORD", "s3cret"}}));
  const std::string text = render_effective(m);
  CHECK(text.find("kind: zookeeper") != std::string::npos);
  CHECK(text.find("servers: [a:1, b:2]") != std::string::npos);
  CHECK(text.find("base_path: /services") != std::string::npos);
  CHECK(text.find("session_timeout: 10s") != std::string::npos);
  CHECK(text.find("format: nerve") != std::string::npos);
  CHECK(text.find("username: u") != std::string::npos);
  CHECK(text.find("# password from REGISTRAR_ZOOKEEPER_PASSWORD") != std::string::npos);
  CHECK(text.find("s3cret") == std::string::npos);
  // What check prints parses back to the same section.
  const Manifest again = parse(text, env_of({{"REGISTRAR_ZOOKEEPER_PASSWORD", "s3cret"}}));
  CHECK(again.registry.zookeeper.servers == m.registry.zookeeper.servers);
  CHECK(again.registry.zookeeper.format == ZooKeeperFormat::Nerve);
}
