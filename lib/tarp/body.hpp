// Request bodies as parameters for web-like endpoints, decoded by Content-Type the way
// TARP servers do (JSON object or form fields). Other bodies are refused with a reason.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace pg::tarp {

/// "application/json; charset=utf-8" -> "application/json" (lowercased, parameters dropped).
std::string media_type(std::string_view content_type);

/// At most this many parameters in a body (endpoints take as many arguments at most).
inline constexpr std::size_t kMaxBodyParams = 4096;

/// Named values from a body: a JSON object (scalars only; null = absent) or a form, of at most
/// kMaxBodyParams members (more: an error naming the expansion limit, answered 413).
Result<std::vector<std::pair<std::string, std::string>>> body_params(std::string_view content_type, std::string_view body);

}  // namespace pg::tarp
