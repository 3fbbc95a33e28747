// TarpHttp's engine built-ins: GET gateway/models (every server's `model_status`, gathered in
// parallel and reused for a short while: cluster/model_status.hpp, shared with gRPC GetModels)
// and POST gateway/daemons (start a server inferlet; admin only when access is on).
#include <nlohmann/json.hpp>

#include "frontdoor/tarp_http.hpp"
#include "tarp/envelope.hpp"

namespace pg::frontdoor {

using json = nlohmann::json;

std::shared_ptr<cluster::ModelStatus> TarpHttp::model_status() {
  if (!models_) models_ = std::make_shared<cluster::ModelStatus>(cluster_);
  return models_;
}

void TarpHttp::set_models_cache(std::chrono::milliseconds ttl) { model_status()->set_ttl(ttl); }

bool TarpHttp::engine(const std::string& path, const Caller& caller, http::Request& req, http::Responder& respond) {
  if (path == "/gateway/models" || path == "/gateway_models") {
    if (req.method != "GET") {
      auto r = tarp::error(405, "MethodNotAllowed", path + " answers GET only");
      r.headers.emplace_back("Allow", "GET");
      respond(std::move(r));
    } else {
      models(respond);
    }
    return true;
  }
  if (path == "/gateway/daemons" || path == "/gateway_daemons") {
    if (auto refused = access_ ? access_->require_admin(caller, "gateway/daemons") : std::nullopt) {
      deny(*refused, respond);
    } else if (req.method != "POST") {
      auto r = tarp::error(405, "MethodNotAllowed", path + " answers POST only");
      r.headers.emplace_back("Allow", "POST");
      respond(std::move(r));
    } else {
      launch_daemon(req, respond);
    }
    return true;
  }
  return false;
}

void TarpHttp::models(http::Responder& respond) {
  model_status()->get([respond](const json& answer) { respond(tarp::success(answer, tarp::kJson)); });
}

void TarpHttp::launch_daemon(http::Request& req, http::Responder& respond) {
  auto body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return respond(tarp::error(400, "BadRequest", "the body must be a JSON object {server, port, inferlet, arguments}"));
  auto text = [&](const char* key) { return body.contains(key) && body[key].is_string() ? body[key].get<std::string>() : std::string(); };
  const std::string server = text("server"), inferlet = text("inferlet");
  if (server.empty() || inferlet.empty())
    return respond(tarp::error(400, "BadRequest", "'server' and 'inferlet' are required strings"));
  if (!body.contains("port") || !body["port"].is_number_integer() || body["port"].get<long long>() < 1 ||
      body["port"].get<long long>() > 65535)
    return respond(tarp::error(400, "BadRequest", "'port' must be an integer from 1 to 65535"));
  std::vector<std::string> args;
  if (body.contains("arguments")) {
    if (!body["arguments"].is_array())
      return respond(tarp::error(400, "BadRequest", "'arguments' must be a list of strings"));
    for (auto& a : body["arguments"]) {
      if (!a.is_string()) return respond(tarp::error(400, "BadRequest", "'arguments' must be a list of strings"));
      args.push_back(a.get<std::string>());
    }
  }
  const auto port = body["port"].get<std::uint32_t>();
  cluster_->launch_server(server, port, inferlet, std::move(args),
                          [respond, server, port](Result<std::string> r) {
                            if (!r) return respond(tarp::error(502, "DaemonLaunchFailed", server + ": " + r.error()));
                            respond(tarp::success(json{{"server", server}, {"port", port}, {"reply", *r}}, tarp::kJson));
                          });
}

}  // namespace pg::frontdoor
