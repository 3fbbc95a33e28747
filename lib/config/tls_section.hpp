// `tls:` - the certificate, key and client CA bundle of the gateway's own listeners.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "config/fields.hpp"
#include "config/model.hpp"

namespace pg::config {

/// {cert_file, key_file, key_password_file?, client_ca_file?, require_client_cert?}: paths
/// relative to `dir`; the files are loaded and checked here (tls/material.hpp), each problem
/// reported on the field whose file it is.
void load_tls_section(const YAML::Node& node, Fields& f, const std::string& dir, Config& cfg);

}  // namespace pg::config
