// The Pie-client parts of the configuration: each server's `auth:` (token and key secrets, the
// private key itself), the top-level `programs:` (local inferlets), endpoints' `fanout:`.
// Relative file names are resolved against the directory of the config file.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "config/fields.hpp"
#include "config/model.hpp"

namespace pg::config {

/// The directory relative paths in a config from `source` are resolved against ("" for an
/// embedded or in-memory config: the working directory).
std::string config_dir(const std::string& source);
/// `path` as given if absolute, else joined to `dir`.
std::string resolve_path(const std::string& dir, const std::string& path);

/// servers[i].auth: `kind` none | username | token | key, with token_file/token_env, or
/// key_file and an optional passphrase_file/passphrase_env. The key is loaded here.
void load_server_auth(const YAML::Node& auth, const std::string& path, Fields& f, const std::string& dir, PieAuth& out);

/// servers[i].ca_file (wss:// only) after the uri: the TLS context is made here, from ca_file
/// (read and checked) or the system store.
void load_server_tls(const YAML::Node& server, const std::string& path, Fields& f, const std::string& dir, PieServer& s);

/// `programs:` - a list of {wasm, manifest}; both files must be readable and the manifest a
/// Pie.toml with [package] name = "namespace/name" and version.
void load_programs_section(const YAML::Node& list, Fields& f, const std::string& dir, Config& cfg);

/// An endpoint's `fanout:` (`all` or 1..1000; absent = 0, one run), after `content_type`.
void load_endpoint_fanout(const YAML::Node& endpoint, const std::string& path, Fields& f, Endpoint& ep);

/// An endpoint's `input:` (inputs_section.cpp): one {send: message|blob, from: body|param:NAME}
/// or a list of them; checked against the endpoint's kind and parameters.
void load_endpoint_inputs(const YAML::Node& node, const std::string& path, Fields& f, Endpoint& ep);

/// An endpoint's `session:` (kind session only: idle_timeout, max_open, max_duration), and the
/// check that no endpoint takes a route a session endpoint owns (session_section.cpp).
void load_endpoint_session(const YAML::Node& endpoint, const std::string& path, Fields& f, const Config& cfg, Endpoint& ep);

/// An endpoint's `launch_input:` (inputs_section.cpp): a mapping of JSON member names to scalars
/// (JSON values) or templates ("{param}" keeps the param's type; other text is a string).
void load_endpoint_launch_input(const YAML::Node& node, const std::string& path, Fields& f, Endpoint& ep);

/// Whether `ep` targets a Pie 0.5 server (its group, or all servers): then it is marked
/// runs_on_v05 and its inferlet must have a 0.5 name (pie/v05/names.hpp).
void check_endpoint_v05(const YAML::Node& endpoint, const std::string& path, Fields& f, const Config& cfg, Endpoint& ep);

/// `daemons:` - a list of {server, port, inferlet, arguments}; server must be declared above
/// and speak 0.2 (0.5 has no daemons).
void load_daemons_section(const YAML::Node& list, Fields& f, Config& cfg);

}  // namespace pg::config
