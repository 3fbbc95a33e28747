// Requests of one Pie session (either line) waiting for their reply, keyed by corr_id.
// Plain data: the session starts and cancels the timers and invokes the callbacks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "pie/session.hpp"

namespace pg::pie {

struct PendingRequest {
  const char* expect = "response";     // wire name of the reply type
  Session::Done done;                  // may be empty (internal requests)
  std::optional<InstanceSink> sink;    // launch/attach: routed once the reply succeeds
  std::string instance_id;             // attach: the instance to route
  std::unique_ptr<boost::asio::steady_timer> timer;
  bool internal = false;               // not counted in pending_requests()
};

inline PendingRequest pending(const char* expect, Session::Done done, bool internal = false) {
  PendingRequest p;
  p.expect = expect;
  p.done = std::move(done);
  p.internal = internal;
  return p;
}

class RequestTable {
 public:
  /// Next corr_id: starts at 1, skips 0 and ids still pending, wraps at 2^32.
  std::uint32_t next_id() {
    for (;;) {
      std::uint32_t id = next_++;
      if (id != 0 && !pending_.contains(id)) return id;
    }
  }
  PendingRequest& add(std::uint32_t id, PendingRequest p) {
    if (!p.internal) ++external_;
    return pending_.emplace(id, std::move(p)).first->second;
  }
  /// Removes and returns the request (nullopt if unknown, answered or timed out already).
  std::optional<PendingRequest> take(std::uint32_t id) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return std::nullopt;
    PendingRequest p = std::move(it->second);
    pending_.erase(it);
    if (!p.internal) --external_;
    return p;
  }
  /// Removes everything, in corr_id order.
  std::vector<PendingRequest> take_all() {
    std::vector<PendingRequest> out;
    out.reserve(pending_.size());
    for (auto& [id, p] : pending_) out.push_back(std::move(p));
    pending_.clear();
    external_ = 0;
    return out;
  }
  std::size_t size() const { return external_; }
  bool empty() const { return pending_.empty(); }

 private:
  std::map<std::uint32_t, PendingRequest> pending_;
  std::size_t external_ = 0;
  std::uint32_t next_ = 1;
};

}  // namespace pg::pie
