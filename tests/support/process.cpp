#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace pg::test {

Process::Process(std::vector<std::string> argv, std::string stderr_path) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(fds[1], STDOUT_FILENO);
    if (!stderr_path.empty()) {
      int e = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (e >= 0) dup2(e, STDERR_FILENO);
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    std::fprintf(stderr, "exec %s failed: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  close(fds[1]);
  out_fd_ = fds[0];
}

Process::~Process() {
  if (running()) {
    signal(SIGTERM);
    if (!wait(std::chrono::milliseconds(3000))) {
      signal(SIGKILL);
      wait(std::chrono::milliseconds(3000));
    }
  }
  if (out_fd_ >= 0) close(out_fd_);
}

std::optional<std::string> Process::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || out_fd_ < 0) return std::nullopt;
    pollfd p{out_fd_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n <= 0) {
      close(out_fd_);
      out_fd_ = -1;
      return std::nullopt;
    }
    buffer_.append(buf, static_cast<std::size_t>(n));
  }
}

std::optional<std::string> Process::wait_for_line(const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int i = 0; i < 10000; ++i) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto line = read_line(left);
    if (!line) return std::nullopt;
    if (line->find(needle) != std::string::npos) return line;
  }
  return std::nullopt;
}

int Process::wait_for_port(std::chrono::milliseconds timeout, const std::string& tag) {
  auto line = wait_for_line(tag, timeout);
  if (!line) return 0;
  // "... listening on HOST:PORT" (HOST may be [v6]). Parsed by hand: <regex> trips GCC 12's
  // -Wmaybe-uninitialized under -fsanitize, which -Werror turns into a build failure.
  const std::string key = "listening on ";
  auto at = line->find(key);
  if (at == std::string::npos) return 0;
  std::string rest = line->substr(at + key.size());
  rest = rest.substr(0, rest.find_first_of(" \t\r"));
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon + 1 >= rest.size() || rest.size() - colon > 6) return 0;
  int port = 0;
  for (std::size_t i = colon + 1; i < rest.size(); ++i) {
    if (rest[i] < '0' || rest[i] > '9') return 0;
    port = port * 10 + (rest[i] - '0');
  }
  return port <= 65535 ? port : 0;
}

void Process::signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return status_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  } while (std::chrono::steady_clock::now() < deadline);
  return std::nullopt;
}

bool Process::running() {
  if (pid_ <= 0 || status_) return false;
  return !wait(std::chrono::milliseconds(0)).has_value();
}

std::string binary_path(const char* name) {
  const char* dir = std::getenv("PG_BIN_DIR");
  if (dir && *dir) return std::string(dir) + "/" + name;
#ifdef PG_BUILD_BIN_DIR
  return std::string(PG_BUILD_BIN_DIR) + "/" + name;
#else
  return name;
#endif
}

std::string temp_dir() {
  std::string tmpl = "/tmp/pg-test-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary);
  f << content;
  if (!f) throw std::runtime_error("cannot write " + path);
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

}  // namespace pg::test
