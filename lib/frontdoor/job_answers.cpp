#include "frontdoor/job_answers.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <ctime>

#include "common/expansion.hpp"
#include "endpoints/result.hpp"
#include "jobs/fanout.hpp"
#include "tarp/envelope.hpp"
#include "tarp/rpc.hpp"

namespace pg::frontdoor {

using nlohmann::json;

namespace {

double seconds(std::chrono::milliseconds d) { return std::chrono::duration<double>(d).count(); }

std::string retry_after(const jobs::Job& job) {
  // Whole seconds (the Python client does int(Retry-After)), at least 1.
  return std::to_string(std::max<long long>(1, static_cast<long long>(std::ceil(seconds(job.spec.suggested_wait)))));
}

std::string iso8601(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A completed job whose result cannot be delivered (a JSON result that is not JSON).
http::Response bad_result(const jobs::Job& job, const std::string& why) {
  return tarp::error(502, "BadInferletResult", why, json{{"job", job.id.str()}});
}

}  // namespace

http::Response unavailable_answer(const std::string& message) {
  auto r = tarp::error(503, "InvalidServerState", message);
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

http::Response bad_call_answer(const std::string& message) {
  if (over_expansion_limit(message)) return tarp::error(413, "PayloadTooLarge", message);
  return tarp::error(400, "BadRequest", message);
}

http::Response failure_answer(const jobs::Job& job) {
  const jobs::JobError e = job.error ? *job.error : jobs::JobError{jobs::JobError::Kind::Cancelled, "Cancelled", "job cancelled"};
  json detail = json::object();
  if (!job.server.empty()) detail["server"] = job.server;
  if (!job.instance_id.empty()) detail["instance_id"] = job.instance_id;
  if (!job.stderr_text.empty())
    detail["stderr"] = job.stderr_text.size() > 4096 ? job.stderr_text.substr(job.stderr_text.size() - 4096) : job.stderr_text;
  json extra = {{"job", job.id.str()}};
  if (!detail.empty()) extra["pie"] = detail;
  using K = jobs::JobError::Kind;
  switch (e.kind) {
    case K::Unavailable:
    case K::Overloaded: {
      // TARP clients raise InvalidServerState for this type; Retry-After helps other clients.
      auto r = tarp::error(503, "InvalidServerState", e.message, extra);
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    case K::Timeout: return tarp::error(504, "Timeout", e.message, extra);
    case K::TooLarge: return tarp::error(413, e.type, e.message, extra);
    case K::Cancelled: return tarp::error(409, "Cancelled", e.message, extra);
    case K::InferletFailed:
      return tarp::error(502, e.type, "inferlet '" + job.spec.launch.inferlet + "' ended with " + e.type + ": " + e.message, extra);
    case K::Rejected:
    case K::SessionLost: return tarp::error(502, e.type, e.message, extra);
  }
  return tarp::error(500, "Internal", e.message, extra);
}

http::Response web_answer(const jobs::Job& job) {
  if (job.state != jobs::JobState::Completed) return failure_answer(job);
  http::Response r;
  const bool blob = job.spec.result == config::ResultSource::Blob;
  if (!job.spec.content_type.empty()) {
    // A raw result (content_type:): the bytes as they are, for browsers to show directly.
    if (blob && job.blobs.empty()) return bad_result(job, "the inferlet completed without sending a blob");
    r.content_type = job.spec.content_type;
    r.body = job.result();
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  } else if (job.spec.format == config::ResultFormat::Text && !blob) {
    r = tarp::success_text(job.result());
  } else {
    auto v = endpoints::result_value(job);
    if (!v) return bad_result(job, v.error());
    r = tarp::success(value::to_json(*v), blob ? "application/octet-stream" : tarp::kJson);  // bytes: base64
  }
  if (job.truncated) r.headers.emplace_back("X-Pie-Output-Truncated", "true");
  if (job.incomplete) r.headers.emplace_back("X-Pie-Output-Incomplete", "true");
  return r;
}

http::Response rpc_answer(const jobs::Job& job) {
  if (job.state != jobs::JobState::Completed) return failure_answer(job);
  auto v = endpoints::result_value(job);
  if (!v) return bad_result(job, v.error());
  auto r = tarp::success(json{{"payload", tarp::rpc_payload_b64(*v)}}, tarp::kJson);
  if (job.truncated) r.headers.emplace_back("X-Pie-Output-Truncated", "true");
  if (job.incomplete) r.headers.emplace_back("X-Pie-Output-Incomplete", "true");
  return r;
}

http::Response fetch_answer(const jobs::Job& job, bool json_format) {
  if (job.state != jobs::JobState::Completed) return failure_answer(job);
  if (!json_format) return rpc_answer(job);
  auto v = endpoints::result_value(job);
  if (!v) return bad_result(job, v.error());
  bool text = v->kind() == value::Kind::Str;
  return tarp::success(value::to_json(*v), text ? tarp::kText : tarp::kJson);
}

http::Response handle_answer(const jobs::Job& job) {
  return tarp::success(json{{"ID", job.id.str()}, {"suggested_wait", seconds(job.spec.suggested_wait)}}, tarp::kJson);
}

http::Response probe_answer(const jobs::Job& job) {
  json r = {{"suggested_wait", seconds(job.spec.suggested_wait)}};
  if (!jobs::is_finished(job.state)) {
    r["status"] = "in_progress";
  } else if (job.state == jobs::JobState::Completed) {
    r["status"] = "completed";
  } else {
    r["status"] = "failed";
    r["error"] = job.error ? job.error->type + ": " + job.error->message : "failed";
  }
  return tarp::success(r, tarp::kJson);
}

http::Response in_progress_answer(const jobs::Job& job) {
  auto r = tarp::error(503, "OperationInProgress",
                       "job " + job.id.str() + " is still " + jobs::to_string(job.state) + "; retry after the suggested wait");
  r.headers.emplace_back("Retry-After", retry_after(job));
  return r;
}

http::Response traced(const jobs::Job& job, http::Response r) {
  r.trace = {job.id.str(), job.server, job.instance_id};
  return r;
}

json job_summary(const jobs::Job& job) {
  json j = {{"id", job.id.str()},
            {"endpoint", job.spec.endpoint},
            {"inferlet", job.spec.launch.inferlet},
            {"state", jobs::to_string(job.state)},
            {"async", job.spec.async},
            {"created", iso8601(job.created_wall)},
            {"seconds_running", job.seconds_running()},
            {"truncated", job.truncated}};
  if (!job.spec.owner.empty()) j["client"] = job.spec.owner;  // access on: who created it
  if (!job.server.empty()) j["server"] = job.server;
  if (!job.instance_id.empty()) j["instance_id"] = job.instance_id;
  if (job.error) j["error"] = {{"type", job.error->type}, {"message", job.error->message}};
  if (job.incomplete) j["output_incomplete"] = true;  // re-attached after a session drop: see the job's notes
  if (job.fanout) j["fanout"] = jobs::fanout_summary(job);  // a fan-out call: its runs, one per server
  if (job.parent) j["parent"] = job.parent->str();          // a fan-out run: the call
  return j;
}

}  // namespace pg::frontdoor
