// Runs jobs on the cluster: launch, collect output (bounded), enforce the deadline
// (terminating the instance), tell waiters once the job ends, and keep finished jobs for a
// retention time so that handles can be polled. Every front door uses this one service.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "cluster/cluster.hpp"
#include "common/result.hpp"
#include "jobs/job.hpp"

namespace pg::obs {
class Metrics;
}

namespace pg::jobs {

struct JobServiceOptions {
  std::size_t max_output_bytes = 16 << 20;  // per job: stdout + stderr + messages
  std::size_t max_live_jobs = 10000;        // queued + running; beyond it submit() refuses
  std::size_t max_finished_jobs = 100000;   // finished async jobs kept for polling; the oldest go first
  std::size_t max_finished_sync_jobs = 1000;  // finished sync calls kept for gateway/jobs only: a flood
                                              // of sync calls must not push out async results
  std::chrono::milliseconds retention{600000};  // how long a finished job stays visible
};

struct JobFilter {
  std::optional<JobState> state;
  std::string endpoint;  // "" = any
  std::optional<std::string> owner;  // only this client's jobs (absent = everyone's)
  std::size_t limit = 100;
  Clock::time_point before = Clock::time_point::max();  // only jobs created earlier (a page cursor)
};

class JobService {
 public:
  using Waiter = std::function<void(const Job&)>;

  /// `metrics` may be null (no metrics); it must outlive the service.
  JobService(boost::asio::any_io_executor ex, std::shared_ptr<cluster::Cluster> cluster, JobServiceOptions opts = {},
             obs::Metrics* metrics = nullptr);
  ~JobService();

  /// Start a job; `on_end` runs once when it ends. Refused (with the reason) when the
  /// live-job cap is reached.
  Result<std::shared_ptr<Job>> submit(JobSpec spec, Waiter on_end = {});
  /// Why a client may not start another job now (admit()): over its own max_live_jobs, or its
  /// fair share of the gateway's cap while the gateway is nearly full.
  struct Refusal {
    enum class Kind { ClientCap, FairShare };
    Kind kind;
    std::string message;
  };
  /// Whether `owner` (a client; "" = access off: always yes) may start a job now. `owner_cap` is
  /// its max_live_jobs (0 = none). Once fewer than a quarter of jobs.max_live slots are left, a
  /// client holding its share of the other three quarters (split evenly between the clients
  /// with live jobs, itself included) waits, so the rest stay for clients under their share.
  std::optional<Refusal> admit(std::string_view owner, std::size_t owner_cap) const;
  /// Queued + running jobs of `owner`.
  std::size_t live_of(std::string_view owner) const;

  /// A known job (running, or finished within retention and not forgotten), or null.
  std::shared_ptr<Job> find(std::string_view id);
  /// Call `w` when the job ends (at once, posted, if it already has).
  void on_end(const std::shared_ptr<Job>& job, Waiter w);

  enum class CancelOutcome { Cancelled, AlreadyFinished, NotFound };
  /// Cancel a job: its instance is terminated and the job ends as Cancelled.
  CancelOutcome cancel(std::string_view id);
  /// End a running job now with `state` (and `error`), terminating its instance: how a
  /// conversation is closed (conversations/). False if it had already finished.
  bool stop(const std::shared_ptr<Job>& job, JobState state, std::optional<JobError> error = std::nullopt);
  /// Send a text message to the job's instance through the session it is attached to; an
  /// error while it is not attached (a dropped session being re-attached) or not yet launched.
  Result<bool> signal(const Job& job, std::string text);
  /// Forget a finished job (a fetched async handle). Running jobs are not forgotten.
  void forget(const JobId& id);
  /// Newest first.
  std::vector<std::shared_ptr<Job>> list(const JobFilter& filter);

  /// Fail every unfinished job that `which` selects with `error`, terminating its instance
  /// (shutdown: sync calls left after the drain, and async jobs if so configured). Returns how many.
  std::size_t abort_if(const std::function<bool(const Job&)>& which, const JobError& error);
  /// Streaming: `notify` runs on the io thread after every new event of `job` (read job->events
  /// from your own offset; the End event is the last, after which the watch is dropped). For a
  /// finished job it runs once, posted. Unwatch when the reader goes away first.
  using WatchId = std::uint64_t;
  WatchId watch(const std::shared_ptr<Job>& job, std::function<void()> notify);
  void unwatch(const std::shared_ptr<Job>& job, WatchId id);

  /// New limits for new jobs and retention (reload); running jobs keep their own deadlines.
  void set_options(JobServiceOptions opts) { opts_ = opts; }

  std::size_t live() const { return live_count_; }
  std::size_t known() const { return jobs_.size(); }
  struct Counts {
    std::size_t queued = 0, running = 0, finished = 0;  // finished = retained for polling
  };
  /// After dropping finished jobs past their retention (for metrics gauges).
  Counts counts();
  const JobServiceOptions& options() const { return opts_; }

 private:
  void on_launched(const std::shared_ptr<Job>& job, cluster::LaunchOutcome outcome);
  std::size_t take_room(Job& job, std::size_t wanted);  // bytes of `wanted` that fit under the cap
  void append_output(Job& job, JobEvent::Kind kind, std::string_view text);
  void add_gap(Job& job, std::string why);
  void add_event(Job& job, JobEvent e);
  void finish(const std::shared_ptr<Job>& job, JobState state, std::optional<JobError> error);
  pie::InstanceSink sink_for(const std::shared_ptr<Job>& job);
  void sweep();
  // Fan-out calls (fanout.cpp): the call's job and one job per server.
  Result<std::shared_ptr<Job>> submit_fanout(JobSpec spec, Waiter on_end);
  void on_run_end(const std::weak_ptr<Job>& parent, std::size_t index, const Job& run);
  void finish_fanout(const std::shared_ptr<Job>& parent);
  void cancel_runs(Job& parent);
  /// The job's inputs from `from` on, in order; a blob's upload is answered before the next
  /// input goes (job_inputs.cpp). `epoch` is the instance it started with (a relaunch restarts).
  void send_inputs(const std::shared_ptr<Job>& job, std::size_t from, std::string instance_id);

  boost::asio::any_io_executor ex_;
  std::shared_ptr<cluster::Cluster> cluster_;
  JobServiceOptions opts_;
  std::unordered_map<JobId, std::shared_ptr<Job>, JobIdHash> jobs_;  // live and retained
  std::deque<std::pair<Clock::time_point, JobId>> finished_order_;       // async; may hold forgotten ids
  std::deque<std::pair<Clock::time_point, JobId>> finished_sync_order_;  // sync calls
  std::size_t live_count_ = 0;
  std::unordered_map<std::string, std::size_t> owner_live_;  // live jobs per owner (never "")
  void count_owner(const Job& job, bool started);
  std::size_t running_count_ = 0;
  WatchId next_watch_id_ = 0;
  obs::Metrics* metrics_ = nullptr;
};

}  // namespace pg::jobs
