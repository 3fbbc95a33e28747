// Endpoints of kind session (conversations): the `session:` knobs, and the routes the kind
// owns (NAME/open, NAME/send, NAME/close and NAME_open, ...), which no other endpoint may take.
#include <array>

#include "config/pie_client_sections.hpp"

namespace pg::config {

namespace {

constexpr std::array<const char*, 3> kVerbs = {"open", "send", "close"};

/// `a` is one of the routes session endpoint `s` owns.
bool owned_route(const std::string& s, const std::string& a) {
  for (const char* v : kVerbs)
    if (a == s + "/" + v || a == s + "_" + v) return true;
  return false;
}

}  // namespace

void load_endpoint_session(const YAML::Node& n, const std::string& path, Fields& f, const Config& cfg, Endpoint& ep) {
  auto s = n["session"];
  if (!ep.is_session()) {
    if (s) f.error(s, path + ".session", "only endpoints of kind session take 'session'");
  } else {
    const std::string spath = path + ".session";
    if (s && f.expect_map(s, spath, {"idle_timeout", "max_open", "max_duration"})) {
      using namespace std::chrono_literals;
      ep.session.idle_timeout = f.duration(s, "idle_timeout", spath, ep.session.idle_timeout, 100ms, 7 * 24h);
      ep.session.max_open = static_cast<std::size_t>(f.integer(s, "max_open", spath, 100, 1, 100000));
      ep.session.max_duration = f.duration(s, "max_duration", spath, ep.session.max_duration, 1s, 7 * 24h);
    }
    // A conversation answers messages, not a result: these keys would be silently ignored.
    for (const char* key : {"result", "result_format", "async", "fanout", "content_type", "idempotent"})
      if (n[key]) f.error(n[key], path + "." + key, "an endpoint of kind session does not take '" + std::string(key) + "'");
  }
  for (const auto& other : cfg.endpoints) {
    if (ep.name.empty()) break;
    if ((ep.is_session() && owned_route(ep.name, other.name)) || (other.is_session() && owned_route(other.name, ep.name)))
      f.error(n["name"], path + ".name",
              "endpoint '" + ep.name + "' clashes with the routes of session endpoint '" +
                  (ep.is_session() ? ep.name : other.name) + "' (NAME/open, NAME/send, NAME/close; line " +
                  std::to_string(ep.is_session() ? ep.line : other.line) + ")");
  }
}

}  // namespace pg::config
