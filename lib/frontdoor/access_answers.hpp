// How the HTTP front door answers what access/ decided: 401 (with the challenge), 403 and 429
// (with Retry-After) in the TARP error envelope, and what a non-admin sees of gateway/servers.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "access/access.hpp"
#include "http/message.hpp"
#include "jobs/job_service.hpp"

namespace pg::frontdoor {

/// 401 + WWW-Authenticate, 403, or 429 + Retry-After (whole seconds, rounded up).
http::Response denial_answer(const access::Denial& d);
/// A job a client may not start now (its max_live_jobs, or its fair share): 429 + Retry-After: 1.
http::Response refusal_answer(const jobs::JobService::Refusal& r);
/// The metrics reason of a refusal: "live_jobs" or "fair_share".
std::string_view refusal_reason(const jobs::JobService::Refusal& r);
/// gateway/servers for a caller who is not admin (access on): each server's name, protocol,
/// state and groups; no URIs, errors, counters or daemons.
nlohmann::json public_servers(const nlohmann::json& described);

}  // namespace pg::frontdoor
