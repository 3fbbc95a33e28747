// The browser-facing parts of the configuration: `cors:`, `listen.allowed_hosts` and each
// endpoint's raw result (`content_type:`, and `result: blob`).
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "config/fields.hpp"
#include "config/model.hpp"

namespace pg::config {

/// `cors:` {allowed_origins, allowed_methods, allowed_headers, exposed_headers, max_age}.
void load_cors_section(const YAML::Node& node, Fields& f, Cors& out);

/// `listen.allowed_hosts`: a non-empty list of "*" or host[:port] (names, IPv4, [IPv6]).
void load_allowed_hosts(const YAML::Node& node, Fields& f, Config& cfg);

/// An endpoint's `content_type:` (after its kind, result and result_format are known): a MIME
/// type without control characters; get/post only; not with result_format json.
void load_endpoint_content_type(const YAML::Node& endpoint, const std::string& path, Fields& f, Endpoint& ep);

}  // namespace pg::config
