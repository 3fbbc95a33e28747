#include "config/loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

#include "common/bounded_file.hpp"
#include "config/access_section.hpp"
#include "config/browser_section.hpp"
#include "config/cluster_section.hpp"
#include "config/fields.hpp"
#include "config/pie_client_sections.hpp"
#include "config/tls_section.hpp"
#include "config/yaml_document.hpp"
#include "endpoints/arg_template.hpp"
#include "endpoints/registry.hpp"

namespace pg::config {

using namespace std::chrono_literals;

const char* to_string(ParamType t) {
  switch (t) {
    case ParamType::String: return "string";
    case ParamType::Int: return "int";
    case ParamType::Float: return "float";
    case ParamType::Bool: return "bool";
  }
  return "?";
}
const char* to_string(EndpointKind k) {
  switch (k) {
    case EndpointKind::Get: return "get";
    case EndpointKind::Post: return "post";
    case EndpointKind::Rpc: return "rpc";
    case EndpointKind::AsyncRpc: return "asyncrpc";
    case EndpointKind::Session: return "session";
  }
  return "?";
}
const char* to_string(ResultSource r) {
  switch (r) {
    case ResultSource::Return: return "return";
    case ResultSource::Stdout: return "stdout";
    case ResultSource::Blob: return "blob";
    case ResultSource::Messages: return "messages";
    case ResultSource::LastMessage: return "last_message";
  }
  return "?";
}

Result<Duration> parse_duration(const std::string& text) {
  static const std::pair<const char*, double> kUnits[] = {{"ms", 1.0}, {"s", 1000.0}, {"m", 60000.0}, {"h", 3600000.0}};
  std::string num = text;
  double scale = 1000.0;
  for (const auto& [suffix, mult] : kUnits) {
    std::string s(suffix);
    if (text.size() > s.size() && text.compare(text.size() - s.size(), s.size(), s) == 0 &&
        (s != "s" || text.compare(text.size() - 2, 2, "ms") != 0)) {
      num = text.substr(0, text.size() - s.size());
      scale = mult;
      break;
    }
  }
  char* end = nullptr;
  double v = std::strtod(num.c_str(), &end);
  if (num.empty() || end != num.c_str() + num.size() || !std::isfinite(v) || v < 0 || v * scale > 1e12)
    return make_error("invalid duration '" + text + "' (use e.g. 500ms, 30s, 2m)");
  return Duration(static_cast<std::int64_t>(std::llround(v * scale)));
}

namespace {

/// `identity:` of a 0.5 server: "tenant/user" or "user" (= "default/user"); "" if invalid.
std::string identity_error(const std::string& id) {
  if (id.empty() || id.size() > 128) return "must be 1 to 128 characters (tenant/user, or user)";
  for (char c : id)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      return "must be printable ASCII without spaces (got '" + id + "')";
  const auto slash = id.find('/');
  if (slash != std::string::npos && id.find('/', slash + 1) != std::string::npos)
    return "must be tenant/user with at most one '/' (got '" + id + "')";
  if (slash == id.size() - 1) return "has an empty user part (got '" + id + "'; write tenant/user, or user)";
  if (slash == 0) return "has an empty tenant part (got '" + id + "'; write tenant/user, or user for tenant default)";
  return {};
}

void load_server_protocol(const YAML::Node& n, const std::string& path, Fields& f, PieServer& s) {
  if (auto p = n["protocol"]) {
    const std::string v = f.str(p, path + ".protocol");
    if (v == "0.2") s.protocol = PieServer::Protocol::V02;
    else if (v == "0.5") s.protocol = PieServer::Protocol::V05;
    else if (p.IsScalar()) f.error(p, path + ".protocol", "must be \"0.2\" or \"0.5\" (got '" + v + "')");
  }
  if (auto id = n["identity"]) {
    const std::string v = f.str(id, path + ".identity");
    if (s.protocol != PieServer::Protocol::V05) {
      f.error(id, path + ".identity", "only for protocol 0.5 servers (the x-pie-identity header); this one speaks 0.2");
    } else if (id.IsScalar()) {
      if (auto why = identity_error(v); !why.empty()) f.error(id, path + ".identity", why);
      else s.identity = v.find('/') == std::string::npos ? "default/" + v : v;
    }
  }
  if (s.protocol == PieServer::Protocol::V05) {
    if (s.path.empty() || s.path == "/") s.path = "/v1/ws";  // the 0.5 edge's route
    s.max_instances = PieServer::kDefaultMaxInstancesV05;  // unless max_instances says otherwise
  }
}

void load_server(const YAML::Node& n, const std::string& path, Fields& f, Config& cfg) {
  if (!f.expect_map(n, path, {"name", "uri", "protocol", "identity", "auth", "ca_file", "sessions", "connect_timeout",
                              "request_timeout", PG_SERVER_CLUSTER_KEYS}))
    return;
  PieServer s;
  s.name = f.required_str(n, "name", path);
  s.uri = f.required_str(n, "uri", path);
  if (!s.uri.empty()) {
    auto parsed = parse_ws_uri(s.uri);
    if (!parsed) f.error(n["uri"], path + ".uri", parsed.error());
    else {
      s.host = parsed->host;
      s.port = parsed->port;
      s.path = parsed->path;
      s.tls = parsed->tls;
    }
  }
  load_server_protocol(n, path, f, s);  // after uri: sets the 0.5 path default
  if (auto a = n["auth"]) load_server_auth(a, path + ".auth", f, config_dir(cfg.source), s.auth);
  load_server_tls(n, path, f, config_dir(cfg.source), s);
  s.sessions = static_cast<unsigned>(f.integer(n, "sessions", path, s.sessions, 1, 256));
  s.connect_timeout = f.duration(n, "connect_timeout", path, s.connect_timeout, 50ms, 10min);
  s.request_timeout = f.duration(n, "request_timeout", path, s.request_timeout, 100ms, 1h);
  load_server_cluster_fields(n, path, f, s);
  for (const auto& other : cfg.servers)
    if (!s.name.empty() && other.name == s.name) f.error(n["name"], path + ".name", "duplicate server name '" + s.name + "'");
  cfg.servers.push_back(std::move(s));
}

void load_params(const YAML::Node& list, const std::string& path, Fields& f, Endpoint& ep) {
  if (!list.IsSequence()) {
    f.error(list, path, "must be a list of parameters");
    return;
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& n = list[i];
    std::string ppath = path + "[" + std::to_string(i) + "]";
    if (!f.expect_map(n, ppath, {"name", "description", "type", "default"})) continue;
    Param p;
    p.name = f.required_str(n, "name", ppath);
    if (!p.name.empty() && !endpoints::valid_param_name(p.name))
      f.error(n["name"], ppath + ".name", "'" + p.name + "' is not a valid name (letters, digits, _)");
    if (n["description"]) p.description = f.str(n["description"], ppath + ".description");
    if (auto t = n["type"]) {
      std::string type = f.str(t, ppath + ".type");
      if (type == "string") p.type = ParamType::String;
      else if (type == "int") p.type = ParamType::Int;
      else if (type == "float") p.type = ParamType::Float;
      else if (type == "bool") p.type = ParamType::Bool;
      else f.error(t, ppath + ".type", "must be one of string, int, float, bool (got '" + type + "')");
    }
    if (auto d = n["default"]) {
      p.default_value = f.str(d, ppath + ".default");
      if (d.IsScalar())
        if (auto v = endpoints::check_param(p, *p.default_value); !v)
          f.error(d, ppath + ".default", "does not fit type " + std::string(to_string(p.type)) + ": " + v.error());
    }
    for (const auto& q : ep.params)
      if (q.name == p.name) f.error(n["name"], ppath + ".name", "duplicate parameter '" + p.name + "'");
    ep.params.push_back(std::move(p));
  }
}

void load_endpoint(const YAML::Node& n, const std::string& path, Fields& f, Config& cfg) {
  if (!f.expect_map(n, path, {"name", "kind", "description", "inferlet", "params", "arguments", "result", "result_format",
                              "timeout", "async", "suggested_wait", "cancel_on_disconnect", "group", "idempotent",
                              "content_type", "fanout", "input", "session", "allow", "launch_input"}))
    return;
  Endpoint ep;
  ep.line = n.Mark().line + 1;
  ep.name = f.required_str(n, "name", path);
  if (!ep.name.empty() && !valid_endpoint_name(ep.name))
    f.error(n["name"], path + ".name",
            "'" + ep.name + "' is not a valid endpoint name (letters, digits, '_', '-', and '/' between parts)");
  static const std::set<std::string> kReserved{"healthz", "readyz", "metrics", "ui", "asyncProbe", "asyncGet"};
  if (kReserved.count(ep.name) || ep.name.rfind("gateway/", 0) == 0 || ep.name.rfind("gateway_", 0) == 0)
    f.error(n["name"], path + ".name", "'" + ep.name + "' is reserved for the gateway's built-in routes");
  std::string kind = f.required_str(n, "kind", path);
  if (kind == "get") ep.kind = EndpointKind::Get;
  else if (kind == "post") ep.kind = EndpointKind::Post;
  else if (kind == "rpc") ep.kind = EndpointKind::Rpc;
  else if (kind == "asyncrpc") ep.kind = EndpointKind::AsyncRpc;
  else if (kind == "session") ep.kind = EndpointKind::Session;
  else if (!kind.empty())
    f.error(n["kind"], path + ".kind", "must be one of get, post, rpc, asyncrpc, session (got '" + kind + "')");
  if (n["description"]) ep.description = f.str(n["description"], path + ".description");
  ep.inferlet = f.required_str(n, "inferlet", path);
  if (auto p = n["params"]) load_params(p, path + ".params", f, ep);
  if (auto a = n["arguments"]) {
    if (!a.IsSequence()) f.error(a, path + ".arguments", "must be a list of argument templates");
    else
      for (std::size_t i = 0; i < a.size(); ++i) {
        std::string apath = path + ".arguments[" + std::to_string(i) + "]";
        std::string text = f.str(a[i], apath);
        auto t = endpoints::ArgTemplate::parse(text);
        if (!t) {
          f.error(a[i], apath, t.error());
          continue;
        }
        if (t->spread() != endpoints::ArgTemplate::Spread::None) {
          ep.arguments.push_back(std::move(text));
          continue;
        }
        for (const auto& name : t->names())
          if (std::none_of(ep.params.begin(), ep.params.end(), [&](const Param& p) { return p.name == name; }))
            f.error(a[i], apath, "placeholder {" + name + "} names no declared parameter");
        ep.arguments.push_back(std::move(text));
      }
  }
  if (auto r = n["result"]) {
    std::string v = f.str(r, path + ".result");
    if (v == "return") ep.result = ResultSource::Return;
    else if (v == "stdout") ep.result = ResultSource::Stdout;
    else if (v == "json") ep.result = ResultSource::Return, ep.format = ResultFormat::Json;  // shorthand
    else if (v == "blob") ep.result = ResultSource::Blob;
    else if (v == "messages") ep.result = ResultSource::Messages, ep.format = ResultFormat::Json;  // a JSON list
    else if (v == "last_message") ep.result = ResultSource::LastMessage;
    else f.error(r, path + ".result", "must be one of return, stdout, json, blob, messages, last_message (got '" + v + "')");
  }
  if (auto r = n["result_format"]) {
    std::string v = f.str(r, path + ".result_format");
    if (v == "text") ep.format = ResultFormat::Text;
    else if (v == "json") ep.format = ResultFormat::Json;
    else f.error(r, path + ".result_format", "must be one of text, json (got '" + v + "')");
  }
  if (auto a = n["async"]) {
    std::string v = f.str(a, path + ".async");
    if (v == "true") ep.async = true;
    else if (v == "false") ep.async = false;
    else f.error(a, path + ".async", "must be true or false (got '" + v + "')");
    if (ep.is_rpc()) f.error(a, path + ".async", "only get and post endpoints take 'async' (use kind rpc or asyncrpc)");
  }
  if (ep.kind == EndpointKind::AsyncRpc) ep.async = true;
  ep.suggested_wait = f.duration(n, "suggested_wait", path, ep.suggested_wait, 1ms, 1h);
  ep.cancel_on_disconnect = f.boolean(n, "cancel_on_disconnect", path, ep.cancel_on_disconnect);
  ep.timeout = f.duration(n, "timeout", path, ep.timeout, 10ms, 24h);
  load_endpoint_cluster_fields(n, path, f, cfg, ep);
  load_endpoint_content_type(n, path, f, ep);
  load_endpoint_fanout(n, path, f, ep);
  if (auto in = n["input"]) load_endpoint_inputs(in, path + ".input", f, ep);
  load_endpoint_session(n, path, f, cfg, ep);
  if (auto li = n["launch_input"]) load_endpoint_launch_input(li, path + ".launch_input", f, ep);
  check_endpoint_v05(n, path, f, cfg, ep);  // after group and launch_input
  load_endpoint_allow(n, path, f, cfg.access, ep);  // access: is read before endpoints
  for (const auto& other : cfg.endpoints)
    // One GET and one POST-like (post, rpc, asyncrpc) endpoint per name: they share the URL.
    if (!ep.name.empty() && other.name == ep.name &&
        (other.kind == EndpointKind::Get) == (ep.kind == EndpointKind::Get))
      f.error(n["name"], path + ".name",
              "endpoint '" + ep.name + "' of kind " + to_string(ep.kind) + " clashes with the " +
                  to_string(other.kind) + " endpoint of that name on line " + std::to_string(other.line) +
                  " (one GET and one POST per name)");
  cfg.endpoints.push_back(std::move(ep));
}

void load_root(const YAML::Node& root, Fields& f, Config& cfg) {
  if (!f.expect_map(root, "(top level)", {"listen", "limits", "servers", "groups", "cluster", "endpoints", "programs", "jobs", "shutdown", "logging", "grpc", "cors", "daemons", "models_cache", "access", "tls"}))
    return;
  if (auto a = root["access"]) load_access_section(a, f, config_dir(cfg.source), cfg.access);
  if (auto sd = root["shutdown"]) {
    if (f.expect_map(sd, "shutdown", {"drain_timeout", "async_jobs"})) {
      cfg.shutdown.drain_timeout = f.duration(sd, "drain_timeout", "shutdown", cfg.shutdown.drain_timeout, 0ms, 1h);
      if (auto a = sd["async_jobs"]) {
        std::string v = f.str(a, "shutdown.async_jobs");
        if (v == "terminate") cfg.shutdown.terminate_async_jobs = true;
        else if (v == "detach") cfg.shutdown.terminate_async_jobs = false;
        else f.error(a, "shutdown.async_jobs", "must be terminate or detach (got '" + v + "')");
      }
    }
  }
  if (auto j = root["jobs"]) {
    if (f.expect_map(j, "jobs", {"retention", "max_live", "max_finished", "max_finished_sync", "max_output_bytes"})) {
      cfg.jobs.retention = f.duration(j, "retention", "jobs", cfg.jobs.retention, 1s, 30 * 24h);
      cfg.jobs.max_live = static_cast<std::size_t>(f.integer(j, "max_live", "jobs", cfg.jobs.max_live, 1, 10000000));
      cfg.jobs.max_finished = static_cast<std::size_t>(f.integer(j, "max_finished", "jobs", cfg.jobs.max_finished, 0, 100000000));
      cfg.jobs.max_finished_sync =
          static_cast<std::size_t>(f.integer(j, "max_finished_sync", "jobs", cfg.jobs.max_finished_sync, 0, 100000000));
      cfg.jobs.max_output_bytes = static_cast<std::size_t>(
          f.integer(j, "max_output_bytes", "jobs", cfg.jobs.max_output_bytes, 1024, 1LL << 32));
    }
  }
  if (auto l = root["listen"]) {
    if (f.expect_map(l, "listen", {"http", "grpc", "admin", "allowed_hosts"})) {
      if (l["http"]) {
        auto addr = parse_host_port(f.str(l["http"], "listen.http"));
        if (!addr) f.error(l["http"], "listen.http", addr.error());
        else cfg.http = *addr;
      }
      for (auto [key, into] : {std::pair{"grpc", &cfg.grpc}, std::pair{"admin", &cfg.admin}}) {
        if (!l[key]) continue;
        std::string path = std::string("listen.") + key;
        auto addr = parse_host_port(f.str(l[key], path));
        if (!addr) f.error(l[key], path, addr.error());
        else *into = *addr;
      }
      if (auto h = l["allowed_hosts"]) load_allowed_hosts(h, f, cfg);
    }
  }
  if (auto g = root["grpc"]) {
    if (f.expect_map(g, "grpc", {"max_recv_bytes", "max_send_bytes"})) {
      auto& gl = cfg.grpc_limits;
      gl.max_recv_bytes = static_cast<std::size_t>(f.integer(g, "max_recv_bytes", "grpc", gl.max_recv_bytes, 1024, 1LL << 30));
      gl.max_send_bytes = static_cast<std::size_t>(f.integer(g, "max_send_bytes", "grpc", gl.max_send_bytes, 1024, 1LL << 30));
    }
  }
  if (auto l = root["limits"]) {
    if (f.expect_map(l, "limits", {"max_body_bytes", "max_header_bytes", "read_timeout", "idle_timeout", "max_connections"})) {
      cfg.limits.max_body_bytes = static_cast<std::size_t>(f.integer(l, "max_body_bytes", "limits", cfg.limits.max_body_bytes, 0, 1LL << 32));
      cfg.limits.max_header_bytes = static_cast<std::size_t>(f.integer(l, "max_header_bytes", "limits", cfg.limits.max_header_bytes, 1024, 1 << 20));
      cfg.limits.read_timeout = f.duration(l, "read_timeout", "limits", cfg.limits.read_timeout, 100ms, 1h);
      cfg.limits.idle_timeout = f.duration(l, "idle_timeout", "limits", cfg.limits.idle_timeout, 100ms, 24h);
      cfg.limits.max_connections = static_cast<std::size_t>(f.integer(l, "max_connections", "limits", cfg.limits.max_connections, 1, 1000000));
    }
  }
  auto servers = root["servers"];
  if (!servers) f.error(root, "servers", "is missing: list at least one Pie server");
  else if (!servers.IsSequence() || servers.size() == 0) f.error(servers, "servers", "must be a non-empty list of Pie servers");
  else
    for (std::size_t i = 0; i < servers.size(); ++i) load_server(servers[i], "servers[" + std::to_string(i) + "]", f, cfg);
  if (auto g = root["groups"]) load_groups(g, f, cfg);
  if (auto c = root["cluster"]) load_cluster_settings(c, f, cfg.cluster);
  if (auto eps = root["endpoints"]) {
    if (!eps.IsSequence()) f.error(eps, "endpoints", "must be a list of endpoints");
    else
      for (std::size_t i = 0; i < eps.size(); ++i) load_endpoint(eps[i], "endpoints[" + std::to_string(i) + "]", f, cfg);
  }
  if (auto p = root["programs"]) load_programs_section(p, f, config_dir(cfg.source), cfg);
  if (auto d = root["daemons"]) load_daemons_section(d, f, cfg);  // after servers: names them
  if (auto mc = root["models_cache"]) {
    auto d = parse_duration(f.str(mc, "models_cache"));
    if (!d) f.error(mc, "models_cache", d.error());
    else if (*d > 1h) f.error(mc, "models_cache", "must be from 0s to 1h (got '" + mc.Scalar() + "')");
    else cfg.models_cache = *d;
  }
  if (auto c = root["cors"]) load_cors_section(c, f, cfg.cors);
  if (auto t = root["tls"]) load_tls_section(t, f, config_dir(cfg.source), cfg);
  if (auto lg = root["logging"]) {
    if (f.expect_map(lg, "logging", {"level", "format"})) {
      if (lg["level"]) {
        cfg.logging.level = f.str(lg["level"], "logging.level");
        static const std::set<std::string> kLevels{"trace", "debug", "info", "warn", "error", "critical", "off"};
        if (!kLevels.count(cfg.logging.level))
          f.error(lg["level"], "logging.level", "must be one of trace, debug, info, warn, error, critical, off");
      }
      if (auto fm = lg["format"]) {
        std::string v = f.str(fm, "logging.format");
        if (v == "text") cfg.logging.format = Logging::Format::Text;
        else if (v == "json") cfg.logging.format = Logging::Format::Json;
        else f.error(fm, "logging.format", "must be text or json (got '" + v + "')");
      }
    }
  }
}

}  // namespace

Result<Config> load_string(const std::string& yaml, const std::string& source) {
  Config cfg;
  cfg.source = source;
  auto doc = parse_yaml_document(yaml, source);
  if (!doc) return make_error(doc.error());
  const YAML::Node root = *doc;
  Fields f(source);
  try {
    load_root(root, f, cfg);
  } catch (const YAML::Exception& e) {
    f.error(root, "(document)", e.what());
  }
  if (!f.ok()) return make_error(f.errors());
  return cfg;
}

Result<Config> load_file(const std::string& path) {
  auto text = read_bounded_file(path, kMaxConfigFileBytes);
  if (!text) return make_error(path + ": cannot read the configuration file: " + text.error());
  return load_string(*text, path);
}

}  // namespace pg::config
