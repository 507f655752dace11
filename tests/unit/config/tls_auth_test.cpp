// TLS sections (registry.etcd.tls, registry.consul.tls, defaults/services probe.tls), etcd
// authentication (username, password_file, $ETCDCTL_PASSWORD) and Consul's TLS variables:
// defaults, precedence, refusals with positions, and `check` output that parses back.
#include <catch2/catch.hpp>
#include <string>

#include "config/effective.hpp"
#include "config/manifest_parser.hpp"
#include "support/secrets.hpp"
#include "test_env.hpp"

using namespace registrar::config;
using registrar::config::test::env_of;
using registrar::config::test::error_of;
using registrar::config::test::parse;

namespace {

const std::string kEtcd = "registry:\n  kind: etcd\n  etcd:\n";
const std::string kConsul = "registry:\n  kind: consul\n";
const std::string kService = "services:\n  - {name: s, address: 127.0.0.1, port: 9000";

ConsulSpec consul_of(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  return parse(yaml, env_of(std::move(env))).registry.consul;
}

}  // namespace

TEST_CASE("tls is off everywhere by default") {
  Manifest m = parse(kService + "}\n");
  CHECK_FALSE(m.registry.etcd.tls.enabled);
  CHECK_FALSE(m.registry.consul.tls.enabled);
  CHECK_FALSE(m.default_probe.tls.enabled);
  CHECK_FALSE(m.services.at(0).probe.tls.enabled);
  CHECK(m.registry.etcd.username.empty());
  CHECK(m.registry.etcd.password_source.empty());
}

TEST_CASE("registry.etcd.tls: the section turns TLS on and takes four files and a name") {
  EtcdSpec e = parse(kEtcd +
                     "    tls:\n      ca_file: /etc/ca.pem\n      cert_file: /etc/c.pem\n"
                     "      key_file: /etc/c-key.pem\n      server_name: etcd.internal\n")
                   .registry.etcd;
  CHECK(e.tls.enabled);
  CHECK(e.tls.ca_file == "/etc/ca.pem");
  CHECK(e.tls.cert_file == "/etc/c.pem");
  CHECK(e.tls.key_file == "/etc/c-key.pem");
  CHECK(e.tls.server_name == "etcd.internal");
  CHECK_FALSE(e.tls.insecure_skip_verify);
  SECTION("an empty section is TLS with the system's roots") {
    EtcdSpec empty = parse(kEtcd + "    tls: {}\n").registry.etcd;
    CHECK(empty.tls.enabled);
    CHECK(empty.tls.ca_file.empty());
  }
  SECTION("tls: true / false and enabled: false") {
    CHECK(parse(kEtcd + "    tls: true\n").registry.etcd.tls.enabled);
    CHECK_FALSE(parse(kEtcd + "    tls: false\n").registry.etcd.tls.enabled);
    CHECK_FALSE(
        parse(kEtcd + "    tls: {enabled: false, ca_file: /x}\n").registry.etcd.tls.enabled);
  }
}

TEST_CASE("tls sections: refusals name the field and position") {
  CHECK(error_of(kEtcd + "    tls: {cert_file: /c.pem}\n") ==
        "m.yaml:4:22: registry.etcd.tls.cert_file: needs key_file as well (the client "
        "certificate's private key)");
  CHECK(error_of(kEtcd + "    tls: {key_file: /k.pem}\n") ==
        "m.yaml:4:21: registry.etcd.tls.key_file: needs cert_file as well (the client "
        "certificate)");
  CHECK(error_of(kEtcd + "    tls: {ca_file: \"\"}\n") ==
        "m.yaml:4:20: registry.etcd.tls.ca_file: must not be empty (leave it out when there is no "
        "such file)");
  CHECK(error_of(kEtcd + "    tls: {insecure_skip_verify: true}\n") ==
        "m.yaml:4:11: registry.etcd.tls.insecure_skip_verify: is only supported in "
        "registry.consul.tls; give the server's CA in ca_file instead");
  CHECK(error_of(kEtcd + "    tls: {ca_fle: /x}\n") ==
        "m.yaml:4:11: registry.etcd.tls.ca_fle: unknown key \"ca_fle\"; did you mean \"ca_file\"?");
  CHECK(error_of(kEtcd + "    tls: {server_name: \"a b\"}\n") ==
        "m.yaml:4:24: registry.etcd.tls.server_name: must be a host name, got \"a b\"");
  CHECK(error_of(kEtcd + "    tls: yes\n") ==
        "m.yaml:4:10: registry.etcd.tls: expected true or false, got \"yes\"");
  CHECK(error_of(kEtcd + "    tls: [a]\n") ==
        "m.yaml:4:10: registry.etcd.tls: expected a map, got a list");
}

