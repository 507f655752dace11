// `cmake --install` and the Debian package built by CPack, listed with dpkg-deb. Cheap (a few
// seconds): CPack installs what is built (CMAKE_SKIP_INSTALL_ALL_DEPENDENCY) and packages it.
#include <catch2/catch.hpp>
#include <filesystem>

#include "ops_itest.hpp"
#include "support/paths.hpp"

using namespace registrar::itest;
namespace fs = std::filesystem;

TEST_CASE("ops package: cmake --install puts each file where Debian expects it", "[ops][package]") {
  if (!have_binaries()) return;
  TempDir dest("registrar-install");
  const auto r = run_command(
      "cmake", {"--install", binary_dir().string(), "--component", "registrar", "--prefix", "/usr"},
      60s, {{"DESTDIR", dest.path().string()}});
  INFO(r.out << r.err);
  REQUIRE(r.status.exited_with(0));
  const fs::path d = dest.path();
  CHECK(fs::exists(d / "usr/bin/grpc-registrar"));
  CHECK(fs::exists(d / "usr/lib/systemd/system/grpc-registrar.service"));
  CHECK(fs::exists(d / "etc/grpc-registrar/services.yaml"));
  CHECK(fs::exists(d / "etc/default/grpc-registrar"));
  CHECK(fs::exists(d / "usr/share/doc/grpc-registrar/README.md"));
  CHECK(fs::exists(d / "usr/share/doc/grpc-registrar/cli.md"));
  CHECK(fs::exists(d / "usr/share/doc/grpc-registrar/examples/services.example.yaml"));
  CHECK_FALSE(fs::exists(d / "usr/lib/grpc-registrar/examples/hello-service"));  // not packaged
  // The installed manifest is valid and registers nothing until edited.
  const auto c = run_registrar({"check", "-c", (d / "etc/grpc-registrar/services.yaml").string()});
  CHECK(c.status.exited_with(0));
  CHECK(c.out.find("services: []") != std::string::npos);
}

TEST_CASE("ops package: cpack builds a .deb that dpkg-deb lists its contents", "[ops][package]") {
  if (!have_binaries()) return;
  TempDir out("registrar-cpack");
  const auto r =
      run_command("cpack",
                  {"-G", "DEB", "--config", (binary_dir() / "CPackConfig.cmake").string(), "-B",
                   out.path().string()},
                  180s);
  INFO(r.out << r.err);
  REQUIRE(r.status.exited_with(0));
  std::optional<fs::path> deb;
  for (const auto& e : fs::directory_iterator(out.path()))
    if (e.path().extension() == ".deb") deb = e.path();
  REQUIRE(deb);
  const auto list = run_command("dpkg-deb", {"-c", deb->string()}, 30s);
  REQUIRE(list.status.exited_with(0));
  record("deb contents", "\n" + list.out);
  for (const std::string path :
       {"./usr/bin/grpc-registrar", "./usr/lib/systemd/system/grpc-registrar.service",
        "./etc/grpc-registrar/services.yaml", "./etc/default/grpc-registrar",
        "./usr/share/doc/grpc-registrar/operations.md", "./usr/share/doc/grpc-registrar/cli.md"}) {
    INFO(path);
    CHECK(list.out.find(path + "\n") != std::string::npos);
  }
  CHECK(list.out.find("hello-service") == std::string::npos);
  const auto info = run_command("dpkg-deb", {"-I", deb->string()}, 30s);
  CHECK(info.out.find("Package: grpc-registrar") != std::string::npos);
  CHECK(info.out.find("libgrpc++1.51") != std::string::npos);  // from dpkg-shlibdeps
  CHECK(info.out.find("conffiles") != std::string::npos);
  // The maintainer scripts: hand-over restart on upgrade, stop on removal, purge clean-up.
  for (const std::string script : {" postinst", " prerm", " postrm"}) {
    INFO(script);
    CHECK(info.out.find(script) != std::string::npos);
  }
  // The packaged unit names /usr/bin, wherever this build installs by hand.
  TempDir x("registrar-deb-x");
  REQUIRE(
      run_command("dpkg-deb", {"-x", deb->string(), x.path().string()}, 30s).status.exited_with(0));
  const std::string unit = read_text(x.path() / "usr/lib/systemd/system/grpc-registrar.service");
  CHECK(unit.find("ExecStart=/usr/bin/grpc-registrar run") != std::string::npos);
}
