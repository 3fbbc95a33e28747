// TarpHttp: conversations (endpoints of kind session) over HTTP. Two spellings of three routes:
//   POST NAME/open, NAME/send, NAME/close   JSON or form bodies, JSON answers (curl, browsers)
//   POST NAME_open, NAME_send, NAME_close   TARP RPC: pickled arguments and results (the Python
//                                            client: h = c.chat_open(); c.chat_send(h, "hi"); c.chat_close(h))
// The handle is the conversation's job id (gateway/jobs, gRPC GetJob/WatchJob and Converse see it).
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "conversations/conversations.hpp"
#include "frontdoor/inputs.hpp"
#include "frontdoor/job_answers.hpp"
#include "frontdoor/tarp_http.hpp"
#include "tarp/body.hpp"
#include "tarp/envelope.hpp"
#include "tarp/query.hpp"
#include "tarp/rpc.hpp"
#include "value/value.hpp"

namespace pg::frontdoor {

using nlohmann::json;
namespace conv = conversations;

namespace {

enum class Verb { Open, Send, Close };

http::Response failure(const conv::Failure& f) {
  using K = conv::Failure::Kind;
  switch (f.kind) {
    case K::NotFound: return tarp::error(404, f.type, f.message);
    case K::Closed: return tarp::error(410, f.type, f.message);
    case K::Busy: return tarp::error(409, f.type, f.message);
    case K::TooMany: {
      auto r = tarp::error(503, f.type, f.message);
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    case K::TurnTimeout: return tarp::error(504, f.type, f.message);
    case K::JobFailed:
      if (f.job) return failure_answer(*f.job);
      return tarp::error(502, f.type, f.message);
  }
  return tarp::error(500, "Internal", f.message);
}

http::Response rpc_value(value::Value v) { return tarp::success(json{{"payload", tarp::rpc_payload_b64(v)}}, tarp::kJson); }

/// The named values of a JSON-door request: the query string, plus a JSON object or form body.
/// Any other body (text/plain, bytes) is not parsed: send takes it as the message itself.
Result<endpoints::Params> door_params(const http::Request& req, bool& body_is_message) {
  endpoints::Params params;
  for (auto& [k, values] : tarp::parse_query(req.query))
    for (auto& v : values) params.emplace_back(k, std::move(v));
  const auto type = tarp::media_type(req.header("Content-Type"));
  body_is_message = !req.body.empty() && type != "application/json" && type != "application/x-www-form-urlencoded";
  if (req.body.empty() || body_is_message) return params;
  auto body = tarp::body_params(req.header("Content-Type"), req.body);
  if (!body) return make_error(body.error());
  for (auto& kv : *body) params.push_back(std::move(kv));
  return params;
}

/// The one value of `name` in `params`, or an error naming it.
Result<std::string> one(const endpoints::Params& params, const std::string& name) {
  const std::string* found = nullptr;
  for (const auto& [k, v] : params) {
    if (k != name) continue;
    if (found) return make_error("parameter '" + name + "' is given more than once");
    found = &v;
  }
  if (!found) return make_error("missing required parameter '" + name + "'");
  return *found;
}

json turn_json(const conv::Turn& t) {
  return {{"session", t.job->id.str()}, {"reply", t.text()}, {"messages", t.messages}, {"ended", t.ended}};
}

}  // namespace

const endpoints::Registry::Named* session_endpoint(const endpoints::Registry& reg, const std::string& path) {
  for (std::string_view verb : {"open", "send", "close"}) {
    if (path.size() < verb.size() + 3 || !path.ends_with(verb)) continue;
    const char sep = path[path.size() - verb.size() - 1];
    if (sep != '/' && sep != '_') continue;
    const auto* named = reg.find(std::string_view(path).substr(1, path.size() - verb.size() - 2));
    if (named && named->post && named->post->cfg.is_session()) return named;
  }
  return nullptr;
}

bool TarpHttp::session_route(const std::string& path, const Caller& caller, http::Request& req,
                             http::Responder& respond) {
  const auto* named = session_endpoint(*registry_, path);
  if (!named) return false;
  const endpoints::Endpoint* ep = named->post;
  const Verb verb = path.ends_with("open") ? Verb::Open : path.ends_with("send") ? Verb::Send : Verb::Close;
  const bool rpc = path[path.size() - (verb == Verb::Close ? 6 : 5)] == '_';
  const auto& cfg = ep->cfg;
  if (req.method != "POST") {
    auto r = tarp::error(405, "MethodNotAllowed", "session route '" + path.substr(1) + "' answers POST only");
    r.headers.emplace_back("Allow", "POST");
    respond(std::move(r));
    return true;
  }
  if (!conversations_) {
    respond(tarp::error(503, "InvalidServerState", "conversations are not available on this gateway"));
    return true;
  }
  auto& service = *conversations_;
  // allow: for every verb; open and send are calls of the caller's rate, close is not.
  if (!admitted(caller, *ep, respond, verb != Verb::Close)) return true;

  // Arguments: RPC (positional, then keywords) or the JSON door's named values.
  endpoints::CallArgs args;
  bool body_is_message = false;
  if (rpc) {
    if (!req.query.empty()) return respond(tarp::error(400, "BadRequest", "RPC route '" + path.substr(1) + "' takes no query string")), true;
    auto call = tarp::decode_rpc_body(req.header("Content-Type"), req.body, tarp::PickleLimits::for_budget(ep->expansion_limit));
    if (!call) return respond(bad_call_answer(call.error())), true;
    for (const auto& v : call->args) args.positional.push_back(value::to_text(v));
    for (const auto& [k, v] : call->kwargs) args.named.emplace_back(k, value::to_text(v));
  } else {
    auto params = door_params(req, body_is_message);
    if (!params) return respond(bad_call_answer(params.error())), true;
    args.named = std::move(*params);
    if (body_is_message && verb != Verb::Send)
      return respond(tarp::error(415, "UnsupportedMediaType",
                                 "send a JSON object or a form (Content-Type application/json or "
                                 "application/x-www-form-urlencoded)")),
             true;
  }
  // send/close take (session[, message]) positionally or by name.
  auto arg = [&](std::size_t pos, const std::string& name) -> Result<std::string> {
    if (pos < args.positional.size()) {
      for (const auto& [k, v] : args.named)
        if (k == name) return make_error("parameter '" + name + "' is given twice (positionally and by name)");
      return args.positional[pos];
    }
    return one(args.named, name);
  };
  auto extra = [&](std::size_t max_positional, std::initializer_list<const char*> names) -> std::string {
    if (args.positional.size() > max_positional) return "takes at most " + std::to_string(max_positional) + " arguments";
    for (const auto& [k, v] : args.named)
      if (std::none_of(names.begin(), names.end(), [&](const char* n) { return k == n; }))
        return "unknown parameter '" + k + "'";
    return {};
  };

  if (verb == Verb::Open) {
    auto bound = ep->bind(args);
    if (!bound) return respond(bad_call_answer(bound.error())), true;
    auto inputs = call_inputs(cfg, {}, args);
    if (!inputs) return respond(tarp::error(400, "BadRequest", inputs.error())), true;
    if (!may_start(caller, respond)) return true;
    jobs::JobSpec spec;
    spec.endpoint = cfg.name;
    spec.owner = caller.owner();  // the conversation is its opener's (and admins')
    spec.launch.inferlet = cfg.inferlet;
    spec.launch.arguments = std::move(bound->arguments);  // 0.2
    spec.launch.input = std::move(bound->input);          // 0.5
    spec.timeout = cfg.timeout;
    spec.group = cfg.group;
    spec.result = config::ResultSource::Messages;  // what gateway/jobs shows: the conversation so far
    spec.format = config::ResultFormat::Json;
    spec.inputs = std::move(*inputs);
    service.open(std::move(spec), cfg.session, [respond, rpc, settings = cfg.session](conv::Opened o) {
      if (auto* f = std::get_if<conv::Failure>(&o)) return respond(failure(*f));
      const auto& job = *std::get<0>(o);
      http::Response r = rpc ? rpc_value(value::Value::str(job.id.str()))
                             : tarp::success(json{{"session", job.id.str()},
                                                  {"endpoint", job.spec.endpoint},
                                                  {"server", job.server},
                                                  {"instance_id", job.instance_id},
                                                  {"idle_timeout", settings.idle_timeout.count() / 1000.0}},
                                             tarp::kJson);
      r.trace = {job.id.str(), job.server, job.instance_id};
      respond(std::move(r));
    });
    return true;
  }

  auto id = arg(0, "session");
  if (!id) return respond(tarp::error(400, "BadRequest", id.error())), true;
  // Another client's conversation answers as an unknown one, at the point an unknown one would.
  auto hidden = [&] {
    auto job = jobs_.find(*id);
    if (!job || access::Access::may_see(caller, job->spec.owner)) return false;
    respond(failure(conv::ConversationService::no_such_session(cfg.name, *id)));
    return true;
  };
  if (verb == Verb::Close) {
    if (auto e = extra(1, {"session"}); !e.empty()) return respond(tarp::error(400, "BadRequest", "close " + e)), true;
    if (hidden()) return true;
    auto closed = service.close(cfg.name, *id);
    if (auto* f = std::get_if<conv::Failure>(&closed)) return respond(failure(*f)), true;
    const auto& job = *std::get<0>(closed);
    http::Response r = rpc ? rpc_value(value::Value::none())
                           : tarp::success(json{{"session", job.id.str()}, {"status", "closed"},
                                                {"messages", job.messages.size()}},
                                           tarp::kJson);
    r.trace = {job.id.str(), job.server, job.instance_id};
    respond(std::move(r));
    return true;
  }
  Result<std::string> message = body_is_message ? Result<std::string>(req.body) : arg(1, "message");
  if (!message) return respond(tarp::error(400, "BadRequest", message.error())), true;
  if (auto e = extra(2, {"session", "message"}); !e.empty()) return respond(tarp::error(400, "BadRequest", "send " + e)), true;
  if (hidden()) return true;
  service.send(cfg.name, *id, std::move(*message), [respond, rpc](conv::Replied out) {
    if (auto* f = std::get_if<conv::Failure>(&out)) return respond(failure(*f));
    const auto& t = std::get<conv::Turn>(out);
    http::Response r = rpc ? rpc_value(value::Value::str(t.text())) : tarp::success(turn_json(t), tarp::kJson);
    if (t.job->incomplete) r.headers.emplace_back("X-Pie-Output-Incomplete", "true");
    r.trace = {t.job->id.str(), t.job->server, t.job->instance_id};
    respond(std::move(r));
  });
  return true;
}

}  // namespace pg::frontdoor
