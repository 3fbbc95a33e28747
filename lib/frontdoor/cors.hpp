// Cross-origin requests from browsers (the `cors:` configuration): preflight answers and the
// headers of actual responses. Off by default; TARP clients send no Origin and see no change.
#pragma once

#include <string_view>

#include "config/model.hpp"
#include "http/message.hpp"

namespace pg::frontdoor {

/// Headers for an actual (non-preflight) response: `Vary: Origin` whenever CORS is on, and the
/// allow/expose headers when `origin` is allowed.
void add_cors_headers(const config::Cors& cors, std::string_view origin, http::Headers& out);

/// The answer to OPTIONS: a CORS preflight (Origin + Access-Control-Request-Method) gets 204 with
/// the allow headers, or 403 naming what is not allowed; a plain OPTIONS gets 204 with Allow.
http::Response options_answer(const config::Cors& cors, const http::Request& req);

}  // namespace pg::frontdoor
