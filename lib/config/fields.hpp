// Typed access to YAML nodes that records errors with file, line, column and field path.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <string>
#include <tuple>

#include "common/result.hpp"
#include "config/model.hpp"

namespace pg::config {

class Fields {
 public:
  explicit Fields(std::string source) : source_(std::move(source)) {}

  void error(const YAML::Node& node, const std::string& path, const std::string& what);
  bool ok() const { return errors_.empty(); }
  /// Add errors already formatted by another Fields (a file the config names).
  void append(const std::string& errors) {
    if (errors.empty()) return;
    if (!errors_.empty()) errors_ += "\n";
    errors_ += errors;
  }
  std::string errors() const;

  /// The node must be a map whose keys are all in `allowed`; reports each unknown key.
  bool expect_map(const YAML::Node& node, const std::string& path, std::initializer_list<const char*> allowed);
  /// A scalar as text ("" and an error otherwise).
  std::string str(const YAML::Node& node, const std::string& path);
  std::string required_str(const YAML::Node& map, const char* key, const std::string& path);
  long long integer(const YAML::Node& map, const char* key, const std::string& path, long long dflt, long long min,
                    long long max);
  Duration duration(const YAML::Node& map, const char* key, const std::string& path, Duration dflt);
  /// A duration from `min` to `max` (the error states the range); `dflt` if absent or invalid.
  Duration duration(const YAML::Node& map, const char* key, const std::string& path, Duration dflt, Duration min,
                    Duration max);
  /// `true` or `false` (YAML's other spellings are refused: they surprise people).
  bool boolean(const YAML::Node& map, const char* key, const std::string& path, bool dflt);

 private:
  std::string source_;
  std::string errors_;
};

/// 1500 ms -> "1500ms", 60000 -> "1m", 0 -> "0s": the form parse_duration reads.
std::string format_duration(Duration d);

/// "host:port" or "[v6]:port" -> ListenAddress.
Result<ListenAddress> parse_host_port(const std::string& text);
/// A Pie server's address: "ws://host:port/path", or "wss://..." (tls).
struct WsUri {
  std::string host;  // an IPv6 literal without its brackets
  std::uint16_t port = 0;
  std::string path = "/";
  bool tls = false;
};
Result<WsUri> parse_ws_uri(const std::string& uri);
/// Endpoint names: parts of [A-Za-z0-9_-] separated by single '/'.
bool valid_endpoint_name(const std::string& name);

}  // namespace pg::config
