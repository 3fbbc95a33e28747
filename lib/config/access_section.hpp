// `access:` (who may call the gateway) and the clients file it names; an endpoint's `allow:`.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "config/fields.hpp"
#include "config/model.hpp"

namespace pg::config {

inline constexpr std::size_t kMaxClientsFileBytes = 1 << 20;
inline constexpr std::size_t kMaxClients = 10000;

/// `access: {clients_file, anonymous, failures}`; reads and checks the clients file (relative to
/// `dir`): `clients:` a list of {name, token_sha256, roles, rate: {per_second, burst}, max_live_jobs}.
void load_access_section(const YAML::Node& node, Fields& f, const std::string& dir, Access& out);
/// The clients file alone (also what a reload re-reads): errors name that file, line and field.
Result<std::vector<AccessClient>> load_clients_file(const std::string& path);
/// An endpoint's `allow:` (a name or a list of names: roles or client names), after `access:`.
void load_endpoint_allow(const YAML::Node& endpoint, const std::string& path, Fields& f, const Access& access,
                         Endpoint& ep);
/// [A-Za-z0-9._@-], 1 to 64 characters: client and role names.
bool valid_access_name(const std::string& name);

}  // namespace pg::config
