#include "frontdoor/tarp_http.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>

#include <boost/asio/steady_timer.hpp>

#include "frontdoor/access_answers.hpp"
#include "frontdoor/discovery.hpp"
#include "frontdoor/inputs.hpp"
#include "frontdoor/job_answers.hpp"
#include "frontdoor/request_params.hpp"
#include "frontdoor/sse.hpp"
#include "obs/logging.hpp"
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
      {"/gateway/models", "gateway/models"},
      {"/gateway_models", "gateway/models"},
      {"/gateway/daemons", "gateway/daemons"},
      {"/gateway_daemons", "gateway/daemons"},
  };
  for (const auto& [p, label] : kRoutes)
    if (p == path) return label;
  if (path == "/ui" || path.rfind("/ui/", 0) == 0) return "ui";
  if (path.rfind("/gateway/jobs/", 0) == 0) {
    if (path.ends_with("/events")) return "gateway/jobs/events";
    if (path.ends_with("/result")) return "gateway/jobs/result";
    return "gateway/jobs/blobs";
  }
  return {};
}

void access_line(std::string_view id, std::string_view method, std::string_view path, std::string_view endpoint,
                 std::string_view remote, std::string_view cn, std::string_view client, const http::Response::Trace& t,
                 int status, double seconds) {
  obs::log_request({.request_id = id, .door = "http", .method = method, .target = path, .endpoint = endpoint,
                    .server = t.server, .instance_id = t.instance, .job_id = t.job, .status = status,
                    .seconds = seconds, .remote = remote, .client = client, .peer_cn = cn});
}

}  // namespace

TarpHttp::TarpHttp(std::shared_ptr<const endpoints::Registry> registry, jobs::JobService& jobs,
                   std::shared_ptr<cluster::Cluster> cluster, obs::Metrics* metrics)
    : registry_(std::move(registry)), jobs_(jobs), cluster_(std::move(cluster)), discovery_(build_discovery(*registry_)),
      metrics_(metrics) {}

