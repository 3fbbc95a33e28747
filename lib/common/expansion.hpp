// The expansion limit: how large a call may grow once its body is decoded (pickle memo
// references, templates, {*args}) and built into the messages sent to Pie. It is a few times
// the request body limit, so that a small body can never turn into a large launch. Errors over
// it contain kExpansionLimit, which front doors answer 413 (gRPC RESOURCE_EXHAUSTED).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pg {

/// The expansion limit is this many times limits.max_body_bytes.
inline constexpr std::size_t kExpansionFactor = 4;
inline constexpr std::size_t kDefaultExpansionLimit = kExpansionFactor << 20;  // 4 x the default 1 MiB body limit

/// Every error about the expansion limit names it with these words.
inline constexpr std::string_view kExpansionLimit = "the expansion limit";

/// "(the expansion limit, 4 x limits.max_body_bytes)": the limit named in error texts.
inline std::string expansion_limit_name() {
  return "(" + std::string(kExpansionLimit) + ", " + std::to_string(kExpansionFactor) + " x limits.max_body_bytes)";
}

/// The message reports a value or call over the expansion limit (answered 413, not 400).
inline bool over_expansion_limit(std::string_view error) { return error.find(kExpansionLimit) != std::string_view::npos; }

}  // namespace pg
