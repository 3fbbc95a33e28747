// Reading the configuration's YAML strictly: exactly one document, no key twice in a mapping
// (yaml-cpp would silently keep the first), bounded nesting and size (alias bombs). Errors are
// "<file>:<line>:<column>: <field path>: <what>", like every other config error.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <string>

#include "common/result.hpp"

namespace pg::config {

inline constexpr std::size_t kMaxConfigFileBytes = 4 * 1024 * 1024;
inline constexpr int kMaxYamlDepth = 64;             // mappings and lists inside each other
inline constexpr std::size_t kMaxYamlNodes = 200000;  // visited, aliases counted each time they are used

/// The one document of `text`, or every problem found.
Result<YAML::Node> parse_yaml_document(const std::string& text, const std::string& source);

}  // namespace pg::config
