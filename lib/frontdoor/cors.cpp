#include "frontdoor/cors.hpp"

#include <strings.h>

#include <algorithm>

#include "http/hosts.hpp"
#include "tarp/body.hpp"
#include "tarp/envelope.hpp"

namespace pg::frontdoor {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool listed(const std::vector<std::string>& list, std::string_view v) {
  return std::any_of(list.begin(), list.end(), [&](const std::string& s) { return iequals(s, v); });
}

std::string join(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& s : list) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// The Access-Control-Allow-Origin value for `origin`, or "" when it is not allowed.
std::string allow_origin(const config::Cors& c, std::string_view origin) {
  if (origin.empty()) return {};
  if (listed(c.allowed_origins, origin)) return std::string(origin);
  if (listed(c.allowed_origins, "*")) return "*";
  return {};
}

http::Response refused(std::string message) {
  auto r = tarp::error(403, "CorsRefused", message);
  r.headers.emplace_back("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
  return r;
}

/// Whether `origin` (scheme://host[:port]) names this gateway as the request does (its Host):
/// same host and port, the scheme's default port standing in for a missing one. The scheme
/// itself is not compared: behind a TLS proxy the page is https and the gateway plain http.
bool same_origin(std::string_view origin, std::string_view host) {
  auto sep = origin.find("://");
  if (sep == std::string_view::npos || host.empty()) return false;
  auto scheme = origin.substr(0, sep);
  std::uint16_t default_port = iequals(scheme, "http") ? 80 : iequals(scheme, "https") ? 443 : 0;
  if (default_port == 0) return false;
  auto a = http::parse_host(origin.substr(sep + 3));
  auto b = http::parse_host(host);
  return a && b && a->host == b->host && a->port.value_or(default_port) == b->port.value_or(default_port);
}

/// The Content-Types a browser sends cross-site without a preflight (CORS "simple" requests).
bool simple_content_type(std::string_view content_type) {
  auto type = tarp::media_type(content_type);
  return type == "text/plain" || type == "application/x-www-form-urlencoded" || type == "multipart/form-data";
}

}  // namespace

std::optional<http::Response> cross_site_refusal(const config::Cors& c, const http::Request& req) {
  if (req.method == "GET" || req.method == "OPTIONS") return std::nullopt;
  const auto origin = req.header("Origin");
  if (!allow_origin(c, origin).empty()) return std::nullopt;  // listed in cors.allowed_origins
  const auto site = req.header("Sec-Fetch-Site");
  const std::string from = origin.empty() ? std::string("another site") : "origin '" + std::string(origin.substr(0, 200)) + "'";
  const std::string what = simple_content_type(req.header("Content-Type"))
                               ? "a cross-site " + std::string(req.method) + " with a form or text/plain body"
                               : "a cross-site " + std::string(req.method);
  std::string why;
  if (iequals(site, "cross-site") || iequals(site, "same-site")) {
    why = what + " (Sec-Fetch-Site: " + std::string(site) + ") from " + from;
  } else if (!origin.empty() && !same_origin(origin, req.header("Host"))) {
    why = what + " from " + from + ", which is not this gateway's own";
  } else {
    return std::nullopt;
  }
  return tarp::error(403, "CrossSiteRefused",
                     why + ": state-changing routes refuse it unless the origin is in cors.allowed_origins");
}

void add_cors_headers(const config::Cors& c, std::string_view origin, http::Headers& out) {
  if (!c.enabled()) return;
  out.emplace_back("Vary", "Origin");
  auto allow = allow_origin(c, origin);
  if (allow.empty()) return;
  out.emplace_back("Access-Control-Allow-Origin", std::move(allow));
  if (!c.exposed_headers.empty()) out.emplace_back("Access-Control-Expose-Headers", join(c.exposed_headers));
}

http::Response options_answer(const config::Cors& c, const http::Request& req) {
  const auto origin = req.header("Origin");
  const auto method = req.header("Access-Control-Request-Method");
  if (origin.empty() || method.empty()) {
    http::Response r;
    r.status = 204;
    r.headers.emplace_back("Allow", "GET, POST, OPTIONS");
    add_cors_headers(c, origin, r.headers);
    return r;
  }
  if (!c.enabled()) return refused("cross-origin requests are not enabled on this gateway (see cors: in its configuration)");
  auto allow = allow_origin(c, origin);
  if (allow.empty()) return refused("origin '" + std::string(origin) + "' is not in cors.allowed_origins");
  if (!listed(c.allowed_methods, method))
    return refused("method '" + std::string(method) + "' is not in cors.allowed_methods (" + join(c.allowed_methods) + ")");
  const bool any_header = listed(c.allowed_headers, "*");
  std::string_view wanted = req.header("Access-Control-Request-Headers");
  while (!wanted.empty() && !any_header) {
    auto comma = wanted.find(',');
    auto name = trim(wanted.substr(0, comma));
    wanted = comma == std::string_view::npos ? std::string_view{} : wanted.substr(comma + 1);
    if (!name.empty() && !listed(c.allowed_headers, name))
      return refused("header '" + std::string(name) + "' is not in cors.allowed_headers (" + join(c.allowed_headers) + ")");
  }
  http::Response r;
  r.status = 204;
  r.headers.emplace_back("Access-Control-Allow-Origin", std::move(allow));
  r.headers.emplace_back("Access-Control-Allow-Methods", join(c.allowed_methods));
  auto headers = any_header ? std::string(req.header("Access-Control-Request-Headers")) : join(c.allowed_headers);
  if (!headers.empty()) r.headers.emplace_back("Access-Control-Allow-Headers", std::move(headers));
  r.headers.emplace_back("Access-Control-Max-Age",
                         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(c.max_age).count()));
  r.headers.emplace_back("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
  return r;
}

}  // namespace pg::frontdoor
