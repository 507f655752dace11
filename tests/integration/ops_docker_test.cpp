// docker/Dockerfile and the compose files, checked without a Docker engine (there is none on
// these machines): every file they reference exists, the runtime stage installs exactly the
// packages of the libraries the binary links, and the image's entrypoint command runs as PID 1
// of a fresh PID namespace, as the image's non-root user, answers its own HEALTHCHECK, reaps
// orphans and stops cleanly on SIGTERM. docs/docker.md lists what this does not cover.
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "ops_itest.hpp"
#include "support/paths.hpp"
#include "support/ports.hpp"

using namespace registrar::itest;
namespace fs = std::filesystem;

namespace {

struct Stage {
  std::string base;
  std::string name;
  std::vector<std::string> instructions;  // continuation lines joined
};

std::vector<Stage> parse_dockerfile(const std::string& text) {
  std::vector<Stage> stages;
  std::istringstream in(text);
  std::string line, current;
  auto flush = [&] {
    if (current.empty()) return;
    std::smatch m;
    if (std::regex_match(current, m, std::regex(R"(FROM\s+(\S+)(\s+AS\s+(\S+))?\s*)"))) {
      stages.push_back({m[1], m[3], {}});
    } else if (!stages.empty()) {
      stages.back().instructions.push_back(current);
    }
    current.clear();
  };
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      if (current.empty()) continue;
      if (line.empty()) continue;
      continue;  // a comment inside a continued instruction
    }
    const bool continued = !line.empty() && line.back() == '\\';
    if (continued) line.pop_back();
    current += (current.empty() ? "" : " ") + line;
    if (!continued) flush();
  }
  flush();
  return stages;
}

const Stage& stage(const std::vector<Stage>& stages, const std::string& name) {
  for (const auto& s : stages)
    if (s.name == name) return s;
  throw std::runtime_error("no stage " + name);
}

std::vector<std::string> with_prefix(const Stage& s, const std::string& keyword) {
  std::vector<std::string> out;
  for (const auto& i : s.instructions)
    if (i.rfind(keyword + " ", 0) == 0) out.push_back(i.substr(keyword.size() + 1));
  return out;
}

// Packages named after `apt-get install ... --no-install-recommends` up to the next `&&`.
std::set<std::string> apt_packages(const Stage& s) {
  std::set<std::string> out;
  for (const auto& run : with_prefix(s, "RUN")) {
    const auto at = run.find("--no-install-recommends");
    if (at == std::string::npos) continue;
    std::istringstream words(run.substr(at + std::strlen("--no-install-recommends")));
    std::string w;
    while (words >> w && w != "&&") out.insert(w);
  }
  return out;
}

// The Debian packages that own the libraries `binary` links directly (DT_NEEDED).
std::set<std::string> needed_packages(const std::string& binary) {
  std::set<std::string> out;
  const auto needed = run_command("objdump", {"-p", binary}, 30s);
  const auto ldd = run_command("ldd", {binary}, 30s);
  std::map<std::string, std::string> where;  // soname -> path
  for (const auto& line : non_empty_lines(ldd.out)) {
    std::smatch m;
    if (std::regex_search(line, m, std::regex(R"(^\s*(\S+) => (\S+))"))) where[m[1]] = m[2];
  }
  std::vector<std::string> paths;  // each library as ldd names it, and resolved (merged /usr)
  for (const auto& line : non_empty_lines(needed.out)) {
    std::smatch m;
    if (!std::regex_search(line, m, std::regex(R"(NEEDED\s+(\S+))"))) continue;
    const std::string path = where.at(m[1]);
    paths.push_back(path);
    paths.push_back(fs::canonical(path).string());
  }
  // One dpkg -S for all of them: "package[:arch]: path" per path it knows.
  std::vector<std::string> args{"-S"};
  args.insert(args.end(), paths.begin(), paths.end());
  const auto owners = run_command("dpkg", args, 60s);
  std::map<std::string, std::string> owner;  // path -> package
  for (const auto& line : non_empty_lines(owners.out)) {
    const auto sep = line.find(": ");
    if (sep == std::string::npos) continue;
    const std::string pkg = line.substr(0, sep);
    owner[line.substr(sep + 2)] = pkg.substr(0, pkg.find(':'));
  }
  for (std::size_t i = 0; i < paths.size(); i += 2) {
    const auto it = owner.count(paths[i]) ? owner.find(paths[i]) : owner.find(paths[i + 1]);
    INFO("dpkg -S " << paths[i]);
    REQUIRE(it != owner.end());
    out.insert(it->second);
  }
  return out;
}

