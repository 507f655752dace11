#include "support/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include "support/secrets.hpp"

extern char** environ;

namespace registrar::test {

namespace {

ExitStatus decode(int wstatus) {
  if (WIFSIGNALED(wstatus)) return {true, WTERMSIG(wstatus)};
  return {false, WEXITSTATUS(wstatus)};
}

std::string read_file_from(const std::filesystem::path& path, std::size_t from) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(std::max<std::streamoff>(in.tellg(), 0));
  if (from >= size) return {};
  in.seekg(static_cast<std::streamoff>(from));
  std::string text(size - from, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return text;
}

std::vector<std::string> build_env(const EnvVars& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry(*e);
    const auto eq = entry.find('=');
    const std::string name = entry.substr(0, eq);
    bool overridden = false;
    for (const auto& [k, v] : extra) overridden = overridden || k == name;
    if (!overridden) env.push_back(entry);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

std::vector<char*> to_argv(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Frees posix_spawn attributes and file actions on every path out of the constructor.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// A file name part made of [A-Za-z0-9._-] only, at most 60 characters.
std::string file_name_part(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (out.size() >= 60) break;
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    out.push_back(ok ? c : '_');
  }
  return out.empty() ? "process" : out;
}

// "<test binary>.<pid>.<counter>.<label>": unique among every test binary of one suite run.
std::string collected_name(const std::string& label) {
  static std::atomic<unsigned> counter{0};
  char number[16];
  std::snprintf(number, sizeof number, "%04u", counter.fetch_add(1));
  return file_name_part(program_invocation_short_name) + "." + std::to_string(::getpid()) + "." +
         number + "." + file_name_part(label);
}

void warn_collection_failed(const std::filesystem::path& target, const std::string& why) {
  static std::atomic<bool> warned{false};
  if (warned.exchange(true)) return;
  std::cerr << "registrar test support: cannot collect process output in " << target.string()
            << ": " << why << " (REGISTRAR_TEST_OUTPUT_DIR)\n"
            << std::flush;
}

}  // namespace

std::filesystem::path output_collection_dir() {
  const char* dir = std::getenv("REGISTRAR_TEST_OUTPUT_DIR");
  if (dir == nullptr || *dir == '\0') return {};
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);  // an error shows when linking into it
  return std::filesystem::path(dir);
}

std::string redact_known_secrets(std::string text) {
  const std::pair<const char*, const char*> secrets[] = {{kKnownToken, "<kKnownToken>"},
                                                         {kKnownPassword, "<kKnownPassword>"}};
  for (const auto& [value, name] : secrets) {
    const std::string v(value);
    for (auto at = text.find(v); at != std::string::npos; at = text.find(v, at)) {
      text.replace(at, v.size(), name);
    }
  }
  return text;
}

std::string ExitStatus::describe() const {
  if (!signaled) return "exit " + std::to_string(value);
  const char* name = ::strsignal(value);
  return "signal " + std::to_string(value) + " (" + (name ? name : "?") + ")";
}

Process::Process(std::string program, std::vector<std::string> args, EnvVars extra_env,
                 std::string label)
    : program_(std::move(program)),
      label_(label.empty() ? std::filesystem::path(program_).filename().string()
                           : std::move(label)),
      dir_("registrar-proc") {
  const std::string out_path = output_path(Stream::Stdout).string();
  const std::string err_path = output_path(Stream::Stderr).string();
  // The capture files exist before the child starts (it truncates them, keeping the inodes), so
  // they can be linked into the collection directory now: whatever happens to this process
  // later, even a SIGKILL from ctest's timeout, the collection holds every byte.
  for (const std::string& path : {out_path, err_path}) {
    std::ofstream(path, std::ios::binary | std::ios::trunc).close();
  }
  if (const auto collect = output_collection_dir(); !collect.empty()) {
    const std::string name = collected_name(label_);
    struct Capture {
      const std::string& path;
      const char* suffix;
      std::filesystem::path* copy_to;
    };
    for (const Capture& c : {Capture{out_path, ".stdout", &copy_stdout_to_},
                             Capture{err_path, ".stderr", &copy_stderr_to_}}) {
      const auto target = collect / (name + c.suffix);
      if (::link(c.path.c_str(), target.c_str()) == 0) continue;
      if (errno == EXDEV) {
        *c.copy_to = target;  // another file system: copied by the destructor
      } else {
        warn_collection_failed(target, std::strerror(errno));
      }
    }
  }

  SpawnSetup setup;
  posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&setup.actions, 1, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&setup.actions, 2, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  // Own process group (so kill9 reaches anything it starts), default signal dispositions and
  // an empty signal mask, whatever the test process has set.
  sigset_t all;
  sigset_t none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setpgroup(&setup.attr, 0);
  posix_spawnattr_setsigdefault(&setup.attr, &all);
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setflags(&setup.attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> argv_strings;
  argv_strings.push_back(program_);
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = build_env(extra_env);
  std::vector<char*> argv = to_argv(argv_strings);
  std::vector<char*> envp = to_argv(env_strings);

  const bool search_path = program_.find('/') == std::string::npos;
  const int rc = search_path ? ::posix_spawnp(&pid_, program_.c_str(), &setup.actions, &setup.attr,
                                              argv.data(), envp.data())
                             : ::posix_spawn(&pid_, program_.c_str(), &setup.actions, &setup.attr,
                                             argv.data(), envp.data());
  if (rc != 0) {
    pid_ = -1;
    throw std::runtime_error("spawn " + program_ + ": " + std::strerror(rc));
  }
}

Process::~Process() {
  if (pid_ <= 0) return;
  try {
    if (!status_) kill9();
    if (dump_on_unwind_ && std::uncaught_exceptions() > 0) dump();
    collect_at_exit();
  } catch (...) {
    // never throw from a destructor
  }
}

void Process::collect_at_exit() const {
  const std::pair<Stream, const std::filesystem::path*> streams[] = {
      {Stream::Stdout, &copy_stdout_to_}, {Stream::Stderr, &copy_stderr_to_}};
  for (const auto& [stream, target] : streams) {
    if (target->empty()) continue;
    std::error_code ec;
    std::filesystem::copy_file(output_path(stream), *target,
                               std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) warn_collection_failed(*target, ec.message());
  }
}

void Process::signal(int sig) {
  if (pid_ > 0 && !exit_status()) ::kill(pid_, sig);
}

std::optional<ExitStatus> Process::exit_status() {
  if (status_ || pid_ <= 0) return status_;
  int wstatus = 0;
  pid_t r = 0;
  for (int i = 0; i < 100; ++i) {  // retry only on EINTR
    r = ::waitpid(pid_, &wstatus, WNOHANG);
    if (!(r < 0 && errno == EINTR)) break;
  }
  if (r == pid_) {
    status_ = decode(wstatus);
  } else if (r < 0 && errno == ECHILD) {
    status_ = ExitStatus{true, 0};  // reaped elsewhere; should not happen
  }
  return status_;
}

bool Process::running() {
  return !exit_status().has_value();
}

std::optional<ExitStatus> Process::wait_exit(Millis timeout) {
  wait_until([&] { return exit_status().has_value(); }, timeout, 5ms);
  return status_;
}

ExitStatus Process::kill9() {
  if (status_ || pid_ <= 0) return status_.value_or(ExitStatus{});
  // The child is not reaped yet, so its pid (= the group id) cannot have been reused.
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  int wstatus = 0;
  pid_t r = -1;
  for (int i = 0; i < 100; ++i) {  // SIGKILL cannot be caught: the blocking wait returns
    r = ::waitpid(pid_, &wstatus, 0);
    if (!(r < 0 && errno == EINTR)) break;
  }
  status_ = r == pid_ ? decode(wstatus) : ExitStatus{true, SIGKILL};
  return *status_;
}

std::filesystem::path Process::output_path(Stream s) const {
  return dir_.path() / (s == Stream::Stdout ? "stdout.log" : "stderr.log");
}

std::string Process::output(Stream s) const {
  return read_file_from(output_path(s), 0);
}

std::size_t Process::output_size(Stream s) const {
  std::error_code ec;
  const auto size = std::filesystem::file_size(output_path(s), ec);
  return ec ? 0 : static_cast<std::size_t>(size);
}

std::optional<LineMatch> Process::find_line_impl(Stream s, const std::regex& re, std::size_t from,
                                                 bool include_partial) const {
  const std::string text = read_file_from(output_path(s), from);
  std::size_t pos = 0;
  while (pos < text.size()) {  // bounded: pos strictly increases
    const auto nl = text.find('\n', pos);
    const bool complete = nl != std::string::npos;
    if (!complete && !include_partial) break;
    const std::size_t end = complete ? nl : text.size();
    std::string line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::smatch m;
    if (std::regex_search(line, m, re)) {
      LineMatch match;
      for (const auto& g : m) match.groups.push_back(g.str());
      match.line = std::move(line);
      match.end_offset = from + (complete ? nl + 1 : text.size());
      return match;
    }
    pos = complete ? nl + 1 : text.size();
  }
  return std::nullopt;
}

std::optional<LineMatch> Process::find_line(Stream s, const std::regex& re,
                                            std::size_t from) const {
  return find_line_impl(s, re, from, false);
}

std::optional<LineMatch> Process::wait_for_line(Stream s, const std::regex& re, Millis timeout,
                                                std::size_t from) {
  std::optional<LineMatch> found;
  bool exited = false;
  wait_until(
      [&] {
        exited = !running();  // read the exit state before the output: no lost last line
        found = find_line_impl(s, re, from, exited);
        return found.has_value() || exited;
      },
      timeout, 10ms);
  return found;
}

void Process::dump(std::size_t tail_bytes) const {
  auto tail = [&](Stream s) {
    const std::size_t size = output_size(s);
    const std::size_t from = size > tail_bytes ? size - tail_bytes : 0;
    return read_file_from(output_path(s), from);
  };
  std::ostringstream msg;
  msg << "----- " << label_ << " (pid " << pid_ << ", "
      << (status_ ? status_->describe() : std::string("running")) << ") stdout tail -----\n"
      << tail(Stream::Stdout) << "\n----- " << label_ << " stderr tail -----\n"
      << tail(Stream::Stderr) << "\n----- end " << label_ << " -----\n";
  std::cerr << msg.str() << std::flush;
}

CommandResult run_command(const std::string& program, const std::vector<std::string>& args,
                          Millis timeout, const EnvVars& extra_env) {
  std::string label = std::filesystem::path(program).filename().string();
  if (!args.empty()) label += "-" + args.front();
  Process p(program, args, extra_env, label);
  p.set_dump_on_unwind(false);
  const auto status = p.wait_exit(timeout);
  if (!status) {
    p.kill9();
    std::string cmd = program;
    for (const auto& a : args) cmd += " " + a;
    throw std::runtime_error("command timed out after " + std::to_string(timeout.count()) +
                             " ms: " + redact_known_secrets(cmd) + "\nstdout: " + p.stdout_text() +
                             "\nstderr: " + p.stderr_text());
  }
  return {*status, p.stdout_text(), p.stderr_text()};
}

}  // namespace registrar::test
