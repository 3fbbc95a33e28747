// GET / : what TARP clients read to build their methods.
#pragma once

#include "endpoints/registry.hpp"
#include "http/message.hpp"

namespace pg::frontdoor {

/// The discovery envelope: configured endpoints by kind, plus the gateway's built-in endpoints
/// (gateway/jobs, gateway/servers, gateway/cancel), which the Python client turns into
/// gateway_jobs() and so on.
http::Response build_discovery(const endpoints::Registry& reg);

}  // namespace pg::frontdoor
