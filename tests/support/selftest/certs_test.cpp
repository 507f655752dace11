#include "support/certs.hpp"

#include <catch2/catch.hpp>
#include <filesystem>

#include "support/process.hpp"

using namespace registrar::test;

TEST_CASE("TestPki makes a CA whose server and client certificates verify, and a foreign one") {
  TestPki pki("localhost,example.test");
  for (const auto& p : {pki.ca(), pki.other_ca(), pki.server().cert, pki.server().key,
                        pki.client().cert, pki.client().key}) {
    CHECK(std::filesystem::exists(p));
  }
  auto verify = [](const std::filesystem::path& ca, const std::filesystem::path& cert,
                   const char* purpose) {
    return run_command("openssl",
                       {"verify", "-purpose", purpose, "-CAfile", ca.string(), cert.string()})
        .status;
  };
  CHECK(verify(pki.ca(), pki.server().cert, "sslserver").exited_with(0));
  CHECK(verify(pki.ca(), pki.client().cert, "sslclient").exited_with(0));
  CHECK_FALSE(verify(pki.ca(), pki.foreign_client().cert, "sslclient").exited_with(0));
  CHECK_FALSE(verify(pki.other_ca(), pki.server().cert, "sslserver").exited_with(0));
  std::string text = run_openssl({"x509", "-in", pki.server().cert.string(), "-noout", "-text"});
  CHECK(text.find("IP Address:127.0.0.1") != std::string::npos);
  CHECK(text.find("DNS:example.test") != std::string::npos);
  CHECK((std::filesystem::status(pki.client().key).permissions() &
         std::filesystem::perms::others_read) == std::filesystem::perms::none);
}