std::vector<std::string> json_array(const std::string& text) {
  const auto j = nlohmann::json::parse(text);
  return j.get<std::vector<std::string>>();
}

// The child of `pid` (unshare --fork's child: PID 1 of the new namespace).
std::optional<pid_t> only_child(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  pid_t child = 0;
  if (in >> child) return child;
  return std::nullopt;
}

// Processes whose parent is `pid` (zombies only, or all).
int children(pid_t pid, bool zombies_only) {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string stat;
    std::getline(in, stat);
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == pid && (state == 'Z' || !zombies_only)) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("ops docker: every COPY source and stage reference exists", "[ops][docker]") {
  const fs::path root = source_dir();
  const auto stages = parse_dockerfile(read_text(root / "docker/Dockerfile"));
  std::set<std::string> names;
  for (const auto& s : stages) names.insert(s.name);
  CHECK(names == std::set<std::string>{"build", "package", "hello-service", "etcd", "runtime"});
  CHECK(stages.back().name == "runtime");  // the default target is the sidecar
  CHECK(stage(stages, "build").base == "debian:bookworm");
  CHECK(stage(stages, "package").base == "scratch");  // the .deb alone, for `build -o DIR`
  for (const std::string s : {"hello-service", "etcd", "runtime"})
    CHECK(stage(stages, s).base == "debian:bookworm-slim");
  for (const auto& s : stages) {
    for (const auto& copy : with_prefix(s, "COPY")) {
      std::istringstream words(copy);
      std::vector<std::string> parts;
      std::string w;
      while (words >> w) parts.push_back(w);
      REQUIRE(parts.size() >= 2);
      if (parts[0].rfind("--from=", 0) == 0) {
        INFO(copy);
        CHECK(names.count(parts[0].substr(7)) == 1);
        continue;
      }
      for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        INFO("COPY source " << parts[i]);
        CHECK(fs::exists(root / parts[i]));
      }
    }
  }
  // The build stage builds with the -dev packages bootstrap installs for the daemon.
  const auto build = apt_packages(stage(stages, "build"));
  const std::string bootstrap = read_text(root / "scripts/bootstrap");
  for (const auto& p : build) {
    INFO(p << " is installed by scripts/bootstrap too");
    CHECK(bootstrap.find(p) != std::string::npos);
  }
}

TEST_CASE("ops docker: runtime stages install exactly what the binaries link", "[ops][docker]") {
  if (!have_binaries()) return;
  const auto stages = parse_dockerfile(read_text(source_dir() / "docker/Dockerfile"));
  auto check = [](const std::string& binary, const Stage& s) {
    std::set<std::string> want = needed_packages(binary);
    want.erase("libc6");  // in every Debian image
#ifdef REGISTRAR_SANITIZE
    // scripts/test runs this against its sanitizer build, which also links the sanitizer
    // runtimes; the image builds the plain binary (tests/CMakeLists.txt defines this).
    for (const char* runtime : {"libasan8", "libubsan1", "libtsan2"}) want.erase(runtime);
#endif
    const std::set<std::string> got = apt_packages(s);
    std::string w, g;
    for (const auto& p : want) w += p + " ";
    for (const auto& p : got) g += p + " ";
    INFO(binary << "\n  links (packages): " << w << "\n  stage " << s.name << " installs: " << g);
#ifdef REGISTRAR_SANITIZE
    // The sanitizer build is -O0: references that --as-needed drops from the image's optimised
    // binary stay, so it links gRPC's own dependencies (c-ares, re2, zlib, ...) directly. The
    // stage must install nothing this binary does not link, and each extra package must come
    // with one the stage installs (apt's Depends), so the image has it either way.
    for (const auto& p : got) {
      INFO(p << " is installed but not linked");
      CHECK(want.count(p) == 1);
    }
    std::vector<std::string> depends{"depends", "--important"};
    for (const auto& p : got) depends.push_back(p);
    const auto d = run_command("apt-cache", depends, 60s);
    REQUIRE(d.status.exited_with(0));
    std::set<std::string> pulled_in;
    std::istringstream lines(d.out);
    for (std::string line; std::getline(lines, line);) {
      const auto at = line.find("Depends: ");
      if (at != std::string::npos) pulled_in.insert(line.substr(at + 9));
    }
    for (const auto& p : want) {
      if (got.count(p) == 1) continue;
      INFO(p << " is linked but neither installed nor a dependency of an installed package");
      CHECK(pulled_in.count(p) == 1);
    }
#else
    CHECK(got == want);
#endif
    for (const auto& p : got) CHECK(p.find("-dev") == std::string::npos);
  };
  check(*registrar_bin(), stage(stages, "runtime"));
  check(*hello_service_bin(), stage(stages, "hello-service"));
  // Every package the Dockerfile names exists in bookworm (apt's local index; one call).
  std::vector<std::string> show{"show", "--no-all-versions"};
  for (const auto& s : stages)
    for (const auto& p : apt_packages(s)) show.push_back(p);
  const auto r = run_command("apt-cache", show, 60s);
  INFO("apt-cache show: " << r.err);
  CHECK(r.status.exited_with(0));
}

