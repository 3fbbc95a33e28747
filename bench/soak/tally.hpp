// What the soak counts: for each class of call, how its calls ended ("200", "503", "grpc:OK",
// "vanished", "unanswered", ...). Thread-safe: gRPC completions arrive on gRPC's threads.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace pg::soak {

// Outcome labels that are not an HTTP status or a gRPC code.
inline constexpr const char* kVanished = "vanished";      // the client went away by design
inline constexpr const char* kUnanswered = "unanswered";  // the client deadline passed, no answer
inline constexpr const char* kClosed = "closed";          // the connection ended without an answer
inline constexpr const char* kBad = "bad";                // an answer that does not parse or fit
inline constexpr const char* kShed = "shed";              // not sent: the class was at its bound

class Tally {
 public:
  void add(const std::string& cls, const std::string& outcome);
  /// A line on stderr about one odd call (at most `kMaxNotes` in a run, then only counted).
  void note(const std::string& cls, const std::string& what);
  /// The counts since the last call, then cleared.
  nlohmann::ordered_json take_interval();
  nlohmann::ordered_json totals();

  static constexpr int kMaxNotes = 100;

 private:
  using Counts = std::map<std::string, std::map<std::string, std::uint64_t>>;
  static nlohmann::ordered_json to_json(const Counts& c);
  std::mutex mu_;
  Counts interval_, total_;
  int notes_ = 0;
};

/// The gateway process as /proc shows it: RSS in KiB and open fds; -1 each once it is gone.
struct ProcSample {
  long rss_kib = -1;
  long fds = -1;
};
ProcSample sample_proc(int pid);

}  // namespace pg::soak
