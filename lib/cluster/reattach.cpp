// Runs after Pie accepted them. Output goes to the caller's sink through a per-epoch router, so
// a session that drops (SessionLost) does not end the run: it is *detached*, Pie keeps it
// running, and the first session of the same server that is (or becomes) open attaches it again;
// output continues into the same sink (Pie sends only what was produced while detached, so
// nothing is duplicated). If no session can re-attach it within server_lost_after, the run ends
// SessionLost "Pie server <name> lost" (or, for an idempotent endpoint, is launched elsewhere).
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "cluster/pie_cluster.hpp"
#include "obs/metrics.hpp"

namespace pg::cluster::detail {

namespace {
constexpr std::chrono::milliseconds kReattachRetry{250};
// Pie flushes each detached ring buffer (1 MiB) as one chunk: one that large was probably cut.
constexpr std::size_t kRingBytes = 1024 * 1024;
}  // namespace

pie::InstanceSink PieCluster::route(const RunPtr& run, std::uint64_t epoch) {
  pie::InstanceSink out;
  auto sink = run->sink;
  auto current = [run, epoch] { return run->epoch == epoch && run->state != Run::State::Ended; };
  // After a re-attach, a flushed chunk as large as Pie's ring buffer means older output was cut.
  auto stream = [sink, current, run](bool is_stdout) {
    return [sink, current, run, is_stdout](std::string_view t) {
      if (!current()) return;
      const auto& fn = is_stdout ? sink->on_stdout : sink->on_stderr;
      if (fn) fn(t);
      if (run->reattached && t.size() + 4 >= kRingBytes && sink->on_gap)
        sink->on_gap(std::string(is_stdout ? "stdout" : "stderr") +
                     ": more than Pie's 1 MiB buffer was produced while detached; the oldest part of it is lost");
    };
  };
  out.on_stdout = stream(true);
  out.on_stderr = stream(false);
  out.on_message = [sink, current](std::string_view t) {
    if (current() && sink->on_message) sink->on_message(t);
  };
  out.on_blob = [sink, current](std::string_view h, std::string b) {
    if (current() && sink->on_blob) sink->on_blob(h, std::move(b));
  };
  out.on_end = weak_cb([run, epoch](PieCluster& self, pie::InstanceEnd end, std::string_view message) {
    if (run->epoch != epoch || run->state == Run::State::Ended) return;
    if (end == pie::InstanceEnd::SessionLost && !self.stopped_ && !run->terminating)
      return self.on_detached(run, std::string(message));
    self.end_run(run, end, message);
  });
  return out;
}

void PieCluster::on_detached(const RunPtr& run, std::string reason) {
  auto s = run->server;
  run->state = Run::State::Detached;
  ++run->epoch;  // the dropped session's router may still hold the old sink
  run->detached_at = Clock::now();
  run->detach_reason = std::move(reason);
  spdlog::info("instance {} on {} detached ({}): re-attaching", run->instance_id, s->cfg.name, run->detach_reason);
  if (!run->timer) run->timer = std::make_unique<asio::steady_timer>(ex_);
  run->timer->expires_after(settings_.server_lost_after);
  const auto epoch = run->epoch;
  run->timer->async_wait(weak_cb([run, epoch](PieCluster& self, boost::system::error_code ec) {
    if (!ec) self.on_lost_deadline(run, epoch);
  }));
  // Not from inside the closing session's callbacks: its pool slot is updated first.
  asio::post(ex_, weak_cb([s](PieCluster& self) { self.reattach_all(s); }));
}

void PieCluster::reattach_all(const ServerPtr& s) {
  std::vector<RunPtr> detached;
  for (auto& [id, run] : s->runs)
    if (run->state == Run::State::Detached) detached.push_back(run);
  for (auto& run : detached) reattach(run, s);
}

void PieCluster::reattach(const RunPtr& run, const ServerPtr& s) {
  Slot* slot = s->best_slot();
  if (!slot || stopped_) return;  // again when a session opens
  run->state = Run::State::Attaching;
  const auto epoch = ++run->epoch;
  auto session = slot->session;
  session->attach(run->instance_id, route(run, epoch),
                  weak_cb([run, s, epoch, session](PieCluster& self, Result<std::string> r) {
    if (run->epoch != epoch || run->state != Run::State::Attaching) return;
    if (r) {
      run->state = Run::State::Attached;
      run->session = session;
      run->reattached = true;
      run->timer->cancel();
      ++s->reattaches;
      if (self.metrics_) self.metrics_->pie_reattach(s->cfg.name);
      const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - run->detached_at);
      spdlog::info("instance {} re-attached on {} after {} ms", run->instance_id, s->cfg.name, gap.count());
      if (run->sink->on_gap)
        run->sink->on_gap("output may be incomplete: the session to Pie server " + s->cfg.name + " dropped (" +
                          run->detach_reason + ") and the instance was re-attached after " +
                          std::to_string(gap.count()) +
                          " ms; Pie drops messages and blobs while an instance is detached and keeps only the "
                          "last 1 MiB of stdout and of stderr");
      return;
    }
    const std::string& e = r.error();
    if (e.find("not found") != std::string::npos || e.find("Invalid instance") != std::string::npos) {
      // A 0.5 edge terminates a socket's processes when it closes; 0.4.0 and the direct edge keep them.
      if (session->protocol() == pie::Protocol::V05)
        return self.lose(run, "Pie server " + s->cfg.name + " dropped the session (" + run->detach_reason +
                                  "); the process was terminated");
      return self.lose(run, "instance " + run->instance_id + " no longer exists on Pie server " + s->cfg.name +
                                " (the server restarted?): its output is lost");
    }
    run->state = Run::State::Detached;
    ++run->epoch;
    // "Instance already attached" (Pie has not yet noticed that the old session is gone), or this
    // session failed too: try again shortly on whatever session is open then.
    spdlog::debug("re-attaching {} on {}: {}; retrying", run->instance_id, s->cfg.name, e);
    s->reattach_timer.expires_after(kReattachRetry);
    s->reattach_timer.async_wait(self.weak_cb([s](PieCluster& me, boost::system::error_code ec) {
      if (!ec) me.reattach_all(s);
    }));
  }));
}