http::Responder TarpHttp::observed(const endpoints::Registry::Named* named, const std::string& path,
                                   const http::Request& req, std::shared_ptr<const std::string> client,
                                   http::Responder respond) {
  std::string label(builtin_label(path));
  std::string endpoint;
  if (label.empty()) {
    if (named) endpoint = label = (named->get ? named->get : named->post)->cfg.name;
    else label = "unknown";
  }
  return [metrics = metrics_, label = std::move(label), endpoint = std::move(endpoint),
          method = req.head ? std::string("HEAD") : req.method,
          path = req.path, remote = req.remote, cn = req.peer_cn, client = std::move(client),
          id = obs::request_id_or_new(req.header("X-Request-Id")), start = std::chrono::steady_clock::now(),
          respond = std::move(respond)](http::Response r) mutable {
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (metrics) metrics->http_request(label, method, r.status, seconds);  // streams: time to the head
    if (!r.stream) {
      access_line(id, method, path, endpoint, remote, cn, *client, r.trace, r.status, seconds);
    } else {
      // A streamed body (SSE): its access line when the stream is over, with its whole duration.
      // This responder runs once, so what the line needs moves into the stream's callback.
      r.stream = [id, method = std::move(method), path = std::move(path), endpoint = std::move(endpoint),
                  remote = std::move(remote), cn = std::move(cn), client = *client, trace = r.trace, status = r.status,
                  start, inner = std::move(r.stream)](std::shared_ptr<http::Stream> out) {
        out->on_done([=](bool) {
          access_line(id, method, path, endpoint, remote, cn, client, trace, status,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        });
        inner(std::move(out));
      };
    }
    r.headers.emplace_back("X-Request-Id", id);
    respond(std::move(r));
  };
}

void TarpHttp::handle_admin(http::Request req, http::Responder respond) {
  std::string path = tarp::decode_path(req.path);
  respond = observed(nullptr, path, req, std::make_shared<const std::string>(), std::move(respond));
  if (path != "/metrics" && path != "/healthz" && path != "/readyz")
    return respond(tarp::error(404, "NotFound", "the admin address serves /metrics, /healthz and /readyz only"));
  req_is_admin_ = true;  // single-threaded: builtin() answers /metrics at once
  builtin(path, access::Access::open_caller(), req, respond);  // a loopback address: no credential
  req_is_admin_ = false;
}

void TarpHttp::set_registry(std::shared_ptr<const endpoints::Registry> registry) {
  registry_ = std::move(registry);
  discovery_ = build_discovery(*registry_);
}

http::Response TarpHttp::transport_error(int status, std::string_view type, std::string_view message) {
  // Malformed HTTP, 413, 431, timeouts: counted and logged like every answered request, under the
  // fixed label "transport" (there is no trustworthy path or method to name).
  if (metrics_) metrics_->http_request("transport", "-", status, 0);
  auto id = obs::request_id_or_new("");
  obs::log_request({.request_id = id, .door = "http", .method = "-", .target = type, .status = status});
  auto r = tarp::error(status, type, message);
  r.headers.emplace_back("X-Request-Id", id);
  return r;
}

void TarpHttp::tls_handshake_failed() {
  if (metrics_) metrics_->tls_handshake_failure();
}

access::Access::Outcome TarpHttp::identify(const http::Request& req) {
  if (!access_) return access::Access::open_caller();
  return access_->authenticate({.authorization = req.header("Authorization"), .peer_cn = req.peer_cn, .remote = req.remote});
}

void TarpHttp::deny(const access::Denial& d, http::Responder& respond) {
  auto answer = denial_answer(d);
  if (d.delay.count() <= 0 || !ex_) return respond(std::move(answer));
  // An address that keeps failing waits for its answer; no thread does.
  auto timer = std::make_shared<boost::asio::steady_timer>(*ex_, d.delay);
  timer->async_wait([timer, answer = std::move(answer), respond = std::move(respond)](boost::system::error_code) mutable {
    respond(std::move(answer));
  });
}

bool TarpHttp::admitted(const Caller& caller, const endpoints::Endpoint& ep, http::Responder& respond, bool charge) {
  if (!access_) return true;
  auto refused = access_->authorize(caller, ep.cfg.allow, "endpoint '" + ep.cfg.name + "'");
  if (!refused && charge) refused = access_->charge(caller);
  if (!refused) return true;
  deny(*refused, respond);
  return false;
}

bool TarpHttp::may_start(const Caller& caller, http::Responder& respond) {
  auto refused = jobs_.admit(caller.owner(), caller.id->max_live_jobs);
  if (!refused) return true;
  if (metrics_) metrics_->client_refused(caller.name(), refusal_reason(*refused));
  respond(refusal_answer(*refused));
  return false;
}

void TarpHttp::handle(http::Request req, http::Responder respond) {
  std::string path = tarp::decode_path(req.path);
  const auto* named = path.size() > 1 ? registry_->find(std::string_view(path).substr(1)) : nullptr;
  if (!named) named = session_endpoint(*registry_, path);  // NAME/open, NAME_send, ...: counted under NAME
  auto client = std::make_shared<std::string>();  // named on the access line once known
  respond = observed(named, path, req, client, std::move(respond));
  // No credential for CORS preflights, /ui and the probes: the page asks for the token itself.
  if (browser(path, req, respond)) return;
  if (path == "/healthz" || path == "/readyz") return void(builtin(path, access::Access::open_caller(), req, respond));
  auto who = identify(req);
  if (auto* d = std::get_if<access::Denial>(&who)) return deny(*d, respond);
  const Caller& caller = std::get<Caller>(who);
  *client = caller.name();
  if (path.rfind("/gateway/jobs/", 0) == 0)
    return job_route(path.substr(std::string_view("/gateway/jobs/").size()), caller, req, respond);
  if (builtin(path, caller, req, respond)) return;
  if (engine(path, caller, req, respond)) return;
  if (session_route(path, caller, req, respond)) return;
  if (!named)
    return respond(tarp::error(404, "NotFound", "no endpoint named '" + path.substr(1) + "' (GET / lists them)"));
  if (named->post && named->post->cfg.is_session() && req.method != "GET")
    return respond(tarp::error(404, "NotFound",
                               "'" + path.substr(1) + "' is a session endpoint: POST " + path.substr(1) + "/open, " +
                                   path.substr(1) + "/send and " + path.substr(1) + "/close (TARP RPC: " + path.substr(1) +
                                   "_open, _send, _close)"));
  const endpoints::Endpoint* ep = req.method == "GET" ? named->get : req.method == "POST" ? named->post : nullptr;
  if (!ep)
    return respond(method_not_allowed("endpoint '" + path.substr(1) + "'",
                                      named->get && named->post ? "GET, POST" : named->get ? "GET" : "POST"));
  if (!admitted(caller, *ep, respond)) return;
  if (ep->cfg.is_rpc()) return call_rpc(*ep, caller, req, respond);
  call_web(*ep, caller, req, respond);
}

bool TarpHttp::builtin(const std::string& path, const Caller& caller, http::Request& req, http::Responder& respond) {
  auto only = [&](const char* method) {
    if (req.method == method) return true;
    respond(method_not_allowed(path, method));
    return false;
  };
  if (path == "/") {
    // Discovery lists what the caller may call (admins and the open caller: everything).
    if (only("GET"))
      respond(caller.admin() ? discovery_
                             : build_discovery(*registry_, [&](const config::Endpoint& e) {
                                 return access::Access::may_call(caller, e.allow);
                               }));
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
      } else if (metrics_elsewhere_ && !req_is_admin_) {
        respond(tarp::error(404, "NotFound", "metrics are served on the admin address (listen.admin)"));
      } else if (auto refused = access_ ? access_->require_admin(caller, "/metrics") : std::nullopt) {
        deny(*refused, respond);
      } else {
        http::Response r;
        r.content_type = obs::Metrics::kContentType;
        r.body = metrics_->expose();
        respond(std::move(r));
      }
    }
  } else if (path == "/asyncProbe" || path == "/asyncGet") {
    if (only("GET")) async_probe(caller, req, respond, path == "/asyncGet");
  } else if (path == "/gateway/jobs" || path == "/gateway_jobs") {
    if (only("GET")) list_jobs(caller, req, respond);
  } else if (path == "/gateway/servers" || path == "/gateway_servers") {
    // The details (URIs, errors, daemons) are for admins; others see names and states.
    if (only("GET"))
      respond(tarp::success(caller.admin() ? cluster_->describe() : public_servers(cluster_->describe()), tarp::kJson));
  } else if (path == "/gateway/cancel" || path == "/gateway_cancel") {
    if (only("POST")) cancel_job(caller, req, respond);
  } else {
    return false;
  }
  return true;
}

