#include "config/browser_section.hpp"

#include <algorithm>
#include <cctype>

#include "http/hosts.hpp"

namespace pg::config {

namespace {

/// An HTTP token (RFC 9110: header names, methods).
bool is_token(const std::string& s) {
  static const std::string kExtra = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || kExtra.find(static_cast<char>(c)) != std::string::npos;
  });
}

/// "scheme://host[:port]" as browsers send it in Origin (no path, no trailing slash).
bool is_origin(const std::string& s) {
  auto sep = s.find("://");
  if (sep == std::string::npos || sep == 0 || sep + 3 >= s.size()) return false;
  for (std::size_t i = 0; i < sep; ++i)
    if (!std::isalnum(static_cast<unsigned char>(s[i])) && s[i] != '+' && s[i] != '-' && s[i] != '.') return false;
  for (std::size_t i = sep + 3; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c <= ' ' || c >= 0x7f || c == '/' || c == '?' || c == '#' || c == '@' || c == ',') return false;
  }
  return true;
}

/// A list of scalars (a single scalar is taken as a one-item list), each with its node for errors.
std::vector<std::pair<std::string, YAML::Node>> string_list(const YAML::Node& n, const std::string& path, Fields& f) {
  std::vector<std::pair<std::string, YAML::Node>> out;
  if (n.IsScalar()) {
    out.emplace_back(n.Scalar(), n);
  } else if (n.IsSequence()) {
    for (std::size_t i = 0; i < n.size(); ++i) out.emplace_back(f.str(n[i], path + "[" + std::to_string(i) + "]"), n[i]);
  } else {
    f.error(n, path, "must be a list of strings");
  }
  return out;
}

std::vector<std::string> values(const std::vector<std::pair<std::string, YAML::Node>>& list) {
  std::vector<std::string> out;
  for (const auto& [v, node] : list) out.push_back(v);
  return out;
}

}  // namespace

void load_cors_section(const YAML::Node& node, Fields& f, Cors& out) {
  if (!f.expect_map(node, "cors", {"allowed_origins", "allowed_methods", "allowed_headers", "exposed_headers", "max_age"}))
    return;
  if (auto n = node["allowed_origins"]) {
    auto list = string_list(n, "cors.allowed_origins", f);
    out.allowed_origins = values(list);
    for (const auto& [o, at] : list)
      if (o != "*" && !is_origin(o))
        f.error(at, "cors.allowed_origins",
                "'" + o + "' is not an origin: use \"*\" or scheme://host[:port] as browsers send it (no path, no trailing slash)");
  }
  if (auto n = node["allowed_methods"]) {
    auto list = string_list(n, "cors.allowed_methods", f);
    out.allowed_methods = values(list);
    for (const auto& [m, at] : list)
      if (m != "GET" && m != "POST")
        f.error(at, "cors.allowed_methods", "'" + m + "' is not a method the gateway answers (GET, POST)");
  }
  for (auto [key, into] : {std::pair{"allowed_headers", &out.allowed_headers}, std::pair{"exposed_headers", &out.exposed_headers}}) {
    auto n = node[key];
    if (!n) continue;
    std::string path = std::string("cors.") + key;
    auto list = string_list(n, path, f);
    *into = values(list);
    for (const auto& [h, at] : list)
      if (!is_token(h) || (h == "*" && into == &out.exposed_headers))
        f.error(at, path, "'" + h + "' is not a header name" + (into == &out.allowed_headers ? " (or \"*\")" : ""));
  }
  out.max_age = f.duration(node, "max_age", "cors", out.max_age);
  if (out.max_age > std::chrono::hours(24)) f.error(node["max_age"], "cors.max_age", "must be at most 24h");
}

void load_allowed_hosts(const YAML::Node& node, Fields& f, Config& cfg) {
  auto list = string_list(node, "listen.allowed_hosts", f);
  if (node.IsSequence() && list.empty())
    f.error(node, "listen.allowed_hosts", "must list at least one Host value (\"*\" allows every one)");
  for (const auto& [h, at] : list) {
    if (h == "*") continue;
    auto parsed = http::parse_host(h);
    if (!parsed)
      f.error(at, "listen.allowed_hosts",
              parsed.error() + ": use a host name, an IPv4 address or an [IPv6] address, with an optional :port");
  }
  cfg.allowed_hosts = values(list);
}

void load_endpoint_content_type(const YAML::Node& endpoint, const std::string& path, Fields& f, Endpoint& ep) {
  const auto n = endpoint["content_type"];
  const bool raw_kind = ep.kind == EndpointKind::Get || ep.kind == EndpointKind::Post;
  if (ep.result == ResultSource::Blob && ep.format == ResultFormat::Json)
    f.error(endpoint["result_format"], path + ".result_format", "a blob result is bytes, not JSON text");
  if (!n) {
    if (ep.result == ResultSource::Blob && raw_kind) ep.content_type = "application/octet-stream";
    return;
  }
  ep.content_type = f.str(n, path + ".content_type");
  auto slash = ep.content_type.find('/');
  bool ok = slash != std::string::npos && slash > 0 && slash + 1 < ep.content_type.size() &&
            std::none_of(ep.content_type.begin(), ep.content_type.end(),
                         [](unsigned char c) { return c < ' ' || c == 0x7f; });
  if (!ok) f.error(n, path + ".content_type", "'" + ep.content_type + "' is not a MIME type like image/png");
  if (!raw_kind)
    f.error(n, path + ".content_type", "rpc and asyncrpc endpoints answer pickles; content_type is for get and post");
  if (ep.format == ResultFormat::Json)
    f.error(n, path + ".content_type", "a raw result cannot also be parsed as JSON (drop result_format: json)");
}

}  // namespace pg::config
