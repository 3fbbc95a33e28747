// JobService: sending an endpoint's inputs (request body or parameters, as text messages or
// blobs) to the instance once Pie accepted the launch. Messages are fire and forget; a blob is
// awaited before the next input so the instance sees them in the declared order.
#include <spdlog/spdlog.h>

#include "jobs/job_service.hpp"

namespace pg::jobs {

void JobService::send_inputs(const std::shared_ptr<Job>& job, std::size_t from, std::string instance_id) {
  auto fail = [&](const std::string& why) {
    cluster_->terminate(job->server, job->instance_id);
    finish(job, JobState::Failed,
           JobError{JobError::Kind::Rejected, "InputRejected",
                    "input " + std::to_string(from + 1) + " of endpoint '" + job->spec.endpoint +
                        "' could not be delivered to instance " + job->instance_id + ": " + why});
  };
  for (; from < job->spec.inputs.size(); ++from) {
    // Finished (e.g. the deadline), or relaunched elsewhere (that run got its own inputs).
    if (is_finished(job->state) || job->instance_id != instance_id) return;
    const auto& in = job->spec.inputs[from];
    if (in.send == config::EndpointInput::Send::Message) {
      if (auto r = cluster_->signal(job->server, job->instance_id, in.bytes); !r) return fail(r.error());
      continue;
    }
    std::weak_ptr<Job> weak = job;
    cluster_->upload_blob(job->server, job->instance_id, in.bytes,
                          [this, weak, from, id = std::move(instance_id)](Result<std::string> r) {
                            auto j = weak.lock();
                            if (!j || is_finished(j->state) || j->instance_id != id) return;
                            if (!r) {
                              spdlog::warn("job {}: blob input {} refused: {}", j->id.str(), from + 1, r.error());
                              cluster_->terminate(j->server, j->instance_id);
                              return finish(j, JobState::Failed,
                                            JobError{JobError::Kind::Rejected, "InputRejected",
                                                     "input " + std::to_string(from + 1) + " of endpoint '" +
                                                         j->spec.endpoint + "' (a blob) was refused by Pie: " +
                                                         r.error()});
                            }
                            send_inputs(j, from + 1, id);
                          });
    return;
  }
}

}  // namespace pg::jobs
