// The server-wide instance table: which instance runs which program, which session (if any) it is
// attached to, and the stdout/stderr ring buffers kept while it is detached.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "pie/v02/messages.hpp"
#include "programs.hpp"
#include "util.hpp"

namespace pie_sim {

/// Each of stdout and stderr is kept in a ring buffer of this size while detached.
inline constexpr std::size_t kDetachedBufferBytes = 1024 * 1024;
/// More live instances than this and launches fail.
inline constexpr std::size_t kMaxInstances = 10000;

/// A client session as instances see it.
class Peer {
 public:
  virtual ~Peer() = default;
  virtual void send(const pg::pie::v02::ServerMessage& m) = 0;
};

/// Keeps the newest `capacity` bytes appended, never starting inside a UTF-8 sequence.
class RingText {
 public:
  explicit RingText(std::size_t capacity) : capacity_(capacity) {}
  void append(std::string_view text);
  bool empty() const { return buf_.empty(); }
  /// The kept bytes; the buffer is empty afterwards.
  std::string take();

 private:
  std::size_t capacity_;
  std::string buf_;
  bool cut_ = false;  // older bytes were dropped since the last take()
};


class InstanceTable {
 public:
  InstanceTable(boost::asio::any_io_executor ex, ProgramOptions options);
  ~InstanceTable();
  InstanceTable(const InstanceTable&) = delete;
  InstanceTable& operator=(const InstanceTable&) = delete;

  /// A new, not yet started instance of `program` (attached to `peer` unless null); its id,
  /// or nullopt when the table is full.
  std::optional<std::string> create(std::string program, std::vector<std::string> args, std::string username,
                                    const std::shared_ptr<Peer>& peer);
  /// Lets the instance run (call after its launch result was sent).
  void start(const std::string& id);
  /// Sends the attach result, then buffered stdout, stderr and (if finished) the terminal event.
  void attach(std::uint32_t corr_id, std::string_view id, const std::shared_ptr<Peer>& peer);
  bool attached_to(std::string_view id, const Peer* peer) const;
  /// Signals and blobs only reach instances attached to the sending session.
  void signal(std::string_view id, const Peer* from, std::string message);
  void deliver_blob(std::string_view id, const Peer* from, std::string bytes);
  /// Stops the instance; an attached one gets its Aborted event. Unknown ids are ignored.
  void terminate(std::string_view id);
  /// Every instance attached to `peer` becomes detached and keeps running.
  void detach_all(const Peer* peer);
  /// Newest first, at most 50; `all` = every user's.
  std::vector<pg::pie::v02::InstanceInfo> list(std::string_view username, bool all) const;
  std::size_t size() const { return by_id_.size(); }
  std::size_t running() const;
  /// Stops every program (server shutdown).
  void clear();

 private:
  class Instance;
  friend class Instance;
  void remove(const std::string& id);
  Instance* find(std::string_view id) const;

  boost::asio::any_io_executor ex_;
  ProgramOptions options_;
  std::map<std::string, std::shared_ptr<Instance>, std::less<>> by_id_;
  std::uint64_t next_seq_ = 0;
};

}  // namespace pie_sim
