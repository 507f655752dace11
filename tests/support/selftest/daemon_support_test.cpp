#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/daemon.hpp"
#include "support/paths.hpp"

using namespace registrar::test;

TEST_CASE("daemon support: the manifest file holds the exact text and goes away", "[daemon]") {
  std::filesystem::path path;
  {
    const std::string yaml = "registry:\n  kind: etcd\nservices: []\n";
    ManifestFile m(yaml);
    path = m.path();
    REQUIRE(std::filesystem::exists(path));
    CHECK(path.filename() == "manifest.yaml");
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    CHECK(ss.str() == yaml);
  }
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK_FALSE(std::filesystem::exists(path.parent_path()));
}

TEST_CASE("daemon support: the daemon binary path comes from the build", "[daemon]") {
  const auto bin = registrar_bin();
  REQUIRE(bin.has_value());
  CHECK(std::filesystem::path(*bin).filename() == "grpc-registrar");
  CHECK(std::filesystem::is_regular_file(*bin));
}