TEST_CASE("registry.etcd authentication: username with password_file or $ETCDCTL_PASSWORD") {
  SECTION("password_file") {
    EtcdSpec e =
        parse(kEtcd + "    username: registrar\n    password_file: /run/pw\n").registry.etcd;
    CHECK(e.username == "registrar");
    CHECK(e.password_file == "/run/pw");
    CHECK(e.password.empty());
    CHECK(e.password_source == "registry.etcd.password_file (/run/pw)");
  }
  SECTION("the environment, when there is no file") {
    EtcdSpec e = parse(kEtcd + "    username: registrar\n",
                       env_of({{"ETCDCTL_PASSWORD", registrar::test::kKnownPassword}}))
                     .registry.etcd;
    CHECK(e.password == registrar::test::kKnownPassword);
    CHECK(e.password_source == "ETCDCTL_PASSWORD");
  }
  SECTION("the file wins over the environment") {
    EtcdSpec e = parse(kEtcd + "    username: u\n    password_file: /f\n",
                       env_of({{"ETCDCTL_PASSWORD", "pw"}}))
                     .registry.etcd;
    CHECK(e.password.empty());
    CHECK(e.password_file == "/f");
  }
  SECTION("refusals; a password in the manifest is refused without echoing it") {
    CHECK(error_of(kEtcd + "    username: u\n") ==
          "m.yaml:4:15: registry.etcd.username: needs a password: set registry.etcd.password_file "
          "(or $ETCDCTL_PASSWORD)");
    CHECK(error_of(kEtcd + "    password_file: /f\n") ==
          "m.yaml:4:20: registry.etcd.password_file: needs username as well");
    const std::string e = error_of(
        kEtcd + "    username: u\n    password: " + registrar::test::kKnownPassword + "\n");
    CHECK(e ==
          "m.yaml:5:5: registry.etcd.password: a password is never written in the manifest: use "
          "password_file (or $ETCDCTL_PASSWORD)");
    CHECK(e.find(registrar::test::kKnownPassword) == std::string::npos);
    const std::string ctl =
        error_of(kEtcd + "    username: u\n", env_of({{"ETCDCTL_PASSWORD", "a\nb"}}));
    CHECK(ctl.find("control characters") != std::string::npos);
    CHECK(ctl.find("a\nb") == std::string::npos);
  }
  SECTION("an unused etcd section does not need a password") {
    CHECK(error_of(kConsul + "  etcd:\n    username: u\n") == "parsed without error");
  }
}

TEST_CASE("registry.consul TLS: https://, the section, and Consul's variables") {
  SECTION("an https:// address turns TLS on") {
    ConsulSpec c = consul_of(kConsul + "  consul: {address: \"https://127.0.0.1:8501\"}\n");
    CHECK(c.address == "127.0.0.1:8501");
    CHECK(c.tls.enabled);
  }
  SECTION("the section with every key") {
    ConsulSpec c = consul_of(kConsul +
                             "  consul:\n    address: 127.0.0.1:8501\n    tls: {ca_file: /ca, "
                             "cert_file: /c, key_file: /k, server_name: consul.local, "
                             "insecure_skip_verify: true}\n");
    CHECK(c.tls.enabled);
    CHECK(c.tls.ca_file == "/ca");
    CHECK(c.tls.server_name == "consul.local");
    CHECK(c.tls.insecure_skip_verify);
  }
  SECTION("CONSUL_HTTP_ADDR with https:// and the file variables") {
    ConsulSpec c = consul_of(kConsul, {{"CONSUL_HTTP_ADDR", "https://10.0.0.1:8501"},
                                       {"CONSUL_CACERT", "/ca"},
                                       {"CONSUL_CLIENT_CERT", "/c"},
                                       {"CONSUL_CLIENT_KEY", "/k"},
                                       {"CONSUL_TLS_SERVER_NAME", "consul"},
                                       {"CONSUL_HTTP_SSL_VERIFY", "false"}});
    CHECK(c.address == "10.0.0.1:8501");
    CHECK(c.tls.enabled);
    CHECK(c.tls.ca_file == "/ca");
    CHECK(c.tls.cert_file == "/c");
    CHECK(c.tls.key_file == "/k");
    CHECK(c.tls.server_name == "consul");
    CHECK(c.tls.insecure_skip_verify);
  }
  SECTION("the manifest's keys win over the variables") {
    ConsulSpec c = consul_of(kConsul + "  consul:\n    tls: {ca_file: /mine}\n",
                             {{"CONSUL_CACERT", "/env"}, {"CONSUL_HTTP_SSL_VERIFY", "false"}});
    CHECK(c.tls.ca_file == "/mine");
    CHECK(c.tls.insecure_skip_verify);  // the manifest does not say; the variable does
    ConsulSpec d = consul_of(kConsul + "  consul:\n    tls: {insecure_skip_verify: false}\n",
                             {{"CONSUL_HTTP_SSL_VERIFY", "false"}});
    CHECK_FALSE(d.tls.insecure_skip_verify);
  }
  SECTION("an explicit http:// address keeps TLS off whatever CONSUL_HTTP_SSL says") {
    CHECK_FALSE(consul_of(kConsul + "  consul: {address: \"http://127.0.0.1:8500\"}\n",
                          {{"CONSUL_HTTP_SSL", "true"}})
                    .tls.enabled);
  }
  SECTION("the file variables alone do not turn TLS on") {
    ConsulSpec c = consul_of(kConsul, {{"CONSUL_CACERT", "/ca"}});
    CHECK_FALSE(c.tls.enabled);
    CHECK(c.tls.ca_file.empty());
  }
  SECTION("refusals") {
    CHECK(error_of(kConsul + "  consul:\n    address: \"http://127.0.0.1:8500\"\n    tls: {}\n") ==
          "m.yaml:4:14: registry.consul.address: http:// contradicts registry.consul.tls (use "
          "https:// or host:port)");
    CHECK(error_of(kConsul +
                   "  consul:\n    address: \"https://127.0.0.1:8501\"\n    tls: false\n") ==
          "m.yaml:5:10: registry.consul.tls: TLS is turned off here but the address says https://");
    CHECK(error_of(kConsul + "  consul:\n    address: unix:///run/consul.sock\n    tls: {}\n") ==
          "m.yaml:5:10: registry.consul.tls: TLS over a unix socket is not supported");
    CHECK(error_of(kConsul, env_of({{"CONSUL_HTTP_SSL", "maybe"}})) ==
          "m.yaml:2:9: registry.consul.tls: CONSUL_HTTP_SSL must be true or false, got \"maybe\"");
    CHECK(error_of(kConsul, env_of({{"CONSUL_HTTP_SSL", "1"}, {"CONSUL_CLIENT_CERT", "/c"}})) ==
          "m.yaml:2:9: registry.consul.tls: a client certificate needs both cert_file and key_file "
          "(or CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY)");
  }
}

