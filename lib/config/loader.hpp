// YAML -> config::Config with validation. Every problem is reported as
// "<file>:<line>:<column>: <field path>: <what is wrong>", one per line, all at once.
#pragma once

#include <string>

#include "common/result.hpp"
#include "config/model.hpp"

namespace pg::config {

/// Parse and validate YAML text; `source` names it in error messages.
Result<Config> load_string(const std::string& yaml, const std::string& source);
/// Read and validate a file.
Result<Config> load_file(const std::string& path);

/// "30s", "500ms", "2m", "1h", or a bare number of seconds ("1.5").
Result<Duration> parse_duration(const std::string& text);

}  // namespace pg::config
