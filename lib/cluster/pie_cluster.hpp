// Private to lib/cluster: the Cluster the daemon uses. Its members are split by concern:
//   pie_cluster.cpp  launch, placement, failover, wait queue
//   views.cpp        ready, describe (gateway/servers), healthy servers, reload and draining
//   pool.cpp         session pools: connect, reconnect back-off, ping, outlier ejection and probes
//   reattach.cpp     runs: output routing, detach on session loss, re-attach, server lost, terminate
#pragma once

#include <list>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cluster/cluster.hpp"
#include "cluster/pool.hpp"
#include "cluster/provisioning.hpp"

namespace pg::cluster::detail {

class PieCluster : public Cluster, public std::enable_shared_from_this<PieCluster> {
 public:
  PieCluster(asio::any_io_executor ex, config::ClusterConfig cfg, obs::Metrics* metrics);

  void start() override;
  void stop() override;
  void launch(pie::LaunchRequest req, LaunchOptions opts, pie::InstanceSink sink, LaunchDone done) override;
  std::vector<std::string> healthy_servers(const std::string& group) const override;
  void terminate(const std::string& server, const std::string& instance_id) override;
  bool ready() const override;
  nlohmann::json describe() const override;
  std::size_t pending_requests() const override;
  void reconfigure(config::ClusterConfig cfg) override;
  // instance_io.cpp
  Result<bool> signal(const std::string& server, const std::string& instance_id, std::string message) override;
  void upload_blob(const std::string& server, const std::string& instance_id, std::string bytes,
                   TextDone done) override;
  void query(const std::string& server, std::string subject, std::string record,
             std::function<void(QueryAnswers)> done) override;
  void launch_server(const std::string& server, std::uint32_t port, std::string inferlet,
                     std::vector<std::string> arguments, TextDone done) override;

  /// A server inferlet the gateway keeps running (instance_io.cpp).
  struct Daemon {
    std::string server;
    std::uint32_t port = 0;
    std::string inferlet;
    std::vector<std::string> arguments;
    std::string state = "waiting";  // waiting (for a session) | launching | running | failed
    std::string reply;              // Pie's last answer
    unsigned launches = 0;
  };

 private:
  using ServerPtr = std::shared_ptr<Server>;
  using SlotPtr = std::shared_ptr<Slot>;
  using RunPtr = std::shared_ptr<Run>;

  // ---- placement (pie_cluster.cpp) ----
  ServerPtr make_server(config::PieServer cfg);
  void assign_groups();
  /// Try to place a run now; queue it or fail it when no server can take it.
  void place(const RunPtr& run);
  ServerPtr pick(const Run& run, Clock::time_point now);
  bool group_reachable(const Run& run, Clock::time_point now) const;
  void send_launch(const RunPtr& run, const ServerPtr& s);
  void on_launch_reply(const RunPtr& run, const ServerPtr& s, const pie::Session::Ptr& session, std::uint64_t epoch,
                       Result<std::string> r);
  void fail_run(const RunPtr& run, LaunchFailure::Kind kind, std::string message);
  /// A 0.5 edge refused admission (and closed that session): the launch waits for room.
  void on_admission_refused(const RunPtr& run, const ServerPtr& s, const std::string& why);
  /// How long a cap learned from an admission refusal holds.
  static constexpr std::chrono::milliseconds kAdmissionBackoff{10000};
  void enqueue(const RunPtr& run, Clock::time_point now);
  void unqueue(const RunPtr& run);
  /// Place waiting runs where there is room now (after anything frees capacity).
  void dispatch_queue();
  std::string unreachable_reason(const Run& run, Clock::time_point now) const;
  void check_drained();
  void update_queue_gauge();
  void set_programs(const std::vector<config::ProgramSpec>& specs);

  // ---- pools (pool.cpp) ----
  void connect(const ServerPtr& s, const SlotPtr& slot);
  void on_session_ready(const ServerPtr& s, const SlotPtr& slot);
  void on_session_down(const ServerPtr& s, const SlotPtr& slot, const std::string& why);
  void schedule_reconnect(const ServerPtr& s, const SlotPtr& slot);
  /// Liveness (pool.cpp): a new cycle (no ping outstanding) checked in `delay`.
  void arm_ping(const ServerPtr& s, const SlotPtr& slot, Clock::duration delay);
  void check_liveness_in(const ServerPtr& s, const SlotPtr& slot, Clock::duration delay);
  void on_ping_timer(const ServerPtr& s, const SlotPtr& slot, std::uint64_t seq);
  /// The slot was heard from: a held slot takes launches again.
  void on_alive(const ServerPtr& s, const SlotPtr& slot);
  /// A launch or ping failed for a reason that says something about the server.
  void note_failure(const ServerPtr& s, const std::string& why);
  void note_success(const ServerPtr& s);
  void eject(const ServerPtr& s, const std::string& why);
  void probe(const ServerPtr& s);
  void close_server(Server& s);
  /// Close the held slots (see Slot::held) whose processes have all ended.
  void release_held_slots(const ServerPtr& s);

  // ---- runs (reattach.cpp) ----
  pie::InstanceSink route(const RunPtr& run, std::uint64_t epoch);
  void on_detached(const RunPtr& run, std::string reason);
  void reattach_all(const ServerPtr& s);
  void reattach(const RunPtr& run, const ServerPtr& s);
  void on_lost_deadline(const RunPtr& run, std::uint64_t epoch);
  void lose(const RunPtr& run, std::string message);
  void end_run(const RunPtr& run, pie::InstanceEnd end, std::string_view message);
  void send_pending_terminates(const ServerPtr& s);

  // ---- instance i/o and daemons (instance_io.cpp) ----
  /// The first session of `s` is up: launch its daemons not launched yet, and all of them again
  /// when the server was unreachable for server_lost_after (presumed restarted).
  void start_daemons(const ServerPtr& s);
  void launch_daemon(const std::shared_ptr<Daemon>& d, TextDone done);
  nlohmann::json describe_daemons(const std::string& server) const;
  std::vector<std::shared_ptr<Daemon>> daemons_;

  template <typename F>
  auto weak_cb(F f) {
    return [w = weak_from_this(), f = std::move(f)](auto&&... args) mutable {
      if (auto self = w.lock()) f(*self, std::forward<decltype(args)>(args)...);
    };
  }

  asio::any_io_executor ex_;
  config::ClusterSettings settings_;
  std::vector<config::ServerGroup> groups_;
  std::vector<ServerPtr> servers_;
  Programs programs_ = std::make_shared<const std::vector<Program>>();  // provisioned on every connection
  std::list<RunPtr> queue_;
  asio::steady_timer drain_timer_;
  bool stopped_ = false;
  bool dispatching_ = false;
  obs::Metrics* metrics_ = nullptr;  // null: no metrics
  std::mt19937 rng_{std::random_device{}()};
  std::uint64_t queue_rejections_ = 0;
};

}  // namespace pg::cluster::detail
