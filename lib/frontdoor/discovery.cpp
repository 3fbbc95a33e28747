#include "frontdoor/discovery.hpp"

#include <nlohmann/json.hpp>

#include "tarp/envelope.hpp"

namespace pg::frontdoor {

using nlohmann::json;

namespace {

const char* json_type(config::ParamType t) {
  switch (t) {
    case config::ParamType::String: return "string";
    case config::ParamType::Int: return "integer";
    case config::ParamType::Float: return "number";
    case config::ParamType::Bool: return "boolean";
  }
  return "string";
}

json param_list(const config::Endpoint& e) {
  auto out = json::array();
  for (const auto& p : e.params) {
    json j = {{"name", p.name}, {"type", config::to_string(p.type)}, {"required", !p.default_value}};
    if (p.default_value) j["default"] = *p.default_value;
    if (!p.description.empty()) j["description"] = p.description;
    out.push_back(std::move(j));
  }
  return out;
}

json entry(const config::Endpoint& e) {
  auto names = json::array();
  for (const auto& p : e.params) names.push_back(p.name);
  std::string description = e.description.empty() ? "Runs " + e.inferlet : e.description;
  if (e.async && !e.is_rpc()) description += " (asynchronous: returns a job handle)";
  json j = {{"name", e.name}, {"description", description}};
  if (!e.is_rpc()) j["query_params"] = names;
  // Not read by TARP clients; lets other tools (and /ui) show types and defaults.
  j["params"] = param_list(e);
  if (e.async) j["suggested_wait"] = std::chrono::duration<double>(e.suggested_wait).count();
  if (e.async) j["async"] = true;
  if (!e.content_type.empty()) j["result_mimetype"] = e.content_type;  // a raw result (an image, ...)
  if (e.kind == config::EndpointKind::Post) {
    json props = json::object();
    for (const auto& p : e.params) props[p.name] = {{"type", json_type(p.type)}};
    j["payload_mimetype"] = "application/json";
    j["payload_schema"] = {{"type", "object"}, {"properties", props}};
  }
  return j;
}

/// A session endpoint: its three RPC methods (what the TARP Python client calls) ...
void session_rpcs(const config::Endpoint& e, json& rpcs) {
  const std::string runs = e.description.empty() ? "runs " + e.inferlet : e.description;
  rpcs.push_back({{"name", e.name + "_open"},
                  {"description", "Open a session of '" + e.name + "' (" + runs + "); returns its handle"},
                  {"params", param_list(e)}});
  rpcs.push_back({{"name", e.name + "_send"},
                  {"description", "Send a message to a session of '" + e.name + "': (session, message) -> reply"}});
  rpcs.push_back({{"name", e.name + "_close"}, {"description", "Close a session of '" + e.name + "': (session)"}});
}

/// ... and its own entry (read by other tools and /ui; TARP clients ignore unknown keys).
json session_entry(const config::Endpoint& e) {
  return {{"name", e.name},
          {"description", e.description.empty() ? "Runs " + e.inferlet : e.description},
          {"params", param_list(e)},
          {"routes", {{"open", e.name + "/open"}, {"send", e.name + "/send"}, {"close", e.name + "/close"}}},
          {"idle_timeout", std::chrono::duration<double>(e.session.idle_timeout).count()},
          {"max_open", e.session.max_open}};
}

json builtin(const char* name, const char* description, json params) {
  auto names = json::array();
  for (const auto& p : params) names.push_back(p["name"]);
  return {{"name", name}, {"description", description}, {"query_params", names}, {"params", params}};
}

}  // namespace

http::Response build_discovery(const endpoints::Registry& reg, const std::function<bool(const config::Endpoint&)>& listed) {
  json gets = json::array(), posts = json::array(), rpcs = json::array(), asyncs = json::array(),
       sessions = json::array();
  for (const auto& ep : reg.all()) {
    if (listed && !listed(ep->cfg)) continue;
    switch (ep->cfg.kind) {
      case config::EndpointKind::Get: gets.push_back(entry(ep->cfg)); break;
      case config::EndpointKind::Post: posts.push_back(entry(ep->cfg)); break;
      case config::EndpointKind::Rpc: rpcs.push_back(entry(ep->cfg)); break;
      case config::EndpointKind::AsyncRpc: asyncs.push_back(entry(ep->cfg)); break;
      case config::EndpointKind::Session:
        session_rpcs(ep->cfg, rpcs);
        sessions.push_back(session_entry(ep->cfg));
        break;
    }
  }
  auto opt = [](const char* n, const char* d) { return json{{"name", n}, {"type", "string"}, {"required", false}, {"description", d}}; };
  gets.push_back(builtin("gateway/jobs", "Jobs the gateway knows (running, and finished ones within retention), newest first.",
                         json::array({opt("state", "queued, running, completed, failed or cancelled"),
                                       opt("endpoint", "only jobs of this endpoint"), opt("limit", "at most this many (default 100)")})));
  gets.push_back(builtin("gateway/servers", "The Pie servers: state, sessions, instances in flight, last error.", json::array()));
  gets.push_back(builtin("gateway/models", "model_status of every Pie server (cached briefly).", json::array()));
  auto cancel = builtin("gateway/cancel", "Cancel a job by UUID: its Pie instance is terminated.",
                        json::array({json{{"name", "UUID"}, {"type", "string"}, {"required", true}}}));
  cancel["payload_mimetype"] = "application/json";
  cancel["payload_schema"] = {{"type", "object"}, {"properties", {{"UUID", {{"type", "string"}}}}}};
  posts.push_back(cancel);
  json result = {{"GET", gets}, {"POST", posts}, {"RPC", rpcs}, {"ASYNCRPC", asyncs}, {"SESSION", sessions}};
  return tarp::success(result, tarp::kJson);
}

}  // namespace pg::frontdoor
