#include "jobs/job_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include <boost/asio/post.hpp>

#include "obs/metrics.hpp"

namespace pg::jobs {

namespace asio = boost::asio;

JobService::JobService(asio::any_io_executor ex, std::shared_ptr<cluster::Cluster> cluster, JobServiceOptions opts,
                       obs::Metrics* metrics)
    : ex_(std::move(ex)), cluster_(std::move(cluster)), opts_(opts), metrics_(metrics) {}

JobService::~JobService() {
  for (auto& [id, job] : jobs_)
    if (job->deadline) job->deadline->cancel();
}

Result<std::shared_ptr<Job>> JobService::submit(JobSpec spec, Waiter on_end) {
  if (spec.fanout) return submit_fanout(std::move(spec), std::move(on_end));  // fanout.cpp
  sweep();
  if (live_count_ >= opts_.max_live_jobs) {
    if (metrics_) metrics_->job_rejected();
    return make_error("the gateway is at its limit of " + std::to_string(opts_.max_live_jobs) +
                      " running jobs; retry later");
  }
  auto job = std::make_shared<Job>();
  job->id = JobId::random();
  job->spec = std::move(spec);
  job->created = Clock::now();
  job->created_wall = std::chrono::system_clock::now();
  if (on_end) job->waiters.push_back(std::move(on_end));
  jobs_.emplace(job->id, job);
  ++live_count_;
  count_owner(*job, true);
  if (metrics_) metrics_->job_started(job->spec.endpoint);

  job->deadline = std::make_unique<asio::steady_timer>(ex_, job->spec.timeout);
  std::weak_ptr<Job> weak = job;
  job->deadline->async_wait([this, weak](boost::system::error_code ec) {
    auto j = weak.lock();
    if (ec || !j || is_finished(j->state) || !j->deadline) return;
    std::string msg = "endpoint '" + j->spec.endpoint + "' timed out after " + std::to_string(j->spec.timeout.count()) + " ms";
    if (!j->instance_id.empty()) {
      cluster_->terminate(j->server, j->instance_id);
      msg += "; instance " + j->instance_id + " on " + j->server + " terminated";
    }
    finish(j, JobState::Failed, JobError{JobError::Kind::Timeout, "Timeout", msg});
  });

  auto launch = job->spec.launch;
  cluster::LaunchOptions where;
  where.deadline = job->created + job->spec.timeout;
  where.group = job->spec.group;
  where.idempotent = job->spec.idempotent;
  where.server = job->spec.server;
  cluster_->launch(std::move(launch), std::move(where), sink_for(job),
                   [this, weak](cluster::LaunchOutcome outcome) {
                     if (auto j = weak.lock()) on_launched(j, std::move(outcome));
                   });
  return job;
}

void JobService::on_launched(const std::shared_ptr<Job>& job, cluster::LaunchOutcome outcome) {
  if (auto* p = std::get_if<cluster::Placement>(&outcome)) {
    if (is_finished(job->state)) {
      // The deadline passed while Pie was accepting the launch: do not leave it running.
      cluster_->terminate(p->server, p->instance_id);
      return;
    }
    job->server = p->server;
    job->instance_id = p->instance_id;
    job->started = Clock::now();
    if (job->state == JobState::Queued) {
      job->state = JobState::Running;
      ++running_count_;
    }
    add_event(*job, {JobEvent::Kind::Started, 0, 0});
    if (!job->spec.inputs.empty()) send_inputs(job, 0, job->instance_id);
    return;
  }
  if (is_finished(job->state)) return;
  auto& f = std::get<cluster::LaunchFailure>(outcome);
  using K = cluster::LaunchFailure::Kind;
  JobError e;
  switch (f.kind) {
    case K::Unavailable: e = {JobError::Kind::Unavailable, "PieUnavailable", f.message}; break;
    case K::Rejected: e = {JobError::Kind::Rejected, "LaunchRejected", "Pie refused to launch '" + job->spec.launch.inferlet + "': " + f.message}; break;
    case K::Timeout: e = {JobError::Kind::Unavailable, "PieUnavailable", "Pie did not answer the launch: " + f.message}; break;
    case K::QueueFull: e = {JobError::Kind::Overloaded, "QueueFull", f.message}; break;
    case K::TooLarge: e = {JobError::Kind::TooLarge, "PayloadTooLarge", "the launch of '" + job->spec.launch.inferlet + "' was not sent: " + f.message}; break;
  }
  finish(job, JobState::Failed, std::move(e));
}

std::size_t JobService::take_room(Job& job, std::size_t wanted) {
  if (job.output_bytes + wanted <= opts_.max_output_bytes) {
    job.output_bytes += wanted;
    return wanted;
  }
  std::size_t room = opts_.max_output_bytes - job.output_bytes;
  job.output_bytes = opts_.max_output_bytes;
  if (!job.truncated) {
    if (metrics_) metrics_->job_output_truncated();
    job.truncated = true;
    add_gap(job, "output beyond the job's cap of " + std::to_string(opts_.max_output_bytes) + " bytes was dropped");
  }
  return room;
}

void JobService::append_output(Job& job, JobEvent::Kind kind, std::string_view text) {
  std::size_t n = take_room(job, text.size());
  if (n == 0 && !text.empty()) return;
  auto& into = kind == JobEvent::Kind::Stdout ? job.stdout_text : job.stderr_text;
  JobEvent e{kind, static_cast<std::uint32_t>(into.size()), static_cast<std::uint32_t>(n)};
  into.append(text.substr(0, n));
  add_event(job, e);
}

void JobService::add_gap(Job& job, std::string why) {
  job.notes.push_back(std::move(why));
  add_event(job, {JobEvent::Kind::Gap, static_cast<std::uint32_t>(job.notes.size() - 1), 0});
}

void JobService::add_event(Job& job, JobEvent e) {
  job.events.push_back(e);
  if (job.watchers.empty()) return;
  // A watcher may unwatch (or watch) from its callback: call a copy.
  auto watchers = job.watchers;
  for (auto& [id, notify] : watchers) notify();
}

JobService::WatchId JobService::watch(const std::shared_ptr<Job>& job, std::function<void()> notify) {
  WatchId id = ++next_watch_id_;
  if (is_finished(job->state)) {
    asio::post(ex_, std::move(notify));  // everything, End included, is already in the log
    return id;
  }
  job->watchers.emplace_back(id, std::move(notify));
  return id;
}

void JobService::unwatch(const std::shared_ptr<Job>& job, WatchId id) {
  auto& w = job->watchers;
  w.erase(std::remove_if(w.begin(), w.end(), [id](const auto& p) { return p.first == id; }), w.end());
}

pie::InstanceSink JobService::sink_for(const std::shared_ptr<Job>& job) {
  std::weak_ptr<Job> weak = job;
  pie::InstanceSink sink;
  sink.on_stdout = [this, weak](std::string_view t) {
    if (metrics_) metrics_->stream_bytes(obs::Metrics::Stream::Stdout, t.size());
    if (auto j = weak.lock(); j && !is_finished(j->state)) append_output(*j, JobEvent::Kind::Stdout, t);
  };
  sink.on_stderr = [this, weak](std::string_view t) {
    if (metrics_) metrics_->stream_bytes(obs::Metrics::Stream::Stderr, t.size());
    if (auto j = weak.lock(); j && !is_finished(j->state)) append_output(*j, JobEvent::Kind::Stderr, t);
  };
  sink.on_message = [this, weak](std::string_view t) {
    if (metrics_) metrics_->stream_bytes(obs::Metrics::Stream::Message, t.size());
    auto j = weak.lock();
    if (!j || is_finished(j->state)) return;
    std::size_t n = take_room(*j, t.size());
    if (n == 0 && !t.empty()) return;
    j->messages.emplace_back(t.substr(0, n));
    add_event(*j, {JobEvent::Kind::Message, static_cast<std::uint32_t>(j->messages.size() - 1), static_cast<std::uint32_t>(n)});
  };
  sink.on_blob = [this, weak](std::string_view hash, std::string bytes) {
    if (metrics_) metrics_->stream_bytes(obs::Metrics::Stream::Blob, bytes.size());
    auto j = weak.lock();
    if (!j || is_finished(j->state)) return;
    if (take_room(*j, bytes.size()) < bytes.size()) return;  // a blob is whole or not at all
    auto size = static_cast<std::uint32_t>(bytes.size());
    j->blobs.push_back({std::string(hash), std::move(bytes)});
    add_event(*j, {JobEvent::Kind::Blob, static_cast<std::uint32_t>(j->blobs.size() - 1), size});
  };
  sink.on_gap = [this, weak](std::string_view why) {
    auto j = weak.lock();
    if (!j || is_finished(j->state)) return;
    j->incomplete = true;
    add_gap(*j, std::string(why));
  };
  sink.on_relaunch = [this, weak](std::string_view server, std::string_view instance) {
    auto j = weak.lock();
    if (!j || is_finished(j->state)) return;
    j->incomplete = true;
    add_gap(*j, "instance " + j->instance_id + " on " + j->server + " was lost; the job was launched again as " +
                    std::string(instance) + " on " + std::string(server) + " (idempotent endpoint): output from here on is the new run's");
    j->server = std::string(server);
    j->instance_id = std::string(instance);
    if (!j->spec.inputs.empty()) send_inputs(j, 0, j->instance_id);  // the new run needs them too
  };
  sink.on_end = [this, weak](pie::InstanceEnd end, std::string_view message) {
    auto j = weak.lock();
    if (!j || is_finished(j->state)) return;
    using E = pie::InstanceEnd;
    switch (end) {
      case E::Completed:
        j->return_value = std::string(message);
        return finish(j, JobState::Completed, std::nullopt);
      case E::SessionLost:
        return finish(j, JobState::Failed,
                      JobError{JobError::Kind::SessionLost, "PieSessionLost",
                               "connection to Pie server " + j->server + " lost while instance " + j->instance_id +
                                   " ran: " + std::string(message)});
      default:
        return finish(j, JobState::Failed,
                      JobError{JobError::Kind::InferletFailed, pie::to_string(end), std::string(message)});
    }
  };
  return sink;
}

void JobService::finish(const std::shared_ptr<Job>& job, JobState state, std::optional<JobError> error) {
  if (is_finished(job->state)) return;
  if (job->state == JobState::Running) --running_count_;
  job->state = state;
  if (error) job->error = std::make_unique<JobError>(std::move(*error));
  job->finished = Clock::now();
  job->deadline.reset();  // destroying a timer cancels its wait; the handler holds no reference to it
  --live_count_;
  count_owner(*job, false);
  if (metrics_)
    metrics_->job_finished(job->spec.endpoint, to_string(state),
                           std::chrono::duration<double>(job->finished - job->created).count());
  auto& order = job->spec.async ? finished_order_ : finished_sync_order_;
  const std::size_t cap = job->spec.async ? opts_.max_finished_jobs : opts_.max_finished_sync_jobs;
  order.emplace_back(job->finished, job->id);
  while (order.size() > cap) {
    jobs_.erase(order.front().second);
    order.pop_front();
  }
  add_event(*job, {JobEvent::Kind::End, 0, 0});
  job->watchers.clear();
  job->events.shrink_to_fit();
  auto waiters = std::move(job->waiters);
  job->waiters.clear();
  for (auto& w : waiters) w(*job);
}

JobService::Counts JobService::counts() {
  sweep();
  return {live_count_ - running_count_, running_count_, jobs_.size() - live_count_};
}

void JobService::sweep() {
  const auto cutoff = Clock::now() - opts_.retention;
  for (auto* order : {&finished_order_, &finished_sync_order_}) {
    while (!order->empty() && order->front().first < cutoff) {
      auto it = jobs_.find(order->front().second);
      if (it != jobs_.end() && is_finished(it->second->state)) jobs_.erase(it);
      order->pop_front();
    }
  }
}

std::shared_ptr<Job> JobService::find(std::string_view text) {
  sweep();
  auto id = JobId::parse(text);
  if (!id) return nullptr;
  auto it = jobs_.find(*id);
  return it == jobs_.end() ? nullptr : it->second;
}

void JobService::on_end(const std::shared_ptr<Job>& job, Waiter w) {
  if (!is_finished(job->state)) {
    job->waiters.push_back(std::move(w));
    return;
  }
  asio::post(ex_, [job, w = std::move(w)] { w(*job); });
}

JobService::CancelOutcome JobService::cancel(std::string_view id) {
  auto job = find(id);
  if (!job) return CancelOutcome::NotFound;
  if (is_finished(job->state)) return CancelOutcome::AlreadyFinished;
  if (job->fanout) cancel_runs(*job);  // fanout.cpp
  std::string msg = "job cancelled by request";
  if (!job->instance_id.empty()) {
    cluster_->terminate(job->server, job->instance_id);
    msg += "; instance " + job->instance_id + " on " + job->server + " terminated";
  }
  // A launch still in flight is terminated when Pie accepts it (see on_launched).
  finish(job, JobState::Cancelled, JobError{JobError::Kind::Cancelled, "Cancelled", msg});
  return CancelOutcome::Cancelled;
}

bool JobService::stop(const std::shared_ptr<Job>& job, JobState state, std::optional<JobError> error) {
  if (is_finished(job->state)) return false;
  if (!job->instance_id.empty()) cluster_->terminate(job->server, job->instance_id);
  finish(job, state, std::move(error));
  return true;
}

Result<bool> JobService::signal(const Job& job, std::string text) {
  if (is_finished(job.state)) return make_error("job " + job.id.str() + " has ended");
  if (job.instance_id.empty()) return make_error("job " + job.id.str() + " is not running on Pie yet");
  return cluster_->signal(job.server, job.instance_id, std::move(text));
}

std::size_t JobService::abort_if(const std::function<bool(const Job&)>& which, const JobError& error) {
  std::vector<std::shared_ptr<Job>> victims;
  for (auto& [id, job] : jobs_)
    if (!is_finished(job->state) && which(*job)) victims.push_back(job);
  for (auto& job : victims) {
    if (!job->instance_id.empty()) cluster_->terminate(job->server, job->instance_id);
    finish(job, JobState::Failed, error);
  }
  return victims.size();
}

void JobService::forget(const JobId& id) {
  auto it = jobs_.find(id);
  if (it != jobs_.end() && is_finished(it->second->state)) jobs_.erase(it);
}

void JobService::count_owner(const Job& job, bool started) {
  if (job.spec.owner.empty()) return;
  if (started) {
    ++owner_live_[job.spec.owner];
    return;
  }
  auto it = owner_live_.find(job.spec.owner);
  if (it != owner_live_.end() && --it->second == 0) owner_live_.erase(it);
}

std::size_t JobService::live_of(std::string_view owner) const {
  auto it = owner_live_.find(std::string(owner));
  return it == owner_live_.end() ? 0 : it->second;
}

std::optional<JobService::Refusal> JobService::admit(std::string_view owner, std::size_t owner_cap) const {
  if (owner.empty()) return std::nullopt;
  const std::size_t mine = live_of(owner);
  if (owner_cap && mine >= owner_cap)
    return Refusal{Refusal::Kind::ClientCap, "client '" + std::string(owner) + "' has " + std::to_string(mine) +
                                                 " live jobs, its limit (max_live_jobs); retry when one has finished"};
  const std::size_t cap = opts_.max_live_jobs, reserve = cap / 4;
  if (live_count_ + reserve < cap) return std::nullopt;  // room for everyone
  const std::size_t owners = owner_live_.size() + (mine == 0 ? 1 : 0);
  const std::size_t share = (cap - reserve) / std::max<std::size_t>(1, owners);
  if (mine < share) return std::nullopt;
  return Refusal{Refusal::Kind::FairShare,
                 "the gateway is nearly full (" + std::to_string(live_count_) + " of " + std::to_string(cap) +
                     " live jobs) and client '" + std::string(owner) + "' holds " + std::to_string(mine) +
                     ", its fair share; the rest is kept for other clients: retry later"};
}

std::vector<std::shared_ptr<Job>> JobService::list(const JobFilter& filter) {
  sweep();
  std::vector<std::shared_ptr<Job>> out;
  for (auto& [id, job] : jobs_) {
    if (filter.state && job->state != *filter.state) continue;
    if (!filter.endpoint.empty() && job->spec.endpoint != filter.endpoint) continue;
    if (filter.owner && job->spec.owner != *filter.owner) continue;
    if (job->created >= filter.before) continue;
    out.push_back(job);
  }
  // Only the newest `limit` are ordered: a full sort of 100,000 retained jobs would stall the io thread.
  const auto keep = std::min(filter.limit, out.size());
  std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(keep), out.end(),
                    [](const auto& a, const auto& b) { return a->created > b->created; });
  out.resize(keep);
  return out;
}

}  // namespace pg::jobs
