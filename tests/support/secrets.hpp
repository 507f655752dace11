// Secrets with known values. Every test that puts a token or password in a file or the
// environment uses one of these, so that a scan of every log and output the suite produced can
// prove none of them leaked (scripts/scan-secrets). Their shapes match real ones: a Consul ACL
// token is a UUID, an etcd password is free text.
#pragma once

namespace registrar::test {

inline constexpr const char* kKnownToken = "5ec4e7a1-70c3-4e2b-9f11-c0ffee5ec4e7";
inline constexpr const char* kKnownPassword = "pw-Kn0wn-5ecret-9c1d7f";

}  // namespace registrar::test
