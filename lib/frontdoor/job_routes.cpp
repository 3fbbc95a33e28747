// TarpHttp's job built-ins: asyncProbe/asyncGet (TARP handles), gateway/jobs and gateway/cancel.
// With access on, a caller reaches only its own jobs (admin: all); another client's job id
// answers exactly as an unknown one.
#include <nlohmann/json.hpp>

#include <cstdlib>

#include "frontdoor/job_answers.hpp"
#include "frontdoor/request_params.hpp"
#include "frontdoor/tarp_http.hpp"
#include "tarp/envelope.hpp"

namespace pg::frontdoor {

using nlohmann::json;

std::shared_ptr<jobs::Job> TarpHttp::find_job(const Caller& caller, std::string_view id) {
  auto job = jobs_.find(id);
  if (job && !access::Access::may_see(caller, job->spec.owner)) return nullptr;
  return job;
}

void TarpHttp::async_probe(const Caller& caller, http::Request& req, http::Responder& respond, bool fetch) {
  auto params = request_params(req);
  if (!params) return respond(tarp::error(400, "BadRequest", params.error()));
  auto id = single(*params, "UUID");
  if (!id) return respond(tarp::error(400, "BadRequest", id.error()));
  if (id->empty()) return respond(tarp::error(400, "BadRequest", "missing required parameter 'UUID'"));
  auto format = single(*params, "format");
  if (!format || (!format->empty() && *format != "json" && *format != "pickle"))
    return respond(tarp::error(400, "BadRequest", "parameter 'format' must be json or pickle"));
  auto job = find_job(caller, *id);
  if (!job)
    return respond(tarp::error(404, "NotFound",
                               "no job with UUID '" + *id + "' (finished jobs are forgotten once fetched, or after " +
                                   std::to_string(jobs_.options().retention.count() / 1000) + " s)"));
  if (!fetch) return respond(traced(*job, probe_answer(*job)));
  if (!jobs::is_finished(job->state)) return respond(traced(*job, in_progress_answer(*job)));
  auto answer = traced(*job, fetch_answer(*job, *format == "json"));
  jobs_.forget(job->id);  // a handle is fetched once, as TARP servers do
  respond(std::move(answer));
}

void TarpHttp::list_jobs(const Caller& caller, http::Request& req, http::Responder& respond) {
  auto params = request_params(req);
  if (!params) return respond(tarp::error(400, "BadRequest", params.error()));
  jobs::JobFilter filter;
  if (!caller.admin()) filter.owner = caller.owner();  // a client lists its own jobs only
  bool other_client = false;
  for (const auto& [k, v] : *params) {
    if (k == "state") {
      bool known = false;
      for (auto s : {jobs::JobState::Queued, jobs::JobState::Running, jobs::JobState::Completed,
                     jobs::JobState::Failed, jobs::JobState::Cancelled})
        if (v == jobs::to_string(s)) filter.state = s, known = true;
      if (!known)
        return respond(tarp::error(400, "BadRequest", "state must be queued, running, completed, failed or cancelled"));
    } else if (k == "endpoint") {
      filter.endpoint = v;
    } else if (k == "client") {
      if (!caller.admin()) other_client = v != caller.owner();  // nothing of another client's
      else filter.owner = v;
    } else if (k == "limit") {
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || n < 1 || n > 10000)
        return respond(tarp::error(400, "BadRequest", "limit must be a whole number from 1 to 10000"));
      filter.limit = static_cast<std::size_t>(n);
    } else {
      return respond(
          tarp::error(400, "BadRequest", "unknown parameter '" + k + "' (takes state, endpoint, client, limit)"));
    }
  }
  json out = json::array();
  if (!other_client)
    for (const auto& job : jobs_.list(filter)) out.push_back(job_summary(*job));
  respond(tarp::success(out, tarp::kJson));
}

void TarpHttp::cancel_job(const Caller& caller, http::Request& req, http::Responder& respond) {
  auto params = request_params(req);
  if (!params) return respond(tarp::error(400, "BadRequest", params.error()));
  auto id = single(*params, "UUID");
  if (!id) return respond(tarp::error(400, "BadRequest", id.error()));
  if (id->empty()) return respond(tarp::error(400, "BadRequest", "missing required parameter 'UUID'"));
  const auto outcome = find_job(caller, *id) ? jobs_.cancel(*id) : jobs::JobService::CancelOutcome::NotFound;
  switch (outcome) {
    case jobs::JobService::CancelOutcome::NotFound:
      return respond(tarp::error(404, "NotFound", "no job with UUID '" + *id + "'"));
    case jobs::JobService::CancelOutcome::AlreadyFinished:
      return respond(tarp::error(409, "AlreadyFinished", "job " + *id + " has already finished"));
    case jobs::JobService::CancelOutcome::Cancelled:
      return respond(tarp::success(json{{"ID", *id}, {"status", "cancelled"}}, tarp::kJson));
  }
}

}  // namespace pg::frontdoor
