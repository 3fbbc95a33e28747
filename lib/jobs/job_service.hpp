// Runs jobs on the cluster: launch, collect output (bounded), enforce the deadline
// (terminating the instance), and tell waiters once the job ends.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include <boost/asio/any_io_executor.hpp>

#include "cluster/cluster.hpp"
#include "jobs/job.hpp"

namespace pg::jobs {

struct JobServiceOptions {
  std::size_t max_output_bytes = 16 << 20;  // per job, stdout + stderr + messages
};

class JobService {
 public:
  using Waiter = std::function<void(const Job&)>;

  JobService(boost::asio::any_io_executor ex, std::shared_ptr<cluster::Cluster> cluster, JobServiceOptions opts = {});
  ~JobService();

  /// Start a job; `on_end` runs once when it ends (completed, failed or cancelled).
  std::shared_ptr<Job> submit(JobSpec spec, Waiter on_end);
  /// A job still known to the service (running ones), or null.
  std::shared_ptr<Job> find(const std::string& id) const;
  std::size_t running() const { return live_.size(); }

 private:
  void on_launched(const std::shared_ptr<Job>& job, cluster::LaunchOutcome outcome);
  void append_output(Job& job, std::string& into, std::string_view text);
  void finish(const std::shared_ptr<Job>& job, JobState state, std::optional<JobError> error);
  pie::InstanceSink sink_for(const std::shared_ptr<Job>& job);

  boost::asio::any_io_executor ex_;
  std::shared_ptr<cluster::Cluster> cluster_;
  JobServiceOptions opts_;
  std::unordered_map<std::string, std::shared_ptr<Job>> live_;
};

/// A random UUID v4 ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx").
std::string new_uuid();

}  // namespace pg::jobs
