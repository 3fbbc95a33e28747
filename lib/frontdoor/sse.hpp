// Server-Sent Events over a job's events log: endpoint calls made with
// `Accept: text/event-stream`, and GET /gateway/jobs/<id>/events. The event names and data
// shapes are listed in README.md (Server-Sent Events); they are defined here only.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "frontdoor/sse_request.hpp"
#include "http/message.hpp"
#include "jobs/job_service.hpp"

namespace pg::frontdoor {

struct SseOptions {
  std::size_t from = 0;               // first event index to send (Last-Event-ID + 1)
  bool call = false;                  // an endpoint call: ids "<job>:<i>", and a leading `job` event when from == 0
  bool cancel_on_disconnect = false;  // cancel the job (terminating its instance) if the reader leaves first
};

/// 200 text/event-stream that streams `job`'s events from `o.from`, then one final `result` or
/// `error` event, then ends.
http::Response sse_answer(jobs::JobService& jobs, std::shared_ptr<jobs::Job> job, SseOptions o);

/// One event in SSE framing (`data` is one line of JSON).
std::string sse_event(std::string_view name, const nlohmann::json& data, std::string_view id = {});
/// The final event of a finished job: {"result", success data} or {"error", envelope + http_status}.
std::pair<std::string, nlohmann::json> sse_final(const jobs::Job& job);

}  // namespace pg::frontdoor
