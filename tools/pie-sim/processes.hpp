// The 0.5 mode's server-wide process table: which process runs which program, which socket (if
// any) it is attached to, which sockets own it (launched or attached it: their close terminates
// it), and the ring of events kept while it is detached.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "pie/v05/messages.hpp"
#include "programs.hpp"

namespace pie_sim {

/// While detached a process keeps at most this many stdout/stderr events (oldest dropped) ...
inline constexpr std::size_t kRingEvents = 4096;
/// ... and at most this many bytes of them.
inline constexpr std::size_t kRingBytes = 16 * 1024 * 1024;

/// A 0.5 client socket as processes see it.
class Peer05 {
 public:
  virtual ~Peer05() = default;
  virtual void send(const pg::pie::v05::ServerMessage& m) = 0;
};

/// What to run: the shared program (make_program's name) and its arguments, or the error it
/// fails with at once (invalid input); plus what list_processes shows.
struct ProcessSpec {
  std::string program;
  std::vector<std::string> args;
  std::string failure;  // non-empty: the process ends with this `error`
  std::string inferlet;
  std::string input;
};

class ProcessTable {
 public:
  ProcessTable(boost::asio::any_io_executor ex, ProgramOptions options);
  ~ProcessTable();
  ProcessTable(const ProcessTable&) = delete;
  ProcessTable& operator=(const ProcessTable&) = delete;

  /// A new, not yet started process owned by `owner`, attached to `peer` unless null; its id.
  std::string create(ProcessSpec spec, const Peer05* owner, const std::shared_ptr<Peer05>& peer);
  /// Lets it run (call after the launch reply was sent).
  void start(const std::string& id);
  bool exists(std::string_view id) const { return find(id) != nullptr; }
  /// Sends the reply ("Process attached", or false "Process not found" also when attached to a
  /// socket), then the events kept while it was detached.
  void attach(std::uint32_t corr_id, std::string_view id, const std::shared_ptr<Peer05>& peer);
  /// On 0.5 everyone is `internal`: any socket may signal any process or send it a file.
  void signal(std::string_view id, std::string message);
  void deliver_file(std::string_view id, std::string bytes);
  /// Ends the process; an attached one gets `error` "Signal" first. Unknown ids are ignored.
  void terminate(std::string_view id);
  /// A socket closed: its processes end (detach=false) or detach and keep running (detach=true).
  void socket_closed(const Peer05* peer, bool detach);
  /// list_processes' result: a JSON array of {id, username, program, input, elapsed_secs}.
  std::string list_json() const;
  std::size_t size() const { return by_id_.size(); }
  /// Stops every program (server shutdown).
  void clear();

 private:
  class Process;
  friend class Process;
  void remove(const std::string& id);
  Process* find(std::string_view id) const;

  boost::asio::any_io_executor ex_;
  ProgramOptions options_;
  std::map<std::string, std::shared_ptr<Process>, std::less<>> by_id_;
};

}  // namespace pie_sim
