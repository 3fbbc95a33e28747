// JSON request bodies (RPC bodies, JSON parameters) parsed with a bound on their nesting:
// nlohmann's DOM takes any depth, and a body of a million '[' would cost tens of MB.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace pg::tarp {

inline constexpr int kMaxJsonBodyDepth = 64;

/// The parsed body, or `what` + " is not valid JSON" / "... is nested deeper than 64 levels".
inline Result<nlohmann::json> parse_json_body(std::string_view body, const std::string& what) {
  bool too_deep = false;
  const nlohmann::json::parser_callback_t cb = [&too_deep](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (depth > kMaxJsonBodyDepth) too_deep = true;
    return !too_deep;  // once too deep, nothing more is kept
  };
  auto j = nlohmann::json::parse(body, cb, false);
  if (too_deep) return make_error(what + " is nested deeper than " + std::to_string(kMaxJsonBodyDepth) + " levels");
  if (j.is_discarded()) return make_error(what + " is not valid JSON");
  return j;
}

}  // namespace pg::tarp