void PieCluster::on_lost_deadline(const RunPtr& run, std::uint64_t epoch) {
  (void)epoch;  // re-armed on every detach; cancelled on a successful attach
  if (run->state != Run::State::Detached && run->state != Run::State::Attaching) return;
  auto s = run->server;
  const auto secs = std::to_string(settings_.server_lost_after.count()) + " ms";
  if (s->open_sessions() == 0)
    lose(run, "Pie server " + s->cfg.name + " lost: no session could be re-established within " + secs + " (" +
                  (s->last_error.empty() ? run->detach_reason : s->last_error) + ")");
  else
    lose(run, "instance " + run->instance_id + " could not be re-attached on Pie server " + s->cfg.name + " within " +
                  secs + " (" + s->last_error + ")");
}

void PieCluster::lose(const RunPtr& run, std::string message) {
  auto s = run->server;
  ++s->lost_instances;
  spdlog::warn("instance {}: {}", run->instance_id, message);
  if (run->opts.idempotent && !stopped_ && Clock::now() < run->opts.deadline) {
    // Launched again elsewhere; the lost instance, should it still run, is told to stop.
    s->runs.erase(run->instance_id);
    s->pending_terminates.push_back(run->instance_id);
    run->timer->cancel();
    run->relaunched = true;
    run->instance_id.clear();
    run->server.reset();
    run->state = Run::State::Waiting;
    ++run->epoch;
    place(run);
    return check_drained();
  }
  end_run(run, pie::InstanceEnd::SessionLost, message);
}

void PieCluster::end_run(const RunPtr& run, pie::InstanceEnd end, std::string_view message) {
  run->state = Run::State::Ended;
  if (run->timer) run->timer->cancel();
  if (run->server) run->server->runs.erase(run->instance_id);
  const std::string why(message);  // may point into something the callee frees
  if (run->sink->on_end) run->sink->on_end(end, why);
  if (run->server) release_held_slots(run->server);
  dispatch_queue();
  if (run->server && run->server->retired) check_drained();
}

void PieCluster::terminate(const std::string& server, const std::string& instance_id) {
  auto log_failure = [server, instance_id](Result<std::string> r) {
    if (!r) spdlog::warn("terminate {} on {} failed: {}", instance_id, server, r.error());
  };
  // The newest server of that name that knows the instance, else the newest of that name.
  ServerPtr target;
  for (auto& s : servers_) {
    if (s->cfg.name != server) continue;
    if (s->runs.count(instance_id) || !target || !target->runs.count(instance_id)) target = s;
  }
  if (!target) return spdlog::warn("cannot terminate {}: no Pie server named {}", instance_id, server);
  auto it = target->runs.find(instance_id);
  if (it != target->runs.end()) {
    auto run = it->second;
    run->terminating = true;
    if (run->state != Run::State::Attached) {
      // Detached: Pie sends no Aborted event for it, so the run ends here.
      end_run(run, pie::InstanceEnd::Aborted, "terminated while detached");
    }
  }
  if (Slot* slot = target->best_slot()) return slot->session->terminate(instance_id, log_failure);
  spdlog::info("terminate {} on {}: no open session; sent once one opens", instance_id, server);
  target->pending_terminates.push_back(instance_id);
}

void PieCluster::send_pending_terminates(const ServerPtr& s) {
  Slot* slot = s->best_slot();
  if (!slot) return;
  for (auto& id : std::exchange(s->pending_terminates, {}))
    slot->session->terminate(id, [name = s->cfg.name, id](Result<std::string> r) {
      if (!r) spdlog::warn("terminate {} on {} failed: {}", id, name, r.error());
    });
}

}  // namespace pg::cluster::detail
