// Placement: a launch goes to the least loaded healthy server of its group (by weight), within
// max_instances; when every such server is full it waits in a bounded queue (its deadline
// honoured), and when the queue is full it fails QueueFull at once. A launch lost with its session
// or unanswered before Pie accepted it is retried on another server within the retry budget
// (failover); one Pie refused or too large to send is the request's own fault, never retried.
#include "cluster/pie_cluster.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "cluster/balancer.hpp"
#include "config/cluster_section.hpp"
#include "obs/metrics.hpp"

namespace pg::cluster {

namespace detail {

namespace {

obs::Metrics::LaunchFailure metrics_reason(LaunchFailure::Kind k) {
  switch (k) {
    case LaunchFailure::Kind::Rejected:
    case LaunchFailure::Kind::TooLarge: return obs::Metrics::LaunchFailure::Rejected;
    case LaunchFailure::Kind::Timeout: return obs::Metrics::LaunchFailure::Timeout;
    case LaunchFailure::Kind::Unavailable:
    case LaunchFailure::Kind::QueueFull: break;
  }
  return obs::Metrics::LaunchFailure::Unavailable;
}

}  // namespace

PieCluster::PieCluster(asio::any_io_executor ex, config::ClusterConfig cfg, obs::Metrics* metrics)
    : ex_(ex), settings_(cfg.settings), groups_(std::move(cfg.groups)), drain_timer_(ex), metrics_(metrics) {
  for (auto& c : cfg.servers) servers_.push_back(make_server(std::move(c)));
  assign_groups();
  set_programs(cfg.programs);
}

void PieCluster::set_programs(const std::vector<config::ProgramSpec>& specs) {
  // Checked when the config was loaded; a file that changed since keeps the previous set.
  auto p = load_programs(specs);
  if (!p) return spdlog::error("programs: {} (keeping the previous set)", p.error());
  programs_ = std::move(*p);
}

PieCluster::ServerPtr PieCluster::make_server(config::PieServer cfg) {
  auto s = std::make_shared<Server>(ex_, std::move(cfg));
  for (unsigned i = 0; i < s->cfg.sessions; ++i) s->slots.push_back(std::make_shared<Slot>(ex_, i));
  return s;
}

void PieCluster::assign_groups() {
  config::ClusterConfig view;
  view.groups = groups_;
  for (auto& s : servers_)
    if (!s->retired) view.servers.push_back(s->cfg);
  for (auto& s : servers_) {
    s->groups.clear();
    for (const auto& g : groups_) {
      auto members = config::group_members(view, g.name);
      if (std::find(members.begin(), members.end(), s->cfg.name) != members.end()) s->groups.push_back(g.name);
    }
  }
}

void PieCluster::start() {
  for (auto& s : servers_)
    for (auto& slot : s->slots) connect(s, slot);
}

void PieCluster::stop() {
  stopped_ = true;
  drain_timer_.cancel();
  auto waiting = std::move(queue_);
  queue_.clear();
  for (auto& run : waiting) {
    run->queued = false;
    fail_run(run, LaunchFailure::Kind::Unavailable, "the gateway is stopping");
  }
  for (auto& s : servers_) close_server(*s);
}

void PieCluster::launch(pie::LaunchRequest req, LaunchOptions opts, pie::InstanceSink sink, LaunchDone done) {
  auto run = std::make_shared<Run>();
  run->req = std::move(req);
  run->opts = std::move(opts);
  run->sink = std::make_shared<pie::InstanceSink>(std::move(sink));
  run->done = std::move(done);
  if (stopped_) return fail_run(run, LaunchFailure::Kind::Unavailable, "the gateway is stopping");
  place(run);
}

bool Server::in_group(const std::string& group) const {
  return group.empty() || std::find(groups.begin(), groups.end(), group) != groups.end();
}

PieCluster::ServerPtr PieCluster::pick(const Run& run, Clock::time_point now) {
  // Servers not tried yet first; once every candidate was tried, any of them again.
  for (bool allow_tried : {false, true}) {
    std::vector<ServerPtr> eligible;
    std::vector<Candidate> cand;
    for (auto& s : servers_) {
      if (!s->takes_launches(now) || !s->has_capacity() || !s->in_group(run.opts.group)) continue;
      if (!run.opts.server.empty() && s->cfg.name != run.opts.server) continue;
      bool tried = std::find(run.tried.begin(), run.tried.end(), s->cfg.name) != run.tried.end();
      if (tried && !allow_tried) continue;
      eligible.push_back(s);
      cand.push_back({s->outstanding(), s->cfg.weight});
    }
    int i = pick_least_loaded(cand, rng_);
    if (i >= 0) return eligible[static_cast<std::size_t>(i)];
    if (run.tried.empty()) break;
  }
  return nullptr;
}

bool PieCluster::group_reachable(const Run& run, Clock::time_point now) const {
  return std::any_of(servers_.begin(), servers_.end(), [&](const ServerPtr& s) {
    return s->takes_launches(now) && s->in_group(run.opts.group) && (run.opts.server.empty() || s->cfg.name == run.opts.server);
  });
}

std::string PieCluster::unreachable_reason(const Run& run, Clock::time_point now) const {
  std::string why;
  for (auto& s : servers_) {
    if (s->retired || !s->in_group(run.opts.group) || (!run.opts.server.empty() && s->cfg.name != run.opts.server))
      continue;
    std::string state = to_string(s->health(now, settings_.server_lost_after));
    if (!s->last_error.empty()) state += ": " + s->last_error;
    why += (why.empty() ? "" : "; ") + s->cfg.name + " " + state;
  }
  std::string scope = !run.opts.server.empty() ? "Pie server " + run.opts.server
                      : run.opts.group.empty() ? "no Pie server"
                                               : "no Pie server of group '" + run.opts.group + "'";
  if (!run.opts.server.empty()) return scope + " is not reachable (" + (why.empty() ? "not configured" : why) + ")";
  return scope + " is reachable (" + (why.empty() ? "none configured" : why) + ")";
}

void PieCluster::place(const RunPtr& run) {
  const auto now = Clock::now();
  if (now >= run->opts.deadline)
    return fail_run(run, LaunchFailure::Kind::Unavailable, "the launch's deadline passed before a Pie server took it");
  if (auto s = pick(*run, now)) return send_launch(run, s);
  if (!group_reachable(*run, now)) {
    if (metrics_) metrics_->pie_launch_failure("", obs::Metrics::LaunchFailure::Unavailable);
    return fail_run(run, LaunchFailure::Kind::Unavailable, unreachable_reason(*run, now));
  }
  enqueue(run, now);  // reachable but every eligible server is at max_instances
}

void PieCluster::send_launch(const RunPtr& run, const ServerPtr& s) {
  Slot* slot = s->best_slot();
  auto session = slot->session;
  ++s->launching;
  ++s->launches;
  ++run->attempts;
  run->tried.push_back(s->cfg.name);
  run->server = s;
  run->state = Run::State::Launching;
  const auto epoch = ++run->epoch;
  if (metrics_) metrics_->pie_launch(s->cfg.name);
  session->launch(run->req, route(run, epoch),
                  weak_cb([run, s, session, epoch](PieCluster& self, Result<std::string> r) {
                    self.on_launch_reply(run, s, session, epoch, std::move(r));
                  }));
}

void PieCluster::on_launch_reply(const RunPtr& run, const ServerPtr& s, const pie::Session::Ptr& session,
                                 std::uint64_t epoch, Result<std::string> r) {
  --s->launching;
  if (run->epoch != epoch || run->state != Run::State::Launching) return;
  if (r) {
    note_success(s);
    s->ejections_in_row = 0;
    run->instance_id = *r;
    run->session = session;
    run->state = Run::State::Attached;
    s->runs[run->instance_id] = run;
    if (run->relaunched) {
      spdlog::warn("instance relaunched as {} on {} (idempotent endpoint)", run->instance_id, s->cfg.name);
      if (run->sink->on_relaunch) run->sink->on_relaunch(s->cfg.name, run->instance_id);
    } else if (auto done = std::exchange(run->done, nullptr)) {
      done(Placement{s->cfg.name, run->instance_id});
    }
    return dispatch_queue();
  }
  if (r.error().find(pie::kAdmissionRefused) != std::string::npos) return on_admission_refused(run, s, r.error());
  LaunchFailure::Kind kind;
  if (r.error().rfind(pie::kMessageTooLarge, 0) == 0) kind = LaunchFailure::Kind::TooLarge;
  else if (!session->is_open()) kind = LaunchFailure::Kind::Unavailable;
  else if (r.error().rfind("timed out", 0) == 0) kind = LaunchFailure::Kind::Timeout;
  else kind = LaunchFailure::Kind::Rejected;
  ++s->launch_failures;
  if (metrics_) metrics_->pie_launch_failure(s->cfg.name, metrics_reason(kind));
  const std::string msg = s->cfg.name + ": " + r.error();
  // The launch's own fault (Pie refused it: unknown inferlet, malformed...; or it is too large to
  // send) says nothing about the server, and would fail the same way anywhere: it is never retried.
  const bool own_fault = kind == LaunchFailure::Kind::Rejected || kind == LaunchFailure::Kind::TooLarge;
  if (!own_fault) note_failure(s, "launch failed: " + r.error());
  run->server.reset();
  run->state = Run::State::Waiting;
  const bool budget_left = run->attempts <= settings_.retry_budget && Clock::now() < run->opts.deadline;
  // Failover: a lost or unanswered launch (the session's or server's fault) may go anywhere
  // reachable, another session of the same server included.
  if (budget_left && !own_fault) {
    spdlog::info("launch of {} failed on {} ({}): trying another server", run->req.inferlet, s->cfg.name, r.error());
    place(run);
  } else {
    fail_run(run, kind, msg);
  }
  dispatch_queue();
}

void PieCluster::on_admission_refused(const RunPtr& run, const ServerPtr& s, const std::string& why) {
  // Backpressure, not a fault: the server is full. It takes no more than it holds now for a
  // while, and the launch waits for room (or another server) like one over max_instances.
  ++s->admission_refusals;
  s->admission_cap = std::max<std::size_t>(1, s->outstanding());
  s->admission_cap_until = Clock::now() + kAdmissionBackoff;
  s->last_error = "launch refused: " + why;
  spdlog::warn("pie server {} refused admission: taking at most {} instances for {} ms ({})", s->cfg.name,
               s->admission_cap, kAdmissionBackoff.count(), why);
  if (metrics_) metrics_->pie_launch_failure(s->cfg.name, obs::Metrics::LaunchFailure::Rejected);
  run->server.reset();
  run->state = Run::State::Waiting;
  if (run->attempts > settings_.retry_budget || Clock::now() >= run->opts.deadline)
    fail_run(run, LaunchFailure::Kind::QueueFull, "Pie server " + s->cfg.name + " is full: " + why + "; retry later");
  else
    place(run);
  dispatch_queue();
}

void PieCluster::fail_run(const RunPtr& run, LaunchFailure::Kind kind, std::string message) {
  run->state = Run::State::Ended;
  if (run->timer) run->timer->cancel();
  if (run->relaunched) {
    // Its first placement was delivered long ago: the run ends as lost.
    if (run->sink->on_end) run->sink->on_end(pie::InstanceEnd::SessionLost, "relaunch failed: " + message);
    return;
  }
  if (auto done = std::exchange(run->done, nullptr)) done(LaunchFailure{kind, std::move(message)});
}

// ---- the wait queue ------------------------------------------------------------------------

void PieCluster::enqueue(const RunPtr& run, Clock::time_point now) {
  if (queue_.size() >= settings_.queue_size) {
    ++queue_rejections_;
    if (metrics_) metrics_->pie_queue_rejection();
    std::string full;  // servers that are full by their own word (admission refused), not by max_instances
    for (auto& s : servers_)
      if (s->in_group(run->opts.group) && s->admission_cap && now < s->admission_cap_until)
        full += (full.empty() ? "" : ", ") + s->cfg.name;
    return fail_run(run, LaunchFailure::Kind::QueueFull,
                    "queue full: every Pie server that can run this is at its max_instances" +
                        (full.empty() ? std::string() : " or refused admission (" + full + ")") + " and " +
                        std::to_string(queue_.size()) + " launches are already waiting; retry later");
  }
  run->state = Run::State::Waiting;
  run->queue_pos = queue_.insert(queue_.end(), run);
  run->queued = true;
  const auto deadline = std::min(run->opts.deadline, now + settings_.queue_wait);
  if (!run->timer) run->timer = std::make_unique<asio::steady_timer>(ex_);
  run->timer->expires_at(deadline);
  const auto epoch = run->epoch;
  run->timer->async_wait(weak_cb([run, epoch](PieCluster& self, boost::system::error_code ec) {
    if (ec || !run->queued || run->epoch != epoch) return;
    self.unqueue(run);
    self.fail_run(run, LaunchFailure::Kind::Unavailable,
                  "no Pie server had room for the launch in time (every eligible server stayed at max_instances)");
  }));
  update_queue_gauge();
}

void PieCluster::unqueue(const RunPtr& run) {
  if (!run->queued) return;
  queue_.erase(run->queue_pos);
  run->queued = false;
  if (run->timer) run->timer->cancel();
  update_queue_gauge();
}

void PieCluster::update_queue_gauge() {
  if (metrics_) metrics_->pie_queue_depth(queue_.size());
}

void PieCluster::dispatch_queue() {
  if (dispatching_ || queue_.empty() || stopped_) return;
  dispatching_ = true;  // send_launch/fail_run may call back into the cluster
  const auto now = Clock::now();
  std::vector<RunPtr> unreachable;
  for (auto it = queue_.begin(); it != queue_.end();) {
    auto run = *it++;
    if (auto s = pick(*run, now)) {
      unqueue(run);
      send_launch(run, s);
    } else if (!group_reachable(*run, now)) {
      unqueue(run);
      unreachable.push_back(run);
    }
  }
  dispatching_ = false;
  for (auto& run : unreachable) fail_run(run, LaunchFailure::Kind::Unavailable, unreachable_reason(*run, now));
}

}  // namespace detail

std::shared_ptr<Cluster> make_pie_cluster(boost::asio::any_io_executor ex, config::ClusterConfig cfg, obs::Metrics* metrics) {
  return std::make_shared<detail::PieCluster>(std::move(ex), std::move(cfg), metrics);
}

}  // namespace pg::cluster
