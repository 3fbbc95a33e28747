// Cross-origin requests from browsers (the `cors:` configuration): preflight answers and the
// headers of actual responses. Off by default; TARP clients send no Origin and see no change.
#pragma once

#include <optional>
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

/// Browsers on the LAN are attackers too: a state-changing request (any method but GET and
/// OPTIONS; HEAD reads as GET) that a browser sent from another site gets 403 naming why, unless
/// its Origin is in cors.allowed_origins. "Another site" is `Sec-Fetch-Site: cross-site` or
/// `same-site`, or an Origin whose host and port are not the request's Host. A text/plain, form
/// or multipart POST needs no preflight, so this is what stops a web page from launching or
/// cancelling work. Requests without Origin and Sec-Fetch-Site (curl, TARP clients) pass.
std::optional<http::Response> cross_site_refusal(const config::Cors& cors, const http::Request& req);

}  // namespace pg::frontdoor
