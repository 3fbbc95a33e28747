#include "config/fields.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "config/loader.hpp"

namespace pg::config {

void Fields::error(const YAML::Node& node, const std::string& path, const std::string& what) {
  std::string where = source_;
  try {
    auto m = node.Mark();
    if (!m.is_null()) where += ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  } catch (const YAML::Exception&) {
  }
  if (!errors_.empty()) errors_ += "\n";
  errors_ += where + ": " + path + ": " + what;
}

std::string Fields::errors() const { return errors_; }

bool Fields::expect_map(const YAML::Node& node, const std::string& path, std::initializer_list<const char*> allowed) {
  if (!node.IsMap()) {
    error(node, path, "must be a mapping of keys to values");
    return false;
  }
  for (const auto& kv : node) {
    std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      error(kv.first, path + "." + key, "unknown field (expected one of: " + list + ")");
    }
  }
  return true;
}

std::string Fields::str(const YAML::Node& node, const std::string& path) {
  if (!node.IsScalar()) {
    error(node, path, "must be a single value, not a list or mapping");
    return {};
  }
  return node.Scalar();
}

std::string Fields::required_str(const YAML::Node& map, const char* key, const std::string& path) {
  auto n = map[key];
  if (!n) {
    error(map, path + "." + key, "is required");
    return {};
  }
  std::string v = str(n, path + "." + key);
  if (v.empty() && n.IsScalar()) error(n, path + "." + key, "must not be empty");
  return v;
}

long long Fields::integer(const YAML::Node& map, const char* key, const std::string& path, long long dflt,
                          long long min, long long max) {
  auto n = map[key];
  if (!n) return dflt;
  std::string text = str(n, path + "." + key);
  if (text.empty()) return dflt;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno || end != text.c_str() + text.size() || v < min || v > max) {
    error(n, path + "." + key,
          "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max) + " (got '" + text + "')");
    return dflt;
  }
  return v;
}

bool Fields::boolean(const YAML::Node& map, const char* key, const std::string& path, bool dflt) {
  auto n = map[key];
  if (!n) return dflt;
  std::string v = str(n, path + "." + key);
  if (v == "true") return true;
  if (v == "false") return false;
  error(n, path + "." + key, "must be true or false (got '" + v + "')");
  return dflt;
}

Duration Fields::duration(const YAML::Node& map, const char* key, const std::string& path, Duration dflt) {
  auto n = map[key];
  if (!n) return dflt;
  auto d = parse_duration(str(n, path + "." + key));
  if (!d) {
    error(n, path + "." + key, d.error());
    return dflt;
  }
  return *d;
}

Duration Fields::duration(const YAML::Node& map, const char* key, const std::string& path, Duration dflt,
                          Duration min, Duration max) {
  const Duration d = duration(map, key, path, Duration(-1));
  if (d.count() < 0) return dflt;  // absent, or invalid (reported)
  if (d < min || d > max) {
    error(map[key], path + "." + key,
          "must be from " + format_duration(min) + " to " + format_duration(max) + " (got '" + map[key].Scalar() + "')");
    return dflt;
  }
  return d;
}

std::string format_duration(Duration d) {
  const auto ms = d.count();
  if (ms == 0) return "0s";
  if (ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
  if (ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

namespace {
Result<std::uint16_t> parse_port(const std::string& text, bool allow_zero) {
  if (text.empty() || text.size() > 5 || !std::all_of(text.begin(), text.end(), ::isdigit))
    return make_error("invalid port '" + text + "'");
  int p = std::stoi(text);
  if (p > 65535 || (p == 0 && !allow_zero)) return make_error("port " + text + " is out of range");
  return static_cast<std::uint16_t>(p);
}

Result<std::pair<std::string, std::string>> split_host_port(const std::string& text) {
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return make_error("expected [ipv6]:port, got '" + text + "'");
    return std::pair{text.substr(1, close - 1), text.substr(close + 2)};
  }
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return make_error("expected host:port, got '" + text + "'");
  return std::pair{text.substr(0, colon), text.substr(colon + 1)};
}
}  // namespace

Result<ListenAddress> parse_host_port(const std::string& text) {
  auto hp = split_host_port(text);
  if (!hp) return make_error(hp.error());
  auto port = parse_port(hp->second, true);
  if (!port) return make_error(port.error());
  return ListenAddress{hp->first, *port};
}

Result<WsUri> parse_ws_uri(const std::string& uri) {
  const bool tls = uri.rfind("wss://", 0) == 0;
  if (!tls && uri.rfind("ws://", 0) != 0) return make_error("must start with ws:// or wss:// (got '" + uri + "')");
  std::string rest = uri.substr(tls ? 6 : 5);
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
  auto hp = split_host_port(authority);
  if (!hp) return make_error("must name host and port, e.g. ws://127.0.0.1:9123/ (got '" + uri + "')");
  auto port = parse_port(hp->second, false);
  if (!port) return make_error(port.error());
  return WsUri{hp->first, *port, path, tls};
}

bool valid_endpoint_name(const std::string& name) {
  if (name.empty() || name.front() == '/' || name.back() == '/' || name.find("//") != std::string::npos) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '/'; });
}

}  // namespace pg::config
