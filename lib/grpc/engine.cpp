// Servers, engine status and daemons, as the HTTP built-ins gateway/servers, gateway/models and
// gateway/daemons (frontdoor/engine_routes.cpp): GetModels shares their model_status cache,
// ListDaemons and LaunchDaemon the cluster's daemon records (admins only, with access on).
#include <nlohmann/json.hpp>

#include "cluster/model_status.hpp"
#include "grpc/rpc.hpp"

namespace pg::grpc_api {

namespace {

using C = grpc::StatusCode;
using json = nlohmann::json;

class GetModelsRpc final : public UnaryCall {
 public:
  GetModelsRpc(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx, pb::GetModelsResponse* resp)
      : UnaryCall(std::move(core), ctx, "GetModels"), resp_(resp) {}

  void run() override {
    if (!core_->models) core_->models = std::make_shared<cluster::ModelStatus>(core_->cluster);
    auto self = std::static_pointer_cast<GetModelsRpc>(shared_from_this());
    core_->models->get([self](const json& answer) { self->answer(answer); });
  }

 private:
  void answer(const json& a) {
    if (finished()) return;  // cancelled meanwhile
    for (const auto& s : a.value("servers", json::array())) {
      auto* out = resp_->add_servers();
      out->set_server(s.value("server", ""));
      out->set_ok(s.value("ok", false));
      if (auto e = s.find("error"); e != s.end() && e->is_string()) out->set_error(e->get<std::string>());
      if (auto st = s.find("status"); st != s.end()) {
        auto v = value::from_json(*st);
        if (v) to_proto(*v, out->mutable_status());
        else out->mutable_status()->set_string_value(st->dump());
      }
    }
    const auto age = a.value("age_ms", std::int64_t{0});
    resp_->mutable_age()->set_seconds(age / 1000);
    resp_->mutable_age()->set_nanos(static_cast<int>((age % 1000) * 1000000));
    finish_ok();
  }

  pb::GetModelsResponse* resp_;
};

class ListDaemonsRpc final : public UnaryCall {
 public:
  ListDaemonsRpc(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx, const pb::ListDaemonsRequest* req,
                 pb::ListDaemonsResponse* resp)
      : UnaryCall(std::move(core), ctx, "ListDaemons"), req_(req), resp_(resp) {}

  void run() override {
    if (auto denied = require_admin("ListDaemons")) return finish(*denied);
    bool known = req_->server().empty();
    for (const auto& s : core_->cluster->describe()) {
      const auto name = s.value("name", "");
      if (!req_->server().empty() && name != req_->server()) continue;
      known = true;
      if (auto d = s.find("daemons"); d != s.end() && d->is_array())
        for (const auto& one : *d) to_proto_daemon(one, name, resp_->add_daemons());
    }
    if (!known)
      return finish(failure(C::NOT_FOUND, "NotFound", "no Pie server named '" + req_->server() + "' (ListServers lists them)"));
    finish_ok();
  }

 private:
  const pb::ListDaemonsRequest* req_;
  pb::ListDaemonsResponse* resp_;
};

class LaunchDaemonRpc final : public UnaryCall {
 public:
  LaunchDaemonRpc(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx, const pb::LaunchDaemonRequest* req,
                  pb::Daemon* resp)
      : UnaryCall(std::move(core), ctx, "LaunchDaemon"), req_(req), resp_(resp) {}

  void run() override {
    if (auto denied = require_admin("LaunchDaemon")) return finish(*denied);
    const auto& r = *req_;
    if (r.server().empty() || r.inferlet().empty())
      return finish(failure(C::INVALID_ARGUMENT, "BadRequest", "'server' and 'inferlet' are required"));
    if (r.port() < 1 || r.port() > 65535)
      return finish(failure(C::INVALID_ARGUMENT, "BadRequest", "'port' must be from 1 to 65535"));
    bool known = false;
    for (const auto& s : core_->cluster->describe()) known = known || s.value("name", "") == r.server();
    if (!known)
      return finish(failure(C::NOT_FOUND, "NotFound", "no Pie server named '" + r.server() + "' (ListServers lists them)"));
    std::vector<std::string> args(r.arguments().begin(), r.arguments().end());
    auto self = std::static_pointer_cast<LaunchDaemonRpc>(shared_from_this());
    core_->cluster->launch_server(r.server(), r.port(), r.inferlet(), std::move(args),
                                  [self](Result<std::string> reply) { self->launched(std::move(reply)); });
  }

