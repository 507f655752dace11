// `grpc-registrar check`: the manifest is valid (else one located error line, exit 78), and the
// files it names can be used by the daemon: every secret file (registry.etcd.password_file, the
// key_file of each TLS section in use) and every TLS ca_file and cert_file must be readable (else
// an error, exit 78), and a secret file that every local user may read draws a warning. The
// Consul token file is refused exactly as `run` refuses it (cli/token_preflight.hpp). A status
// server on a non-loopback address, allowed by status.allow_remote, draws a warning. The
// effective configuration goes to stdout, problems to stderr, one line each. Neither ever
// contains a secret: files are opened and never printed; only the token file is read, to check
// its form.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/token_preflight.hpp"
#include "config/effective.hpp"
#include "config/error.hpp"
#include "config/manifest_parser.hpp"
#include "config/status_policy.hpp"

namespace registrar::cli {

namespace {

struct NamedFile {
  std::string field;  // e.g. "registry.etcd.tls.key_file", or the variable it came from
  std::string path;
  bool secret = false;
};

struct Findings {
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
};

void add_tls(std::vector<NamedFile>& out, const std::string& where, const config::TlsSpec& t) {
  if (!t.enabled) return;
  if (!t.ca_file.empty()) out.push_back({where + ".ca_file", t.ca_file, false});
  if (!t.cert_file.empty()) out.push_back({where + ".cert_file", t.cert_file, false});
  if (!t.key_file.empty()) out.push_back({where + ".key_file", t.key_file, true});
}

// The files the daemon will open for this manifest: those of the registry in use, and the probe
// TLS files of every service. Each path once (the first field that names it).
std::vector<NamedFile> files_of(const config::Manifest& m) {
  std::vector<NamedFile> all;
  const config::RegistrySpec& r = m.registry;
  if (r.kind == config::RegistryKind::Etcd) {
    add_tls(all, "registry.etcd.tls", r.etcd.tls);
    if (!r.etcd.password_file.empty())
      all.push_back({"registry.etcd.password_file", r.etcd.password_file, true});
  } else if (r.kind == config::RegistryKind::ZooKeeper) {
    if (!r.zookeeper.password_file.empty())
      all.push_back({"registry.zookeeper.auth.password_file", r.zookeeper.password_file, true});
  } else if (r.kind == config::RegistryKind::Eureka) {
    add_tls(all, "registry.eureka.tls", r.eureka.tls);
    if (!r.eureka.password_file.empty())
      all.push_back({"registry.eureka.password_file", r.eureka.password_file, true});
  } else if (r.kind == config::RegistryKind::Nacos) {
    add_tls(all, "registry.nacos.tls", r.nacos.tls);
    if (!r.nacos.password_file.empty())
      all.push_back({"registry.nacos.password_file", r.nacos.password_file, true});
  } else {
    add_tls(all, "registry.consul.tls", r.consul.tls);
  }
  for (std::size_t i = 0; i < m.services.size(); ++i) {
    add_tls(all, "services[" + std::to_string(i) + "].probe.tls", m.services[i].probe.tls);
  }
  std::vector<NamedFile> out;
  std::set<std::string> seen;
  for (NamedFile& f : all) {
    if (seen.insert(f.path).second) out.push_back(std::move(f));
  }
  return out;
}

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// Opens the file (never reads it): the daemon, run as this user, will be able to.
void check_file(const NamedFile& f, Findings& found) {
  const int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    found.errors.push_back(f.field + ": cannot read " + f.path + ": " + std::strerror(errno));
    return;
  }
  struct stat st {};
  const int rc = ::fstat(fd, &st);
  ::close(fd);
  if (rc != 0) {
    found.errors.push_back(f.field + ": cannot read " + f.path + ": " + std::strerror(errno));
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    found.errors.push_back(f.field + ": " + f.path + " is a directory, not a file");
    return;
  }
  if (f.secret && (st.st_mode & S_IROTH) != 0) {
    found.warnings.push_back(f.field + " " + f.path + " is readable by every local user (mode " +
                             mode_text(st.st_mode) + "); it holds a secret: chmod o-r it");
  }
}

// An inline registry.consul.token makes the manifest itself a secret file.
void check_inline_token(const config::Manifest& m, const std::string& path, Findings& found) {
  if (m.registry.kind != config::RegistryKind::Consul ||
      m.registry.consul.token_source != "registry.consul.token")
    return;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH) != 0) {
    found.warnings.push_back(
        "registry.consul.token is written in this manifest, which is readable "
        "by every local user (mode " +
        mode_text(st.st_mode) + "); use registry.consul.token_file (mode 0600) instead");
  }
}

}  // namespace

int check_manifest(const std::string& config_path) {
  config::Manifest manifest;
  try {
    manifest = config::load_manifest(config_path);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return kExitConfig;
  }
  Findings found;
  const TokenFileFinding token = check_token_file(manifest);
  if (!token.error.empty()) found.errors.push_back(token.error);
  if (!token.world_readable.empty()) found.warnings.push_back(token.world_readable);
  if (!token.warning.empty()) found.warnings.push_back(token.warning);
  for (const NamedFile& f : files_of(manifest)) check_file(f, found);
  if (const std::string w = remote_status_warning(manifest.status); !w.empty())
    found.warnings.push_back(w);
  check_inline_token(manifest, config_path, found);
  for (const std::string& w : found.warnings)
    std::fprintf(stderr, "%s: warning: %s\n", config_path.c_str(), w.c_str());
  for (const std::string& e : found.errors)
    std::fprintf(stderr, "%s: %s\n", config_path.c_str(), e.c_str());
  if (!found.errors.empty()) return kExitConfig;
  std::cout << config::render_effective(manifest) << std::flush;
  return kExitOk;
}

}  // namespace registrar::cli
