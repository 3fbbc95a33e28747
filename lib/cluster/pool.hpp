// Private to lib/cluster: the state PieCluster keeps. A Server holds its pool of session slots,
// its health (connecting, healthy, ejected, down, draining) and the runs placed on it; a Run is
// one launch, followed from its first attempt until its instance ends (through failover,
// detaching and re-attaching). Everything lives on the gateway's io thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "cluster/cluster.hpp"

namespace pg::cluster::detail {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct Slot {
  Slot(asio::any_io_executor ex, unsigned i) : index(i), retry(ex), ping_timer(ex) {}
  unsigned index;
  pie::Session::Ptr session;
  bool ready = false;     // authenticated and provisioned: takes launches
  unsigned failures = 0;  // consecutive failed connects: reconnect back-off
  asio::steady_timer retry;
  asio::steady_timer ping_timer;  // the next liveness check (idle for ping_interval? silent since the ping?)
  std::uint64_t ping_seq = 0;     // of the check armed last
  std::uint64_t pings_sent = 0;   // the id of the ping outstanding
  bool ping_outstanding = false;
  Clock::time_point ping_sent_at{};
  /// A 0.5 session silent for ping_timeout after a ping but with running processes (closing it
  /// would terminate them): no launches, still pinged, closed once they have ended, taking
  /// launches again once anything arrives on it.
  bool held = false;

  bool usable() const { return ready && session && session->is_open(); }
  bool holding() const { return held && session && session->is_open(); }
  std::size_t load() const { return session ? session->pending_requests() + session->attached_instances() : 0; }
};

struct Run;

/// Closing this slot's session would terminate its processes (the 0.5 line).
bool terminates_on_close(const Slot& slot);

enum class Health { Connecting, Healthy, Ejected, Down, Draining };
const char* to_string(Health h);

struct Server {
  Server(asio::any_io_executor ex, config::PieServer c) : cfg(std::move(c)), eject_timer(ex), reattach_timer(ex) {}
  config::PieServer cfg;
  std::vector<std::shared_ptr<Slot>> slots;
  std::vector<std::string> groups;  // the configured groups it belongs to
  std::string last_error;
  bool retired = false;  // removed or changed by a reload: no new launches
  bool closed = false;   // retired and its sessions closed

  // Outlier ejection: consecutive failed launches/pings eject it; after the back-off a ping probes it.
  unsigned consecutive_failures = 0;
  unsigned ejections_in_row = 0;
  Clock::time_point ejected_until{};
  bool probing = false;
  asio::steady_timer eject_timer;

  // Reachability: since when no session is open (Clock::time_point{} while one is).
  Clock::time_point unreachable_since = Clock::now();

  std::size_t launching = 0;                                   // launches sent, not answered
  std::unordered_map<std::string, std::shared_ptr<Run>> runs;  // accepted and not ended, by instance id
  std::vector<std::string> pending_terminates;                 // to send once a session opens
  asio::steady_timer reattach_timer;                           // retries of "already attached"

  std::uint64_t launches = 0, launch_failures = 0, ejections = 0, reconnects = 0, reattaches = 0, lost_instances = 0;

  std::size_t outstanding() const { return launching + runs.size(); }
  unsigned open_sessions() const;
  /// Learned from a 0.5 edge that refused admission: launch no more than this many until
  /// `admission_cap_until` (0 = none learned).
  std::size_t admission_cap = 0;
  Clock::time_point admission_cap_until{};
  std::uint64_t admission_refusals = 0;

  bool has_capacity() const {
    if (cfg.max_instances != 0 && outstanding() >= cfg.max_instances) return false;
    return admission_cap == 0 || outstanding() < admission_cap || Clock::now() >= admission_cap_until;
  }
  bool ejected(Clock::time_point now) const { return probing || now < ejected_until; }
  /// Healthy: open session, not ejected, not retired.
  bool takes_launches(Clock::time_point now) const { return !retired && !ejected(now) && open_sessions() > 0; }
  bool in_group(const std::string& group) const;
  Slot* best_slot();
  Health health(Clock::time_point now, std::chrono::milliseconds lost_after) const;
};

struct Run {
  enum class State { Waiting, Launching, Attached, Detached, Attaching, Ended };
  pie::LaunchRequest req;  // kept for failover and an idempotent relaunch
  LaunchOptions opts;
  std::shared_ptr<pie::InstanceSink> sink;  // the caller's
  LaunchDone done;                          // until the first placement
  State state = State::Waiting;
  std::vector<std::string> tried;  // servers tried, in order
  unsigned attempts = 0;
  std::shared_ptr<Server> server;  // where it is launching or runs
  std::string instance_id;
  std::weak_ptr<pie::Session> session;  // the one it is attached to: signals and blobs go through it
  std::uint64_t epoch = 0;  // bumped on every launch/attach: callbacks of older ones are ignored
  bool terminating = false;
  bool relaunched = false;
  bool reattached = false;  // attached again at least once after its session dropped
  Clock::time_point detached_at{};
  std::string detach_reason;
  std::unique_ptr<asio::steady_timer> timer;  // queue deadline, or the lost deadline while detached
  std::list<std::shared_ptr<Run>>::iterator queue_pos;
  bool queued = false;
};

}  // namespace pg::cluster::detail
