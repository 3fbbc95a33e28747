// Start a real child process for integration tests, read its stdout line by line with a
// deadline, and stop it (SIGTERM, then SIGKILL) when the handle goes away.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace pg::test {

class Process {
 public:
  /// Starts `argv[0]` with `argv`; stdout is captured, stderr goes to `stderr_path` (or inherited).
  explicit Process(std::vector<std::string> argv, std::string stderr_path = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  /// Next stdout line, or nullopt when the deadline passes or the process closes stdout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  /// Reads lines until one contains `needle`; returns that line.
  std::optional<std::string> wait_for_line(const std::string& needle, std::chrono::milliseconds timeout);
  /// Reads lines until one says "listening on HOST:PORT" (optionally after `tag`); returns PORT or 0.
  int wait_for_port(std::chrono::milliseconds timeout, const std::string& tag = "listening on");

  void signal(int sig);
  /// Waits for exit up to `timeout`; returns the exit status (128+signal if killed), or nullopt.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }
  bool running();

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
  std::optional<int> status_;
};

/// Path of a built binary, from the test's compile definitions.
std::string binary_path(const char* name);
/// A fresh temporary directory, removed at process exit is not guaranteed; tests use it for configs.
std::string temp_dir();
void write_file(const std::string& path, const std::string& content);
/// A process's resident memory (VmRSS in /proc/PID/status) in KiB; -1 if it cannot be read.
long rss_kib(pid_t pid);

}  // namespace pg::test
