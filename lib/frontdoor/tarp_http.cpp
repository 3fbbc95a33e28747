#include "frontdoor/tarp_http.hpp"

#include <nlohmann/json.hpp>

#include <chrono>

#include "frontdoor/discovery.hpp"
#include "frontdoor/job_answers.hpp"
#include "obs/metrics.hpp"
#include "tarp/body.hpp"
#include "tarp/envelope.hpp"
#include "tarp/query.hpp"
#include "tarp/rpc.hpp"
#include "value/value.hpp"

namespace pg::frontdoor {

using nlohmann::json;

namespace {

http::Response method_not_allowed(const std::string& what, const std::string& allow) {
  auto r = tarp::error(405, "MethodNotAllowed", what + " answers " + allow + " only");
  r.headers.emplace_back("Allow", allow);
  return r;
}

/// Query parameters plus, for a non-empty body, its JSON-object or form fields.
Result<endpoints::Params> request_params(const http::Request& req) {
  endpoints::Params params;
  for (auto& [k, values] : tarp::parse_query(req.query))
    for (auto& v : values) params.emplace_back(k, std::move(v));
  if (!req.body.empty()) {
    auto body = tarp::body_params(req.header("Content-Type"), req.body);
    if (!body) return make_error(body.error());
    for (auto& kv : *body) params.push_back(std::move(kv));
  }
  return params;
}

/// The one value of a parameter that must be given once; "" when absent.
Result<std::string> single(const endpoints::Params& params, const std::string& name) {
  std::string out;
  int seen = 0;
  for (const auto& [k, v] : params)
    if (k == name) out = v, ++seen;
  if (seen > 1) return make_error("parameter '" + name + "' is given more than once");
  return out;
}

/// The metrics label of a built-in route ("" for others): a fixed set, never a raw path.
std::string_view builtin_label(std::string_view path) {
  static constexpr std::pair<std::string_view, std::string_view> kRoutes[] = {
      {"/", "discovery"},
      {"/healthz", "healthz"},
      {"/readyz", "readyz"},
      {"/metrics", "metrics"},
      {"/asyncProbe", "asyncProbe"},
      {"/asyncGet", "asyncGet"},
      {"/gateway/jobs", "gateway/jobs"},
      {"/gateway_jobs", "gateway/jobs"},
      {"/gateway/servers", "gateway/servers"},
      {"/gateway_servers", "gateway/servers"},
      {"/gateway/cancel", "gateway/cancel"},
      {"/gateway_cancel", "gateway/cancel"},
  };
  for (const auto& [p, label] : kRoutes)
    if (p == path) return label;
  return {};
}

}  // namespace

TarpHttp::TarpHttp(std::shared_ptr<const endpoints::Registry> registry, jobs::JobService& jobs,
                   std::shared_ptr<cluster::Cluster> cluster, obs::Metrics* metrics)
    : registry_(std::move(registry)), jobs_(jobs), cluster_(std::move(cluster)), discovery_(build_discovery(*registry_)),
      metrics_(metrics) {}

http::Responder TarpHttp::timed(const endpoints::Registry::Named* named, const std::string& path,
                                const std::string& method, http::Responder respond) {
  std::string label(builtin_label(path));
  if (label.empty()) label = named ? (named->get ? named->get : named->post)->cfg.name : "unknown";
  return [metrics = metrics_, label = std::move(label), method, start = std::chrono::steady_clock::now(),
          respond = std::move(respond)](http::Response r) {
    metrics->http_request(label, method, r.status,
                          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    respond(std::move(r));
  };
}

void TarpHttp::set_registry(std::shared_ptr<const endpoints::Registry> registry) {
  registry_ = std::move(registry);
  discovery_ = build_discovery(*registry_);
}

http::Response TarpHttp::transport_error(int status, std::string_view type, std::string_view message) {
  return tarp::error(status, type, message);
}

void TarpHttp::handle(http::Request req, http::Responder respond) {
  std::string path = tarp::decode_path(req.path);
  const auto* named = path.size() > 1 ? registry_->find(std::string_view(path).substr(1)) : nullptr;
  if (metrics_) respond = timed(named, path, req.method, std::move(respond));
  if (builtin(path, req, respond)) return;
  if (!named) return respond(tarp::error(404, "NotFound", "no endpoint named '" + path.substr(1) + "' (GET / lists them)"));
  const endpoints::Endpoint* ep = req.method == "GET" ? named->get : req.method == "POST" ? named->post : nullptr;
  if (!ep)
    return respond(method_not_allowed("endpoint '" + path.substr(1) + "'",
                                      named->get && named->post ? "GET, POST" : named->get ? "GET" : "POST"));
  if (ep->cfg.is_rpc()) return call_rpc(*ep, req, respond);
  call_web(*ep, req, respond);
}

bool TarpHttp::builtin(const std::string& path, http::Request& req, http::Responder& respond) {
  auto only = [&](const char* method) {
    if (req.method == method) return true;
    respond(method_not_allowed(path, method));
    return false;
  };
  if (path == "/") {
    if (only("GET")) respond(discovery_);
  } else if (path == "/healthz" || path == "/readyz") {
    // Probes for load balancers and systemd: plain text; the loader refuses these as endpoint names.
    http::Response r;
    r.content_type = "text/plain";
    bool ok = path == "/healthz" || cluster_->ready();
    r.status = ok ? 200 : 503;
    r.body = path == "/healthz" ? "ok\n" : ok ? "ready\n" : "not ready: no Pie server session is open\n";
    respond(std::move(r));
  } else if (path == "/metrics") {
    // Prometheus scrapes (the loader refuses "metrics" as an endpoint name).
    if (only("GET")) {
      if (!metrics_) {
        respond(tarp::error(404, "NotFound", "metrics are not enabled"));
      } else {
        http::Response r;
        r.content_type = obs::Metrics::kContentType;
        r.body = metrics_->expose();
        respond(std::move(r));
      }
    }
  } else if (path == "/asyncProbe" || path == "/asyncGet") {
    if (only("GET")) async_probe(req, respond, path == "/asyncGet");
  } else if (path == "/gateway/jobs" || path == "/gateway_jobs") {
    if (only("GET")) list_jobs(req, respond);
  } else if (path == "/gateway/servers" || path == "/gateway_servers") {
    if (only("GET")) respond(tarp::success(cluster_->describe(), tarp::kJson));
  } else if (path == "/gateway/cancel" || path == "/gateway_cancel") {
    if (only("POST")) cancel_job(req, respond);
  } else {
    return false;
  }
  return true;
}

void TarpHttp::call_web(const endpoints::Endpoint& ep, http::Request& req, http::Responder& respond) {
  auto params = request_params(req);
  if (!params) return respond(tarp::error(400, "BadRequest", params.error()));
  auto args = ep.bind_named(*params);
  if (!args) return respond(tarp::error(400, "BadRequest", args.error()));
  run(ep, std::move(*args), false, respond);
}

void TarpHttp::call_rpc(const endpoints::Endpoint& ep, http::Request& req, http::Responder& respond) {
  if (!req.query.empty())
    return respond(tarp::error(400, "BadRequest", "RPC endpoint '" + ep.cfg.name + "' takes no query string"));
  auto call = tarp::decode_rpc_body(req.header("Content-Type"), req.body);
  if (!call) return respond(tarp::error(400, "BadRequest", call.error()));
  endpoints::CallArgs args;
  for (const auto& v : call->args) args.positional.push_back(value::to_text(v));
  for (const auto& [k, v] : call->kwargs) args.named.emplace_back(k, value::to_text(v));
  auto bound = ep.bind(args);
  if (!bound) return respond(tarp::error(400, "BadRequest", bound.error()));
  run(ep, std::move(*bound), true, respond);
}

void TarpHttp::run(const endpoints::Endpoint& ep, std::vector<std::string> args, bool rpc, http::Responder& respond) {
  jobs::JobSpec spec;
  spec.endpoint = ep.cfg.name;
  spec.launch.inferlet = ep.cfg.inferlet;
  spec.launch.arguments = std::move(args);
  spec.result = ep.cfg.result;
  spec.format = ep.cfg.format;
  spec.timeout = ep.cfg.timeout;
  spec.async = ep.cfg.async;
  spec.suggested_wait = ep.cfg.suggested_wait;
  jobs::JobService::Waiter waiter;
  if (!spec.async) {
    waiter = [respond, rpc](const jobs::Job& job) { respond(rpc ? rpc_answer(job) : web_answer(job)); };
  }
  auto job = jobs_.submit(std::move(spec), std::move(waiter));
  if (!job) return respond(unavailable_answer(job.error()));
  if ((*job)->spec.async) respond(handle_answer(**job));
}

void TarpHttp::async_probe(http::Request& req, http::Responder& respond, bool fetch) {
  auto params = request_params(req);
  if (!params) return respond(tarp::error(400, "BadRequest", params.error()));
  auto id = single(*params, "UUID");
  if (!id) return respond(tarp::error(400, "BadRequest", id.error()));
  if (id->empty()) return respond(tarp::error(400, "BadRequest", "missing required parameter 'UUID'"));
  auto format = single(*params, "format");
  if (!format || (!format->empty() && *format != "json" && *format != "pickle"))
    return respond(tarp::error(400, "BadRequest", "parameter 'format' must be json or pickle"));
  auto job = jobs_.find(*id);
  if (!job)
    return respond(tarp::error(404, "NotFound",
                               "no job with UUID '" + *id + "' (finished jobs are forgotten once fetched, or after " +
                                   std::to_string(jobs_.options().retention.count() / 1000) + " s)"));
  if (!fetch) return respond(probe_answer(*job));
  if (!jobs::is_finished(job->state)) return respond(in_progress_answer(*job));
  auto answer = fetch_answer(*job, *format == "json");
  jobs_.forget(job->id);  // a handle is fetched once, as TARP servers do
  respond(std::move(answer));
}

void TarpHttp::list_jobs(http::Request& req, http::Responder& respond) {
  auto params = request_params(req);
  if (!params) return respond(tarp::error(400, "BadRequest", params.error()));
  jobs::JobFilter filter;
  for (const auto& [k, v] : *params) {
    if (k == "state") {
      bool known = false;
      for (auto s : {jobs::JobState::Queued, jobs::JobState::Running, jobs::JobState::Completed,
                     jobs::JobState::Failed, jobs::JobState::Cancelled})
        if (v == jobs::to_string(s)) filter.state = s, known = true;
      if (!known)
        return respond(tarp::error(400, "BadRequest", "state must be queued, running, completed, failed or cancelled"));
    } else if (k == "endpoint") {
      filter.endpoint = v;
    } else if (k == "limit") {
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || n < 1 || n > 10000)
        return respond(tarp::error(400, "BadRequest", "limit must be a whole number from 1 to 10000"));
      filter.limit = static_cast<std::size_t>(n);
    } else {
      return respond(tarp::error(400, "BadRequest", "unknown parameter '" + k + "' (takes state, endpoint, limit)"));
    }
  }
  json out = json::array();
  for (const auto& job : jobs_.list(filter)) out.push_back(job_summary(*job));
  respond(tarp::success(out, tarp::kJson));
}

void TarpHttp::cancel_job(http::Request& req, http::Responder& respond) {
  auto params = request_params(req);
  if (!params) return respond(tarp::error(400, "BadRequest", params.error()));
  auto id = single(*params, "UUID");
  if (!id) return respond(tarp::error(400, "BadRequest", id.error()));
  if (id->empty()) return respond(tarp::error(400, "BadRequest", "missing required parameter 'UUID'"));
  switch (jobs_.cancel(*id)) {
    case jobs::JobService::CancelOutcome::NotFound:
      return respond(tarp::error(404, "NotFound", "no job with UUID '" + *id + "'"));
    case jobs::JobService::CancelOutcome::AlreadyFinished:
      return respond(tarp::error(409, "AlreadyFinished", "job " + *id + " has already finished"));
    case jobs::JobService::CancelOutcome::Cancelled:
      return respond(tarp::success(json{{"ID", *id}, {"status", "cancelled"}}, tarp::kJson));
  }
}

}  // namespace pg::frontdoor
