#include "http/framing.hpp"

#include <strings.h>

#include <algorithm>
#include <vector>

namespace pg::http {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// The comma-separated elements of every `name` field, in order (empty elements dropped).
std::vector<std::string_view> elements(const Headers& fields, std::string_view name, std::size_t& lines) {
  std::vector<std::string_view> out;
  lines = 0;
  for (const auto& [k, v] : fields) {
    if (!iequals(k, name)) continue;
    ++lines;
    std::string_view rest = v;
    while (true) {
      auto comma = rest.find(',');
      auto e = trim(rest.substr(0, comma));
      if (!e.empty()) out.push_back(e);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return out;
}

Refusal bad(std::string message) { return Refusal{400, "BadRequest", std::move(message)}; }

std::string shown(std::string_view s) { return std::string(s.substr(0, 100)); }

}  // namespace

std::optional<Refusal> check_framing(unsigned minor, const Headers& fields) {
  std::size_t te_lines = 0, cl_lines = 0, host_lines = 0;
  const auto codings = elements(fields, "Transfer-Encoding", te_lines);
  const auto lengths = elements(fields, "Content-Length", cl_lines);
  elements(fields, "Host", host_lines);
  if (cl_lines > 1 || lengths.size() > 1) return bad("Content-Length is given more than once");
  if (te_lines > 0) {
    if (minor == 0) return bad("Transfer-Encoding is not allowed on an HTTP/1.0 request");
    if (cl_lines > 0) return bad("a request cannot have both Transfer-Encoding and Content-Length");
    if (codings.empty()) return bad("Transfer-Encoding is empty");
    auto name = [](std::string_view c) { return trim(c.substr(0, c.find(';'))); };
    if (!iequals(codings.back(), "chunked"))
      return bad(iequals(name(codings.back()), "chunked") ? "chunked takes no parameters"
                                                         : "the final Transfer-Encoding must be chunked (got '" +
                                                               shown(codings.back()) + "')");
    if (codings.size() > 1)  // anything before the final chunked: gzip and such are not decoded here
      return bad(iequals(name(codings[0]), "chunked")
                     ? "chunked may only be given once, as the final Transfer-Encoding"
                     : "unsupported transfer coding '" + shown(codings[0]) + "' (only chunked is)");
  }
  if (host_lines > 1) return bad("more than one Host header");
  if (host_lines == 0 && minor >= 1) return bad("an HTTP/1.1 request must have a Host header");
  return std::nullopt;
}

Result<Target> split_target(std::string_view target) {
  Target t;
  std::string_view rest = target;
  if (target == "*") {
    t.path = "*";
    return t;
  }
  if (rest.empty() || rest.front() != '/') {
    auto sep = rest.find("://");
    auto scheme = sep == std::string_view::npos ? std::string_view{} : rest.substr(0, sep);
    if (!iequals(scheme, "http") && !iequals(scheme, "https"))
      return make_error("the request target '" + shown(target) + "' is neither a path nor an http:// URL");
    rest.remove_prefix(sep + 3);
    auto end = rest.find_first_of("/?#");
    t.authority = std::string(rest.substr(0, end));
    if (t.authority.empty() || t.authority.find('@') != std::string::npos)
      return make_error("the request target '" + shown(target) + "' must name a host (and no user)");
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    if (!rest.empty() && rest.front() == '#') rest = {};
  }
  auto q = rest.find('?');
  t.path = rest.substr(0, q);
  if (t.path.empty()) t.path = "/";  // "http://host?x=1" is "/?x=1"
  if (q != std::string_view::npos) t.query = std::string(rest.substr(q + 1));
  return t;
}

}  // namespace pg::http
