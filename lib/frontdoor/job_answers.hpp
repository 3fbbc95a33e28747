// How jobs answer over TARP HTTP: results (text, JSON or pickled payload), async handles,
// asyncProbe/asyncGet, and the error envelope for every way a job can fail.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "http/message.hpp"
#include "jobs/job.hpp"

namespace pg::frontdoor {

/// A web-like (GET/POST) call's answer: the result in the envelope, or the mapped error.
http::Response web_answer(const jobs::Job& job);
/// An RPC call's answer: {"payload": B64(pickle(value))}, or the mapped error.
http::Response rpc_answer(const jobs::Job& job);
/// {"ID": ..., "suggested_wait": ...} for an async call.
http::Response handle_answer(const jobs::Job& job);
/// asyncProbe: {"status": in_progress|completed|failed, "suggested_wait": N[, "error": M]}.
http::Response probe_answer(const jobs::Job& job);
/// asyncGet of a finished job: payload (pickle) or, with format=json, the plain result.
http::Response fetch_answer(const jobs::Job& job, bool json_format);
/// 503 OperationInProgress + Retry-After for asyncGet of a running job.
http::Response in_progress_answer(const jobs::Job& job);
/// The error envelope of a failed or cancelled job (status by failure kind).
http::Response failure_answer(const jobs::Job& job);
/// 503 InvalidServerState + Retry-After: the gateway cannot take the call now.
http::Response unavailable_answer(const std::string& message);
/// A call refused before any work: 413 PayloadTooLarge when it is over the expansion limit
/// (common/expansion.hpp) or a Pie server's max_message_bytes, else 400 BadRequest.
http::Response bad_call_answer(const std::string& message);

/// `r`, noting for the access log which job (and Pie server and instance) answered it.
http::Response traced(const jobs::Job& job, http::Response r);

/// A job as gateway/jobs lists it (with its `client` when access is on).
nlohmann::json job_summary(const jobs::Job& job);

}  // namespace pg::frontdoor
