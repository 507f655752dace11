// Daemon: the real grpc-registrar binary running a manifest the test wrote.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace registrar::test {

// A manifest written to <tempdir>/manifest.yaml, removed with the dir.
class ManifestFile {
 public:
  explicit ManifestFile(const std::string& yaml, const std::string& file_name = "manifest.yaml")
      : dir_("registrar-manifest"), path_(dir_.write_file(file_name, yaml)) {}
  const std::filesystem::path& path() const { return path_; }

 private:
  TempDir dir_;
  std::filesystem::path path_;
};

struct DaemonOptions {
  std::string log_level = "debug";  // --log-level
  std::string log_format;           // --log-format, omitted when empty
  bool explicit_run = true;         // `run -c FILE` (true) or plain `-c FILE`
  std::vector<std::string> extra_args;
};

class Daemon {
 public:
  // Writes the manifest and starts `grpc-registrar run -c FILE --log-level LEVEL`. Throws if the
  // binary is unknown.
  explicit Daemon(const std::string& manifest_yaml, DaemonOptions options = {});

  // SIGTERM, then wait for the exit (SIGKILL after `timeout`, and the status says so).
  ExitStatus terminate(Millis timeout = 10s);
  ExitStatus kill9() { return process_->kill9(); }
  void signal(int sig) { process_->signal(sig); }
  bool running() { return process_->running(); }

  std::string log() const { return process_->stderr_text(); }  // logs go to stderr
  std::size_t log_size() const { return process_->output_size(Stream::Stderr); }
  std::optional<LineMatch> wait_for_log(const std::regex& re, Millis timeout = 10s,
                                        std::size_t from = 0) {
    return process_->wait_for_line(Stream::Stderr, re, timeout, from);
  }
  std::optional<LineMatch> find_log(const std::regex& re, std::size_t from = 0) const {
    return process_->find_line(Stream::Stderr, re, from);
  }

  const std::filesystem::path& manifest_path() const { return manifest_.path(); }
  // The default control socket of this daemon (it sets $RUNTIME_DIRECTORY to the manifest's
  // directory), when its manifest has a status section and names no other.
  std::string control_socket() const;
  Process& process() { return *process_; }

 private:
  ManifestFile manifest_;
  std::unique_ptr<Process> process_;
};

// Runs grpc-registrar with `args` to completion (e.g. {"check", "-c", path}).
CommandResult run_registrar(const std::vector<std::string>& args, const EnvVars& extra_env = {},
                            Millis timeout = 10s);

}  // namespace registrar::test
