// The cluster parts of the configuration: per-server balancing fields (weight, max_instances,
// max_message_bytes, labels), `groups:`, the `cluster:` knobs, and each endpoint's `group:` and `idempotent:`.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "config/fields.hpp"
#include "config/model.hpp"

namespace pg::config {

/// Keys a server entry takes besides the basic ones (for expect_map).
#define PG_SERVER_CLUSTER_KEYS "weight", "max_instances", "labels", "max_message_bytes"

void load_server_cluster_fields(const YAML::Node& server, const std::string& path, Fields& f, PieServer& s);
void load_cluster_settings(const YAML::Node& node, Fields& f, ClusterSettings& c);
/// `groups:` after `servers:` (groups name servers). Endpoints' `group:` are checked later.
void load_groups(const YAML::Node& node, Fields& f, Config& cfg);
/// `group:` must name a group of `cfg` (loaded before endpoints); `all` = every server.
void load_endpoint_cluster_fields(const YAML::Node& endpoint, const std::string& path, Fields& f, const Config& cfg,
                                  Endpoint& ep);
/// Names of the servers in `group` ("" or "all" = every server), in config order.
std::vector<std::string> group_members(const ClusterConfig& c, const std::string& group);

}  // namespace pg::config