 private:
  void launched(Result<std::string> reply) {
    if (finished()) return;
    const auto& r = *req_;
    if (!reply) return finish(failure(C::INTERNAL, "DaemonLaunchFailed", r.server() + ": " + reply.error()));
    // The cluster's record, as ListDaemons shows it (state, launches), else what was asked.
    for (const auto& s : core_->cluster->describe())
      if (s.value("name", "") == r.server())
        for (const auto& d : s.value("daemons", json::array()))
          if (d.value("port", 0u) == r.port()) {
            to_proto_daemon(d, r.server(), resp_);
            return finish_ok();
          }
    resp_->set_server(r.server());
    resp_->set_port(r.port());
    resp_->set_inferlet(r.inferlet());
    *resp_->mutable_arguments() = r.arguments();
    resp_->set_reply(*reply);
    finish_ok();
  }

  const pb::LaunchDaemonRequest* req_;
  pb::Daemon* resp_;
};

}  // namespace

void to_proto(const nlohmann::json& s, pb::Server* out) {
  out->set_name(s.value("name", ""));
  out->set_uri(s.value("uri", ""));
  out->set_protocol(s.value("protocol", "0.2"));
  out->set_state(s.value("state", ""));
  out->set_sessions(s.value("sessions", 0u));
  out->set_sessions_open(s.value("sessions_open", 0u));
  out->set_instances_in_flight(s.value("instances_in_flight", 0u));
  if (auto g = s.find("groups"); g != s.end() && g->is_array())
    for (const auto& name : *g)
      if (name.is_string()) out->add_groups(name.get<std::string>());
  if (auto l = s.find("labels"); l != s.end() && l->is_object())
    for (const auto& [k, v] : l->items())
      if (v.is_string()) (*out->mutable_labels())[k] = v.get<std::string>();
  out->set_weight(s.value("weight", 1u));
  out->set_max_instances(s.value("max_instances", 0u));
  if (auto e = s.find("last_error"); e != s.end() && e->is_string()) out->set_last_error(e->get<std::string>());
  if (auto d = s.find("daemons"); d != s.end() && d->is_array())
    for (const auto& one : *d) to_proto_daemon(one, out->name(), out->add_daemons());
}

void to_proto_daemon(const nlohmann::json& d, const std::string& server, pb::Daemon* out) {
  out->set_server(server);
  out->set_port(d.value("port", 0u));
  out->set_inferlet(d.value("inferlet", ""));
  if (auto a = d.find("arguments"); a != d.end() && a->is_array())
    for (const auto& arg : *a)
      if (arg.is_string()) out->add_arguments(arg.get<std::string>());
  out->set_state(d.value("state", ""));
  out->set_reply(d.value("reply", ""));
  out->set_launches(d.value("launches", 0u));
}

grpc::ServerUnaryReactor* start_get_models(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx,
                                           const pb::GetModelsRequest*, pb::GetModelsResponse* resp) {
  return UnaryCall::start(std::make_shared<GetModelsRpc>(std::move(core), ctx, resp));
}

grpc::ServerUnaryReactor* start_list_daemons(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx,
                                             const pb::ListDaemonsRequest* req, pb::ListDaemonsResponse* resp) {
  return UnaryCall::start(std::make_shared<ListDaemonsRpc>(std::move(core), ctx, req, resp));
}

grpc::ServerUnaryReactor* start_launch_daemon(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx,
                                              const pb::LaunchDaemonRequest* req, pb::Daemon* resp) {
  return UnaryCall::start(std::make_shared<LaunchDaemonRpc>(std::move(core), ctx, req, resp));
}

}  // namespace pg::grpc_api
