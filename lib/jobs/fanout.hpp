// Fan-out calls (endpoint `fanout: all | N`): one call runs the inferlet on several healthy
// servers of the endpoint's group and answers the list of per-server results.
//
// Shape: the call is one job (the "parent": what the caller waits for, polls, cancels; it has
// no instance of its own) and each server's run is a job too (a "run": pinned to its server,
// with its own deadline, output, events log and metrics; listed in gateway/jobs with `parent`).
// The parent ends once every run has ended: completed, with the list below as its JSON result,
// if at least one run completed; else failed with the first run's error kind and every
// server's reason. Cancelling the parent cancels its runs. Servers are chosen at submit time
// from Cluster::healthy_servers(group) (N of them at random for `fanout: N`); none healthy
// fails the call at once (503, like any call with no server).
//
// Result (JSON list, in server order):
//   [{"server": "a", "status": "completed", "result": <the run's result>, "job": "<run id>",
//     "instance_id": "..."},
//    {"server": "b", "status": "failed", "error": {"type": "Exception", "message": "..."}, "job": "..."}]
// <the run's result> follows the endpoint: a string (text), a JSON value (result_format json;
// a run whose result is not JSON is reported failed with BadInferletResult), base64 (blob).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "jobs/job.hpp"

namespace pg::jobs {

struct FanoutRun {
  std::string server;
  JobId job;                           // the run's job id
  bool ended = false;
  JobState state = JobState::Queued;   // once ended
  nlohmann::json entry;                // its element of the result, once ended
  std::unique_ptr<JobError> error;     // a run that did not complete
};

struct FanoutRuns {
  std::vector<FanoutRun> runs;
  std::size_t remaining = 0;  // runs not ended yet
};

/// The parent's runs as gateway/jobs shows them: [{"server", "job", "state"}].
nlohmann::json fanout_summary(const Job& parent);

}  // namespace pg::jobs
