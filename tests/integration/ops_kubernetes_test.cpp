// docs/kubernetes.md, checked without a cluster: its YAML parses, the pod uses a native sidecar
// whose preStop drains with flags the binary accepts, the sidecar's manifest passes `check`, and
// the grace period covers the sum the page gives.
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <regex>

#include "ops_itest.hpp"
#include "support/ports.hpp"

using namespace registrar::itest;

namespace {

// The ```yaml blocks of a Markdown text.
std::vector<std::string> yaml_blocks(const std::string& md) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  for (int i = 0; i < 100; ++i) {
    const auto start = md.find("```yaml\n", pos);
    if (start == std::string::npos) break;
    const auto end = md.find("```\n", start + 8);
    if (end == std::string::npos) break;
    out.push_back(md.substr(start + 8, end - start - 8));
    pos = end + 4;
  }
  return out;
}

long seconds(const std::string& duration) {
  std::smatch m;
  REQUIRE(std::regex_match(duration, m, std::regex(R"(([0-9]+)s)")));
  return std::stol(m[1]);
}

}  // namespace

TEST_CASE("ops kubernetes: the documented pod is a native sidecar that drains in preStop",
          "[ops][kubernetes]") {
  if (!have_binaries()) return;
  const auto blocks = yaml_blocks(read_text(source_dir() / "docs/kubernetes.md"));
  REQUIRE(blocks.size() == 1);
  const std::vector<YAML::Node> docs = YAML::LoadAll(blocks[0]);
  REQUIRE(docs.size() == 2);
  const YAML::Node config = docs[0];
  const YAML::Node deploy = docs[1];
  CHECK(config["kind"].as<std::string>() == "ConfigMap");
  CHECK(deploy["kind"].as<std::string>() == "Deployment");
  const YAML::Node pod = deploy["spec"]["template"]["spec"];

  // The sidecar: an init container with restartPolicy Always.
  REQUIRE(pod["initContainers"].size() == 1);
  const YAML::Node sidecar = pod["initContainers"][0];
  CHECK(sidecar["restartPolicy"].as<std::string>() == "Always");
  const auto args = sidecar["args"].as<std::vector<std::string>>();
  REQUIRE(!args.empty());
  const auto run_flags = help_flags({args[0]});
  for (const auto& a : args) {
    if (a.rfind("--", 0) != 0) continue;
    INFO(a);
    CHECK(std::find(run_flags.begin(), run_flags.end(), a) != run_flags.end());
  }

  // Its preStop drains; the flags are real: against nothing listening, the answer is 69
  // (unreachable), not 64 (usage).
  auto pre_stop = sidecar["lifecycle"]["preStop"]["exec"]["command"].as<std::vector<std::string>>();
  REQUIRE(pre_stop.size() >= 2);
  CHECK(pre_stop[0] == "/usr/bin/grpc-registrar");
  CHECK(pre_stop[1] == "drain");
  std::vector<std::string> drain(pre_stop.begin() + 1, pre_stop.end());
  const TempDir no_daemon("registrar-k8s");
  drain.insert(drain.end(), {"--control-socket", (no_daemon.path() / "control.sock").string()});
  const auto r = run_registrar(drain, {}, 20s);
  INFO(r.err);
  CHECK(r.status.exited_with(69));
  const auto live = sidecar["livenessProbe"]["exec"]["command"].as<std::vector<std::string>>();
  REQUIRE(live.size() >= 2);
  CHECK(live[1] == "status");
  const auto status_flags = help_flags({"status"});
  for (std::size_t i = 2; i < live.size(); ++i)
    CHECK(std::find(status_flags.begin(), status_flags.end(), live[i]) != status_flags.end());

  // The application keeps serving for a while after termination starts.
  REQUIRE(pod["containers"].size() == 1);
  const YAML::Node app = pod["containers"][0];
  const long app_sleep = app["lifecycle"]["preStop"]["sleep"]["seconds"].as<long>();
  CHECK(app_sleep > 0);
  CHECK(app["readinessProbe"]["grpc"]["port"].as<int>() == 50051);

  // The sidecar's manifest, with the downward API's values, passes check.
  const std::string manifest = config["data"]["services.yaml"].as<std::string>();
  const ManifestFile file(manifest);
  const auto c = run_registrar({"check", "-c", file.path().string()},
                               {{"POD_IP", "10.1.2.3"}, {"POD_NAME", "hello-abc"}});
  INFO(c.err);
  REQUIRE(c.status.exited_with(0));
  CHECK(c.out.find("id: hello-hello-abc") != std::string::npos);
  CHECK(c.out.find("address: 10.1.2.3") != std::string::npos);
  CHECK(c.out.find("listen: 127.0.0.1:9901") != std::string::npos);  // loopback only
  const YAML::Node effective = YAML::Load(c.out);
  const long shutdown_timeout = seconds(effective["shutdown_timeout"].as<std::string>());
  const long drain_wait = seconds(effective["drain"].as<std::string>());

  // The grace period covers: app preStop + app shutdown (10 s assumed on the page) +
  // shutdown_timeout + drain.
  const long grace = pod["terminationGracePeriodSeconds"].as<long>();
  const long needed = app_sleep + 10 + shutdown_timeout + drain_wait;
  INFO("grace " << grace << " s, needed " << needed << " s");
  CHECK(grace >= needed);
  // The mounted ConfigMap is where the image looks for its manifest.
  CHECK(sidecar["volumeMounts"][0]["mountPath"].as<std::string>() == "/etc/grpc-registrar");
  CHECK(pod["volumes"][0]["configMap"]["name"].as<std::string>() ==
        config["metadata"]["name"].as<std::string>());
  // Under a read-only root, the control socket's directory (the preStop drain's way in) is a
  // writable volume.
  REQUIRE(sidecar["securityContext"]["readOnlyRootFilesystem"].as<bool>());
  REQUIRE(sidecar["volumeMounts"].size() >= 2);
  CHECK(sidecar["volumeMounts"][1]["mountPath"].as<std::string>() == "/run/grpc-registrar");
  CHECK(sidecar["volumeMounts"][1]["name"].as<std::string>() ==
        pod["volumes"][1]["name"].as<std::string>());
  CHECK(pod["volumes"][1]["emptyDir"].IsDefined());
}
