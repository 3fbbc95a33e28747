// A TARP HTTP request's named values, as the built-in routes read them.
#pragma once

#include <string>

#include "common/result.hpp"
#include "endpoints/registry.hpp"
#include "http/message.hpp"

namespace pg::frontdoor {

/// Query parameters plus, for a non-empty body (with `with_body`), its JSON-object or form fields.
Result<endpoints::Params> request_params(const http::Request& req, bool with_body = true);

/// The one value of a parameter that must be given once; "" when absent.
Result<std::string> single(const endpoints::Params& params, const std::string& name);

}  // namespace pg::frontdoor