TEST_CASE("probe.tls: defaults apply to every service, and a service's section replaces them") {
  Manifest m = parse(
      "defaults:\n  probe:\n    tls: {ca_file: /ca}\n"
      "services:\n"
      "  - {name: a, address: 127.0.0.1, port: 1}\n"
      "  - {name: b, address: 127.0.0.1, port: 2, probe: {tls: {cert_file: /c, key_file: /k}}}\n"
      "  - {name: c, address: 127.0.0.1, port: 3, probe: {tls: false}}\n"
      "  - {name: d, address: 127.0.0.1, port: 4, probe: {rise: 2}}\n");
  CHECK(m.default_probe.tls.enabled);
  CHECK(m.services[0].probe.tls.enabled);
  CHECK(m.services[0].probe.tls.ca_file == "/ca");
  CHECK(m.services[1].probe.tls.enabled);
  CHECK(m.services[1].probe.tls.ca_file.empty());  // replaced as a whole, not merged
  CHECK(m.services[1].probe.tls.cert_file == "/c");
  CHECK_FALSE(m.services[2].probe.tls.enabled);
  CHECK(m.services[3].probe.tls.ca_file == "/ca");
  CHECK(m.services[3].probe.rise == 2);
  CHECK_FALSE(m.services[0] == m.services[1]);  // tls counts in a service's identity (reload)
}

TEST_CASE("check output shows TLS and auth settings, never a password, and parses back") {
  const std::string yaml = kEtcd +
                           "    tls: {ca_file: /ca, cert_file: /c, key_file: /k}\n"
                           "    username: registrar\n"
                           "defaults:\n  probe:\n    tls: {server_name: svc.local}\n" +
                           kService + "}\n";
  Manifest m = parse(yaml, env_of({{"ETCDCTL_PASSWORD", registrar::test::kKnownPassword}}));
  const std::string out = render_effective(m);
  CHECK(out.find(registrar::test::kKnownPassword) == std::string::npos);
  CHECK(out.find("password from ETCDCTL_PASSWORD") != std::string::npos);
  CHECK(out.find("key_file: /k") != std::string::npos);
  Manifest back = parse(out, env_of({{"ETCDCTL_PASSWORD", registrar::test::kKnownPassword}}));
  CHECK(back.registry.etcd.tls == m.registry.etcd.tls);
  CHECK(back.registry.etcd.username == "registrar");
  CHECK(back.services.at(0) == m.services.at(0));
  CHECK(render_effective(back) == out);

  Manifest c = parse(kConsul + "  consul: {address: \"https://127.0.0.1:8501\"}\n",
                     env_of({{"CONSUL_HTTP_SSL_VERIFY", "false"}}));
  const std::string cout_text = render_effective(c);
  CHECK(cout_text.find("insecure_skip_verify: true") != std::string::npos);
  CHECK(parse(cout_text).registry.consul.tls == c.registry.consul.tls);
}
