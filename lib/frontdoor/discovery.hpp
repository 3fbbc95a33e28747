// GET / : what TARP clients read to build their methods.
#pragma once

#include <functional>

#include "endpoints/registry.hpp"
#include "http/message.hpp"

namespace pg::frontdoor {

/// The discovery envelope: configured endpoints by kind, plus the gateway's built-in endpoints
/// (gateway/jobs, gateway/servers, gateway/cancel), which the Python client turns into
/// gateway_jobs() and so on. With `listed`, only the endpoints it accepts (what the caller may
/// call: access/).
http::Response build_discovery(const endpoints::Registry& reg,
                               const std::function<bool(const config::Endpoint&)>& listed = {});

}  // namespace pg::frontdoor
