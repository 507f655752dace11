// Issue 4, fault 6: SIGHUP reloads the manifest in place.
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "resilience_itest.hpp"

using namespace registrar::itest;

namespace {

const std::string kKeep = "/services/hello/keep-1";
const std::string kChange = "/services/hello/change-1";
const std::string kDrop = "/services/hello/drop-1";
const std::string kAdd = "/services/hello/add-1";

}  // namespace

TEST_CASE("fault 6: SIGHUP adds, removes and updates in place, unchanged entries see no write",
          "[resilience][fault-6]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService keep;
  HelloService change;
  HelloService drop;
  HelloService add;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.resync_interval = "1s";  // a resync in the middle must not write anything either
  auto change_entry = entry_for(change, "change-1");
  change_entry.tags = {"blue"};
  m.services = {entry_for(keep, "keep-1"), change_entry, entry_for(drop, "drop-1")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());
  const Etcdctl ctl = etcd.ctl();
  const auto before = wait_for_keys(ctl, "/services/", {kKeep, kChange, kDrop});
  REQUIRE(before.has_value());
  const auto keep_before = *ctl.get(kKeep);
  const auto lease = keep_before.lease;

  // The new manifest: keep-1 as it was, change-1 with another tag, drop-1 gone, add-1 new.
  change_entry.tags = {"green"};
  m.services = {entry_for(keep, "keep-1"), change_entry, entry_for(add, "add-1")};
  replace_file(daemon.manifest_path(), manifest_yaml(m));
  const std::size_t from = daemon.log_size();
  const auto t0 = std::chrono::steady_clock::now();
  daemon.signal(SIGHUP);
  REQUIRE(daemon.wait_for_log(std::regex("reload: 1 added, 1 removed, 1 changed, 1 unchanged"), 10s,
                              from));
  const auto after = wait_for_keys(ctl, "/services/", {kKeep, kChange, kAdd});
  record_ms("fault 6: SIGHUP to the registry matching the new manifest", ms_since(t0));
  REQUIRE(after.has_value());
  const auto changed = ctl.get(kChange);
  REQUIRE(changed.has_value());
  CHECK(nlohmann::json::parse(changed->value).at("tags") == nlohmann::json{"green"});
  CHECK(changed->create_revision == before->at(0).create_revision);  // updated, not re-created
  // keep-1: not one write, across the reload and the resyncs after it.
  REQUIRE(daemon.wait_for_log(std::regex("service add-1 is healthy"), 10s, from));
  const auto keep_after = ctl.get(kKeep);
  REQUIRE(keep_after.has_value());
  CHECK(keep_after->mod_revision == keep_before.mod_revision);
  CHECK(keep_after->version == 1);
  CHECK(ctl.lease_list() == std::vector<std::int64_t>{lease});
  // The daemon still probes the unchanged service with the prober it had.
  keep.set_serving(false);
  CHECK(wait_for_key_state(ctl, kKeep, false, std::chrono::steady_clock::now()));
  keep.set_serving(true);
  CHECK(wait_for_key_state(ctl, kKeep, true, std::chrono::steady_clock::now()));
}

TEST_CASE("fault 6: a bad manifest on SIGHUP is refused and the old one keeps running",
          "[resilience][fault-6]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.services = {entry_for(hello, "hello-1")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());
  const Etcdctl ctl = etcd.ctl();
  REQUIRE(wait_for_keys(ctl, "/services/", {"/services/hello/hello-1"}));
  const auto revision = ctl.revision();

  // Invalid: one error line naming file:line:column and field; nothing deregistered.
  std::string bad = manifest_yaml(m);
  bad.replace(bad.find("port: "), 6, "port: 70000 #");
  replace_file(daemon.manifest_path(), bad);
  std::size_t from = daemon.log_size();
  daemon.signal(SIGHUP);
  const auto refused = daemon.wait_for_log(std::regex("reload refused: (.*)"), 10s, from);
  REQUIRE(refused.has_value());
  CHECK(refused->groups.at(1).find(daemon.manifest_path().string() + ":") == 0);
  CHECK(refused->groups.at(1).find("services[0].port") != std::string::npos);
  CHECK(count_lines(daemon.log().substr(from), std::regex("reload refused")) == 1);

  // A different registry section: refused as well, with the reason.
  ManifestParams moved = m;
  moved.endpoints = {"127.0.0.1:1"};
  replace_file(daemon.manifest_path(), manifest_yaml(moved));
  from = daemon.log_size();
  daemon.signal(SIGHUP);
  const auto refused_registry =
      daemon.wait_for_log(std::regex("reload refused: registry section changed"), 10s, from);
  CHECK(refused_registry.has_value());

  // Neither touched the registry; the old manifest still rules (health still followed).
  CHECK(daemon.running());
  CHECK(ctl.revision() == revision);
  CHECK(ctl.get("/services/hello/hello-1").has_value());
  hello.set_serving(false);
  CHECK(
      wait_for_key_state(ctl, "/services/hello/hello-1", false, std::chrono::steady_clock::now()));
  // A good manifest afterwards is applied.
  m.services.clear();
  replace_file(daemon.manifest_path(), manifest_yaml(m));
  from = daemon.log_size();
  daemon.signal(SIGHUP);
  CHECK(daemon.wait_for_log(std::regex("reload: 0 added, 1 removed"), 10s, from));
}

TEST_CASE(
    "fault 6: a changed status.listen on SIGHUP is reported, not applied, and the rest goes "
    "ahead",
    "[resilience][fault-6]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.services = {entry_for(hello, "hello-1")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());
  const Etcdctl ctl = etcd.ctl();
  REQUIRE(wait_for_keys(ctl, "/services/", {"/services/hello/hello-1"}));

  // The daemon started without a status server; the reload asks for one and adds a service.
  ManifestParams next = m;
  next.services.push_back(entry_for(hello, "hello-2"));
  replace_file(daemon.manifest_path(), manifest_yaml(next) + "status:\n  listen: 127.0.0.1:1\n");
  const std::size_t from = daemon.log_size();
  daemon.signal(SIGHUP);
  const auto warned = daemon.wait_for_log(
      std::regex("reload: status.listen changed to '127.0.0.1:1'; the status server stays on ''"),
      10s, from);
  CHECK(warned.has_value());
  CHECK(wait_for_keys(ctl, "/services/", {"/services/hello/hello-1", "/services/hello/hello-2"}));
  CHECK(daemon.running());
}
