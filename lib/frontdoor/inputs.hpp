// An endpoint's `input:` for one call: the request body and/or parameter values, in the
// declared order, ready for the job layer to send to the instance (jobs/job_inputs.cpp).
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/model.hpp"
#include "endpoints/registry.hpp"
#include "jobs/job.hpp"

namespace pg::frontdoor {

/// The endpoint sends the request body itself as an input: the body is then not read as
/// parameters (those come from the query string only), whatever its Content-Type.
bool body_is_input(const config::Endpoint& ep);

/// The inputs of one call: `body` for from: body; for param:NAME the keyword of that name,
/// else the positional argument at the parameter's place, else its default (a missing required
/// parameter was already refused by binding).
Result<std::vector<jobs::JobSpec::Input>> call_inputs(const config::Endpoint& ep, const std::string& body,
                                                      const endpoints::CallArgs& args);

}  // namespace pg::frontdoor