void TarpHttp::call_web(const endpoints::Endpoint& ep, const Caller& caller, http::Request& req,
                        http::Responder& respond) {
  if (wants_event_stream(req) && resume_call(ep, caller, req, respond)) return;
  auto params = request_params(req, !frontdoor::body_is_input(ep.cfg));
  if (!params) return respond(bad_call_answer(params.error()));
  auto args = ep.bind_named(*params);
  if (!args) return respond(bad_call_answer(args.error()));
  auto inputs = frontdoor::call_inputs(ep.cfg, req.body, endpoints::CallArgs{{}, *params});
  if (!inputs) return respond(tarp::error(400, "BadRequest", inputs.error()));
  run(ep, caller, std::move(*args), false, req, respond, std::move(*inputs));
}

void TarpHttp::call_rpc(const endpoints::Endpoint& ep, const Caller& caller, http::Request& req,
                        http::Responder& respond) {
  if (!req.query.empty())
    return respond(tarp::error(400, "BadRequest", "RPC endpoint '" + ep.cfg.name + "' takes no query string"));
  auto call = tarp::decode_rpc_body(req.header("Content-Type"), req.body, tarp::PickleLimits::for_budget(ep.expansion_limit));
  if (!call) return respond(bad_call_answer(call.error()));
  endpoints::CallArgs args;
  for (const auto& v : call->args) args.positional.push_back(value::to_text(v));
  for (const auto& [k, v] : call->kwargs) args.named.emplace_back(k, value::to_text(v));
  auto bound = ep.bind(args);
  if (!bound) return respond(bad_call_answer(bound.error()));
  auto inputs = frontdoor::call_inputs(ep.cfg, {}, args);
  if (!inputs) return respond(tarp::error(400, "BadRequest", inputs.error()));
  run(ep, caller, std::move(*bound), true, req, respond, std::move(*inputs));
}

void TarpHttp::run(const endpoints::Endpoint& ep, const Caller& caller, endpoints::BoundCall bound, bool rpc,
                   http::Request& req, http::Responder& respond, std::vector<jobs::JobSpec::Input> inputs) {
  if (!may_start(caller, respond)) return;
  jobs::JobSpec spec;
  spec.endpoint = ep.cfg.name;
  spec.owner = caller.owner();  // only its owner (and admins) reach the job
  spec.launch.inferlet = ep.cfg.inferlet;
  spec.launch.arguments = std::move(bound.arguments);  // 0.2
  spec.launch.input = std::move(bound.input);          // 0.5 ("{}" unless the endpoint can run on 0.5)
  spec.result = ep.cfg.result;
  spec.format = ep.cfg.format;
  spec.timeout = ep.cfg.timeout;
  spec.async = ep.cfg.async;
  spec.suggested_wait = ep.cfg.suggested_wait;
  spec.group = ep.cfg.group;
  spec.idempotent = ep.cfg.idempotent;
  spec.content_type = ep.cfg.content_type;
  spec.fanout = ep.cfg.fanout;  // one run per server, answered as a list (jobs/fanout.hpp)
  spec.inputs = std::move(inputs);  // sent once Pie accepts the launch (jobs/job_inputs.cpp)
  const bool stream = !rpc && wants_event_stream(req);  // SSE: the events as they come (sse.hpp)
  const bool cancel = !spec.async && ep.cfg.cancel_on_disconnect;
  jobs::JobService::Waiter waiter;
  if (!spec.async && !stream) {
    waiter = [respond, rpc](const jobs::Job& job) { respond(traced(job, rpc ? rpc_answer(job) : web_answer(job))); };
  }
  auto job = jobs_.submit(std::move(spec), std::move(waiter));
  if (!job) return respond(unavailable_answer(job.error()));
  if (stream) return respond(traced(**job, sse_answer(jobs_, *job, {.call = true, .cancel_on_disconnect = cancel})));
  if ((*job)->spec.async) return respond(traced(**job, handle_answer(**job)));
  if (cancel && req.on_client_gone) {
    // The caller left before its answer: stop the Pie instance instead of computing for nobody.
    req.on_client_gone([&jobs = jobs_, id = (*job)->id.str(), endpoint = ep.cfg.name] {
      if (jobs.cancel(id) == jobs::JobService::CancelOutcome::Cancelled)
        spdlog::info("job {} ({}): its HTTP client went away; cancelled (cancel_on_disconnect)", id, endpoint);
    });
  }
}

}  // namespace pg::frontdoor
