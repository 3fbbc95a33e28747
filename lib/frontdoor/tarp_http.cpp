#include "frontdoor/tarp_http.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "tarp/body.hpp"
#include "tarp/envelope.hpp"
#include "tarp/query.hpp"

namespace pg::frontdoor {

using nlohmann::json;

namespace {

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

http::Response build_discovery(const endpoints::Registry& reg) {
  json gets = json::array(), posts = json::array();
  for (const auto& ep : reg.all()) {
    const auto& e = ep->cfg;
    auto names = json::array();
    for (const auto& p : e.params) names.push_back(p.name);
    json entry = {{"name", e.name},
                  {"description", e.description.empty() ? "Runs " + e.inferlet : e.description},
                  {"query_params", names},
                  // Not read by TARP clients; lets other tools show types and defaults.
                  {"params", param_list(e)}};
    if (e.kind == config::EndpointKind::Get) {
      gets.push_back(std::move(entry));
    } else {
      entry["payload_mimetype"] = "application/json";
      json props = json::object();
      for (const auto& p : e.params) props[p.name] = {{"type", p.type == config::ParamType::String ? "string"
                                                              : p.type == config::ParamType::Int   ? "integer"
                                                              : p.type == config::ParamType::Float ? "number"
                                                                                                   : "boolean"}};
      entry["payload_schema"] = {{"type", "object"}, {"properties", props}};
      posts.push_back(std::move(entry));
    }
  }
  json result = {{"GET", gets}, {"POST", posts}, {"RPC", json::array()}, {"ASYNCRPC", json::array()}};
  return tarp::success(result, tarp::kJson);
}

}  // namespace

TarpHttp::TarpHttp(std::shared_ptr<const endpoints::Registry> registry, jobs::JobService& jobs,
                   std::function<bool()> ready)
    : registry_(std::move(registry)), jobs_(jobs), ready_(std::move(ready)), discovery_(build_discovery(*registry_)) {}

http::Response TarpHttp::transport_error(int status, std::string_view type, std::string_view message) {
  return tarp::error(status, type, message);
}

void TarpHttp::handle(http::Request req, http::Responder respond) {
  std::string path = tarp::decode_path(req.path);
  if (path == "/") {
    if (req.method != "GET") {
      auto r = tarp::error(405, "MethodNotAllowed", "discovery at / answers GET only");
      r.headers.emplace_back("Allow", "GET");
      return respond(std::move(r));
    }
    return respond(discovery_);
  }
  // Probes for load balancers and systemd: plain text, never an endpoint name (the loader refuses them).
  if (path == "/healthz" || path == "/readyz") {
    http::Response r;
    r.content_type = "text/plain";
    bool ok = path == "/healthz" || ready_();
    r.status = ok ? 200 : 503;
    r.body = path == "/healthz" ? "ok\n" : ok ? "ready\n" : "not ready: no Pie server session is open\n";
    return respond(std::move(r));
  }
  const auto* named = path.size() > 1 ? registry_->find(std::string_view(path).substr(1)) : nullptr;
  if (!named) return respond(tarp::error(404, "NotFound", "no endpoint named '" + path.substr(1) + "' (GET / lists them)"));
  const endpoints::Endpoint* ep = req.method == "GET" ? named->get : req.method == "POST" ? named->post : nullptr;
  if (!ep) {
    std::string allow = named->get && named->post ? "GET, POST" : named->get ? "GET" : "POST";
    auto r = tarp::error(405, "MethodNotAllowed", "endpoint '" + path.substr(1) + "' answers " + allow + " only");
    r.headers.emplace_back("Allow", allow);
    return respond(std::move(r));
  }
  call_endpoint(*ep, req, respond);
}

void TarpHttp::call_endpoint(const endpoints::Endpoint& ep, http::Request& req, http::Responder& respond) {
  endpoints::Params params;
  for (auto& [k, values] : tarp::parse_query(req.query))
    for (auto& v : values) params.emplace_back(k, std::move(v));
  if (!req.body.empty()) {
    auto body = tarp::body_params(req.header("Content-Type"), req.body);
    if (!body) return respond(tarp::error(400, "BadRequest", body.error()));
    for (auto& kv : *body) params.push_back(std::move(kv));
  }
  auto args = ep.bind(params);
  if (!args) return respond(tarp::error(400, "BadRequest", args.error()));

  jobs::JobSpec spec;
  spec.endpoint = ep.cfg.name;
  spec.launch.inferlet = ep.cfg.inferlet;
  spec.launch.arguments = std::move(*args);
  spec.result = ep.cfg.result;
  spec.timeout = ep.cfg.timeout;
  jobs_.submit(std::move(spec), [respond = std::move(respond)](const jobs::Job& job) { respond(job_response(job)); });
}

http::Response job_response(const jobs::Job& job) {
  if (job.state == jobs::JobState::Completed) {
    auto r = tarp::success_text(job.result());
    if (job.truncated) r.headers.emplace_back("X-Pie-Output-Truncated", "true");
    return r;
  }
  const jobs::JobError e = job.error.value_or(jobs::JobError{jobs::JobError::Kind::Cancelled, "Cancelled", "job cancelled"});
  json detail = json::object();
  if (!job.server.empty()) detail["server"] = job.server;
  if (!job.instance_id.empty()) detail["instance_id"] = job.instance_id;
  if (!job.stderr_text.empty())
    detail["stderr"] = job.stderr_text.size() > 4096 ? job.stderr_text.substr(job.stderr_text.size() - 4096) : job.stderr_text;
  json extra = {{"job", job.id}};
  if (!detail.empty()) extra["pie"] = detail;
  using K = jobs::JobError::Kind;
  switch (e.kind) {
    case K::Unavailable: {
      // TARP clients raise InvalidServerState for this type; Retry-After helps other clients.
      auto r = tarp::error(503, "InvalidServerState", e.message, extra);
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    case K::Timeout: return tarp::error(504, "Timeout", e.message, extra);
    case K::Cancelled: return tarp::error(409, "Cancelled", e.message, extra);
    case K::InferletFailed:
      return tarp::error(502, e.type, "inferlet '" + job.spec.launch.inferlet + "' ended with " + e.type + ": " + e.message, extra);
    case K::Rejected:
    case K::SessionLost: return tarp::error(502, e.type, e.message, extra);
  }
  return tarp::error(500, "Internal", e.message, extra);
}

}  // namespace pg::frontdoor