TEST_CASE(
    "ops docker: the runtime stage runs non-root with an exec-form entrypoint and "
    "healthcheck",
    "[ops][docker]") {
  const auto stages = parse_dockerfile(read_text(source_dir() / "docker/Dockerfile"));
  const Stage& rt = stage(stages, "runtime");
  const auto user = with_prefix(rt, "USER");
  REQUIRE(user.size() == 1);
  CHECK(user[0].rfind("root", 0) != 0);
  CHECK(user[0].rfind("0", 0) != 0);
  const auto entry = with_prefix(rt, "ENTRYPOINT");
  REQUIRE(entry.size() == 1);
  CHECK(json_array(entry[0]) == std::vector<std::string>{"/usr/bin/grpc-registrar"});
  const auto cmd = with_prefix(rt, "CMD");
  REQUIRE(cmd.size() == 1);
  CHECK(json_array(cmd[0]) == std::vector<std::string>{"run"});
  const auto hc = with_prefix(rt, "HEALTHCHECK");
  REQUIRE(hc.size() == 1);
  const auto at = hc[0].find("CMD [");
  REQUIRE(at != std::string::npos);
  CHECK(json_array(hc[0].substr(at + 4)) ==
        std::vector<std::string>{"/usr/bin/grpc-registrar", "status", "--quiet"});
}

