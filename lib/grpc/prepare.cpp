// From a CallRequest to a job: endpoint lookup, access (allow, rate, live jobs), Python-like
// binding and `input:`, as the HTTP front door does it (tarp_http.cpp), for Call, CallStream,
// SubmitJob and Converse's open.
#include <algorithm>

#include "frontdoor/inputs.hpp"
#include "grpc/rpc.hpp"
#include "obs/metrics.hpp"

namespace pg::grpc_api {

namespace {

using C = grpc::StatusCode;

/// Which of a name's endpoints the request runs: a conversation for Converse; else the GET one,
/// unless the request carries an input that only the POST-like one takes.
Result<const endpoints::Endpoint*> pick(const endpoints::Registry::Named& named, const pb::CallRequest& req,
                                        CallUse use) {
  const auto& name = req.endpoint();
  if (use == CallUse::Session) {
    if (named.post && named.post->cfg.is_session()) return named.post;
    return make_error("endpoint '" + name + "' is not of kind session: run it with Call, CallStream or SubmitJob");
  }
  const endpoints::Endpoint* post = named.post && !named.post->cfg.is_session() ? named.post : nullptr;
  if (!named.get && !post)
    return make_error("endpoint '" + name + "' is of kind session: talk to it with Converse");
  if (!req.input().empty() && post && frontdoor::body_is_input(post->cfg)) return post;
  return named.get ? named.get : post;
}

}  // namespace

Prepared prepare(const Core& core, const pb::CallRequest& req, const CallInfo& call, CallUse use) {
  Prepared p;
  const auto* named = core.registry->find(req.endpoint());
  if (!named) {
    p.failure = failure(C::NOT_FOUND, "NotFound", "no endpoint named '" + req.endpoint() + "' (ListEndpoints lists them)");
    return p;
  }
  auto picked = pick(*named, req, use);
  if (!picked) {
    p.failure = failure(C::INVALID_ARGUMENT, "BadRequest", picked.error());
    return p;
  }
  const endpoints::Endpoint& ep = **picked;
  // Who may call it, then one call of the caller's rate (before any work on the request).
  if (auto denied = call.authorize(ep.cfg)) {
    p.failure = std::move(*denied);
    return p;
  }
  if (auto denied = call.charge()) {
    p.failure = std::move(*denied);
    return p;
  }
  const bool body_input = frontdoor::body_is_input(ep.cfg);
  if (!req.input().empty() && !body_input) {
    p.failure = failure(C::INVALID_ARGUMENT, "BadRequest",
                        "endpoint '" + ep.cfg.name +
                            "' takes no input (it has no `input:` from: body); leave CallRequest.input empty and pass "
                            "parameters in args/kwargs");
    return p;
  }
  auto args = call_args(req);
  if (!args) {
    p.failure = failure(C::INVALID_ARGUMENT, "BadRequest", args.error());
    return p;
  }
  auto bound = ep.bind(*args);
  if (!bound) {
    p.failure = failure(C::INVALID_ARGUMENT, "BadRequest", bound.error());
    return p;
  }
  // from: body takes CallRequest.input (empty: an empty body, as over HTTP); param:NAME the argument.
  auto inputs = frontdoor::call_inputs(ep.cfg, body_input ? req.input() : std::string(), *args);
  if (!inputs) {
    p.failure = failure(C::INVALID_ARGUMENT, "BadRequest", inputs.error());
    return p;
  }
  const bool async = use == CallUse::Submit;
  jobs::JobSpec spec;
  spec.endpoint = ep.cfg.name;
  spec.launch.inferlet = ep.cfg.inferlet;
  spec.launch.arguments = std::move(bound->arguments);  // 0.2
  spec.launch.input = std::move(bound->input);          // 0.5
  spec.result = ep.cfg.result;
  spec.format = ep.cfg.format;
  spec.timeout = ep.cfg.timeout;  // a conversation's: its launch and each turn (conversations.hpp)
  spec.async = async || use == CallUse::Session;
  spec.suggested_wait = ep.cfg.suggested_wait;
  spec.group = ep.cfg.group;
  spec.idempotent = ep.cfg.idempotent;
  spec.content_type = ep.cfg.content_type;
  spec.fanout = ep.cfg.fanout;       // one run per server, answered as a list (jobs/fanout.hpp)
  spec.inputs = std::move(*inputs);  // sent once Pie accepts the launch (jobs/job_inputs.cpp)
  if (use == CallUse::Session) {  // as HTTP NAME/open: the job's result is the conversation so far
    spec.result = config::ResultSource::Messages;
    spec.format = config::ResultFormat::Json;
  }
  // A waited call's deadline bounds the job when it is sooner than the endpoint's timeout.
  if (use == CallUse::Wait)
    if (auto left = call.time_left(); left && *left < spec.timeout)
      spec.timeout = std::max(*left, std::chrono::milliseconds(1));
  // The caller's own quota of live jobs, and its fair share near the gateway's cap.
  spec.owner = call.caller_.owner();
  if (auto refused = core.jobs->admit(spec.owner, call.caller_.id->max_live_jobs)) {
    const bool own_cap = refused->kind == jobs::JobService::Refusal::Kind::ClientCap;
    if (core.metrics) core.metrics->client_refused(spec.owner, own_cap ? "live_jobs" : "fair_share");
    p.failure = failure(C::RESOURCE_EXHAUSTED, "TooManyRequests", refused->message);
    p.failure.retry_after_ms = 1000;
    return p;
  }
  p.spec = std::move(spec);
  p.cancel_on_disconnect = ep.cfg.cancel_on_disconnect;
  p.session = ep.cfg.session;
  return p;
}

}  // namespace pg::grpc_api
