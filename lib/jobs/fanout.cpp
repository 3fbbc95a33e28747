// JobService's fan-out calls (declared in job_service.hpp; described in fanout.hpp).
#include "jobs/fanout.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <random>

#include "jobs/job_service.hpp"
#include "obs/metrics.hpp"
#include "value/base64.hpp"

namespace pg::jobs {

namespace {

using nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

/// A run's element of the parent's result.
json entry_for(const Job& run, const std::string& server, std::unique_ptr<JobError>& error_out) {
  json e = {{"server", server}, {"status", to_string(run.state)}, {"job", run.id.str()}};
  if (!run.instance_id.empty()) e["instance_id"] = run.instance_id;
  if (run.truncated) e["truncated"] = true;
  if (run.incomplete) e["output_incomplete"] = true;
  JobError error;
  if (run.state == JobState::Completed) {
    const std::string& text = run.result();
    if (run.spec.result == config::ResultSource::Blob) {
      if (!run.blobs.empty()) {
        e["result"] = base64_encode(text);
        return e;
      }
      error = {JobError::Kind::InferletFailed, "BadInferletResult", "the inferlet completed without sending a blob"};
    } else if (run.spec.format == config::ResultFormat::Text) {
      e["result"] = text;
      return e;
    } else {
      json v = json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (!v.is_discarded()) {
        e["result"] = std::move(v);
        return e;
      }
      error = {JobError::Kind::InferletFailed, "BadInferletResult", "the inferlet's result is not JSON"};
    }
    e["status"] = "failed";
  } else {
    error = run.error ? *run.error : JobError{JobError::Kind::Cancelled, "Cancelled", "cancelled"};
  }
  e["error"] = {{"type", error.type}, {"message", error.message}};
  error_out = std::make_unique<JobError>(std::move(error));
  return e;
}

}  // namespace

json fanout_summary(const Job& parent) {
  json out = json::array();
  if (!parent.fanout) return out;
  for (const auto& r : parent.fanout->runs)
    out.push_back({{"server", r.server}, {"job", r.job.str()}, {"state", r.ended ? to_string(r.state) : "running"}});
  return out;
}

Result<std::shared_ptr<Job>> JobService::submit_fanout(JobSpec spec, Waiter on_end) {
  sweep();
  auto servers = cluster_->healthy_servers(spec.group);
  if (spec.fanout != config::Endpoint::kFanoutAll && servers.size() > spec.fanout) {
    static std::mt19937 rng{std::random_device{}()};
    std::shuffle(servers.begin(), servers.end(), rng);
    servers.resize(spec.fanout);
    std::sort(servers.begin(), servers.end());
  }
  if (live_count_ + 1 + servers.size() > opts_.max_live_jobs) {
    if (metrics_) metrics_->job_rejected();
    return make_error("the gateway is at its limit of " + std::to_string(opts_.max_live_jobs) +
                      " running jobs; retry later");
  }
  auto parent = std::make_shared<Job>();
  parent->id = JobId::random();
  parent->spec = spec;
  parent->spec.result = config::ResultSource::Return;  // the list, as JSON
  parent->spec.format = config::ResultFormat::Json;
  parent->spec.content_type.clear();
  parent->created = parent->started = Clock::now();
  parent->created_wall = std::chrono::system_clock::now();
  parent->state = JobState::Running;
  parent->fanout = std::make_shared<FanoutRuns>();
  if (on_end) parent->waiters.push_back(std::move(on_end));
  jobs_.emplace(parent->id, parent);
  ++live_count_;
  count_owner(*parent, true);
  ++running_count_;
  if (metrics_) metrics_->job_started(parent->spec.endpoint);

  auto& fo = *parent->fanout;
  fo.runs.resize(servers.size());
  fo.remaining = servers.size();
  std::weak_ptr<Job> weak = parent;
  // The parent ends on its own turn of the loop: its waiters never run inside submit().
  const auto post_finish = [this, weak] {
    boost::asio::post(ex_, [this, weak] {
      if (auto p = weak.lock()) finish_fanout(p);
    });
  };
  if (servers.empty()) post_finish();
  for (std::size_t i = 0; i < servers.size(); ++i) {
    JobSpec one = spec;
    one.fanout = 0;
    one.server = servers[i];
    fo.runs[i].server = servers[i];
    auto run = submit(std::move(one), [this, weak, i](const Job& r) { on_run_end(weak, i, r); });
    if (!run) {  // cannot happen after the cap check above; end the run as unavailable
      fo.runs[i].ended = true;
      fo.runs[i].state = JobState::Failed;
      fo.runs[i].error = std::make_unique<JobError>(JobError{JobError::Kind::Unavailable, "PieUnavailable", run.error()});
      fo.runs[i].entry = {{"server", servers[i]}, {"status", "failed"},
                          {"error", {{"type", "PieUnavailable"}, {"message", run.error()}}}};
      if (--fo.remaining == 0) post_finish();
      continue;
    }
    (*run)->parent = parent->id;
    fo.runs[i].job = (*run)->id;
  }
  return parent;
}

void JobService::on_run_end(const std::weak_ptr<Job>& weak, std::size_t index, const Job& run) {
  auto parent = weak.lock();
  if (!parent || !parent->fanout || is_finished(parent->state)) return;
  auto& r = parent->fanout->runs[index];
  if (r.ended) return;
  r.ended = true;
  r.state = run.state;
  r.entry = entry_for(run, r.server, r.error);
  if (r.error && r.state == JobState::Completed) r.state = JobState::Failed;  // a result it could not deliver
  // Likewise: the parent's waiters never run inside a run's finish().
  if (--parent->fanout->remaining == 0)
    boost::asio::post(ex_, [this, weak] {
      if (auto p = weak.lock()) finish_fanout(p);
    });
}

void JobService::finish_fanout(const std::shared_ptr<Job>& parent) {
  if (is_finished(parent->state)) return;
  const auto& runs = parent->fanout->runs;
  if (runs.empty()) {
    return finish(parent, JobState::Failed,
                  JobError{JobError::Kind::Unavailable, "PieUnavailable",
                           "no healthy Pie server" + (parent->spec.group.empty() ? std::string() : " in group '" + parent->spec.group + "'") +
                               " to fan out to"});
  }
  json list = json::array();
  const JobError* first_error = nullptr;
  std::string reasons;
  bool any_completed = false;
  for (const auto& r : runs) {
    list.push_back(r.entry);
    if (r.state == JobState::Completed) {
      any_completed = true;
      continue;
    }
    if (r.error && !first_error) first_error = r.error.get();
    reasons += (reasons.empty() ? "" : "; ") + r.server + ": " + (r.error ? r.error->type + ": " + r.error->message : "failed");
  }
  parent->return_value = dump(list);
  if (any_completed) return finish(parent, JobState::Completed, std::nullopt);
  JobError e = first_error ? *first_error : JobError{JobError::Kind::Unavailable, "PieUnavailable", ""};
  e.message = "every run of the fan-out failed: " + reasons;
  finish(parent, JobState::Failed, std::move(e));
}

void JobService::cancel_runs(Job& parent) {
  for (const auto& r : parent.fanout->runs)
    if (!r.ended) cancel(r.job.str());
}

}  // namespace pg::jobs