TEST_CASE(
    "ops docker: the entrypoint runs as PID 1 and non-root, passes its HEALTHCHECK, "
    "reaps orphans and stops on SIGTERM",
    "[ops][docker]") {
  if (!have_binaries()) return;
  if (::geteuid() != 0) {
    WARN("not root: cannot create a PID namespace or switch to the image's user; not run");
    return;
  }
  EtcdServer etcd;
  HelloService hello;
  // The image's manifest (docker/services.yaml) with a free status port and one service.
  std::string manifest = read_text(source_dir() / "docker/services.yaml");
  const std::uint16_t status_port = free_port();
  manifest = std::regex_replace(manifest, std::regex("127\\.0\\.0\\.1:9901"),
                                "127.0.0.1:" + std::to_string(status_port));
  manifest = std::regex_replace(manifest, std::regex("services: \\[\\]"),
                                "services:\n  - {name: hello, id: hello-1, address: 127.0.0.1, "
                                "port: " +
                                    std::to_string(hello.port()) + "}");
  TempDir dir("registrar-docker");
  const fs::path file = dir.write_file("services.yaml", manifest);
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
  const EnvVars env{{"GRPC_REGISTRAR_CONFIG", file.string()}, {"ETCD_ENDPOINTS", etcd.endpoint()}};
  // ENTRYPOINT + CMD, as uid/gid 10001 (the image's `registrar` user), PID 1 of a new namespace.
  Process pid1("unshare",
               {"--pid", "--fork", "--kill-child", "--", "setpriv", "--reuid=10001",
                "--regid=10001", "--clear-groups", "--", *registrar_bin(), "run"},
               env, "grpc-registrar (PID 1)");
  DumpOnFailure dump(pid1);
  REQUIRE(wait_for_keys(etcd.ctl(), "/services", {"/services/hello/hello-1"}));
  const auto daemon = only_child(pid1.pid());
  REQUIRE(daemon);
  {
    std::ifstream status("/proc/" + std::to_string(*daemon) + "/status");
    std::string text((std::istreambuf_iterator<char>(status)), {});
    CHECK(text.find("\nUid:\t10001\t") != std::string::npos);
    CHECK(text.find("\nNSpid:\t" + std::to_string(*daemon) + "\t1\n") != std::string::npos);
  }

  // The image's HEALTHCHECK command, with the image's environment.
  CHECK(wait_until(
      [&] {
        return run_command(*registrar_bin(), {"status", "--quiet"}, 5s, env).status.exited_with(0);
      },
      10s, 100ms));

  // An orphan in the namespace (its parent exits at once) is re-parented to PID 1, which must
  // reap it when it exits.
  const auto orphan = run_command(
      "nsenter", {"-t", std::to_string(*daemon), "-p", "--", "sh", "-c", "sleep 0.5 & exit 0"},
      10s);
  REQUIRE(orphan.status.exited_with(0));
  const bool adopted = wait_until([&] { return children(*daemon, false) >= 1; }, 5s, 5ms);
  CHECK(adopted);
  CHECK(wait_until([&] { return children(*daemon, false) == 0; }, 5s));
  record("zombies left under PID 1 after the orphan exited",
         std::to_string(children(*daemon, true)));

  // docker stop: SIGTERM to PID 1.
  ::kill(*daemon, SIGTERM);
  const auto st = pid1.wait_exit(15s);
  REQUIRE(st);
  CHECK(st->exited_with(0));
  CHECK(etcd.ctl().get_prefix("/services").empty());
}

TEST_CASE("ops docker: the compose files reference what exists, and their manifests pass check",
          "[ops][docker]") {
  if (!have_binaries()) return;
  const fs::path dir = source_dir() / "docker";
  const auto stages = parse_dockerfile(read_text(dir / "Dockerfile"));
  std::set<std::string> targets;
  for (const auto& s : stages) targets.insert(s.name);
  for (const std::string name : {"compose.yaml", "compose.consul.yaml"}) {
    INFO(name);
    const YAML::Node doc = YAML::LoadFile((dir / name).string());
    const YAML::Node services = doc["services"];
    REQUIRE(services.IsMap());
    REQUIRE(services["registrar"]);
    REQUIRE(services["hello"]);
    // The sidecar shares the application's network namespace.
    CHECK(services["registrar"]["network_mode"].as<std::string>() == "service:hello");
    for (const auto& kv : services) {
      const YAML::Node svc = kv.second;
      if (svc["build"]) {
        CHECK(fs::exists(dir / svc["build"]["context"].as<std::string>() /
                         svc["build"]["dockerfile"].as<std::string>()));
        CHECK(targets.count(svc["build"]["target"].as<std::string>()) == 1);
      } else {
        CHECK(svc["image"]);
      }
      for (const auto& dep : svc["depends_on"]) CHECK(services[dep.as<std::string>()]);
    }
    // The sidecar's mounted manifest, with the compose file's environment, is valid.
    const YAML::Node reg = services["registrar"];
    EnvVars env;
    for (const auto& e : reg["environment"])
      env.emplace_back(e.first.as<std::string>(), e.second.as<std::string>());
    std::optional<fs::path> manifest;
    for (const auto& v : reg["volumes"]) {
      const std::string spec = v.as<std::string>();
      const std::string host = spec.substr(0, spec.find(':'));
      CHECK(fs::exists(dir / host));
      if (spec.find(":/etc/grpc-registrar/services.yaml") != std::string::npos)
        manifest = dir / host;
    }
    REQUIRE(manifest);
    const auto r = run_registrar({"check", "-c", manifest->string()}, env);
    INFO(r.err);
    CHECK(r.status.exited_with(0));
    CHECK(r.out.find("listen: 127.0.0.1:9901") != std::string::npos);  // the HEALTHCHECK's
  }
  // The image's own manifest is valid too.
  const auto r = run_registrar({"check", "-c", (dir / "services.yaml").string()});
  CHECK(r.status.exited_with(0));
}
