// The gRPC server: the Gateway service (the job-running methods are in calls.cpp, engine status
// and daemons in engine.cpp, conversations in converse.cpp, the others here), the health service
// kept in step with the cluster, reflection, and stopping.
#include "grpc/server.hpp"

#include <google/protobuf/descriptor.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <stdexcept>

#include <boost/asio/steady_timer.hpp>

#include "grpc/checked_handler.hpp"
#include "grpc/rpc.hpp"
#include "grpc/tls.hpp"

namespace pg::grpc_api {

namespace {

using C = grpc::StatusCode;
constexpr std::chrono::milliseconds kHealthPeriod{500};
constexpr std::uint32_t kDefaultPage = 100, kMaxPage = 1000;

/// A method answered at once on the io thread: `fn` fills the response or returns the failure.
template <class Req, class Resp>
class SyncRpc final : public UnaryCall {
 public:
  using Fn = std::optional<Failure> (*)(Core&, const CallInfo&, const Req&, Resp*);
  SyncRpc(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx, const char* method, const Req* req, Resp* resp,
          Fn fn)
      : UnaryCall(std::move(core), ctx, method), req_(req), resp_(resp), fn_(fn) {}
  void run() override {
    if (auto f = fn_(*core_, *this, *req_, resp_)) return finish(*f);
    finish_ok();
  }

 private:
  const Req* req_;
  Resp* resp_;
  Fn fn_;
};

template <class Req, class Resp>
grpc::ServerUnaryReactor* sync(const std::shared_ptr<Core>& core, grpc::CallbackServerContext* ctx, const char* method,
                               const Req* req, Resp* resp, typename SyncRpc<Req, Resp>::Fn fn) {
  return UnaryCall::start(std::make_shared<SyncRpc<Req, Resp>>(core, ctx, method, req, resp, fn));
}

/// Only the endpoints the caller may call (all, without access).
std::optional<Failure> list_endpoints(Core& core, const CallInfo& call, const pb::ListEndpointsRequest&,
                                      pb::ListEndpointsResponse* out) {
  for (const auto& ep : core.registry->all()) {
    if (!access::Access::may_call(call.caller_, ep->cfg.allow)) continue;
    to_proto(*ep, out->add_endpoints());
  }
  return std::nullopt;
}

std::optional<Failure> get_job(Core& core, const CallInfo& call, const pb::GetJobRequest& req, pb::Job* out) {
  Failure why;
  auto job = find_job(core, call, req.id(), why);
  if (!job) return why;
  to_proto(*job, out);
  return std::nullopt;
}

std::optional<Failure> cancel_job(Core& core, const CallInfo& call, const pb::CancelJobRequest& req, pb::Job* out) {
  Failure why;
  auto job = find_job(core, call, req.id(), why);
  if (!job) return why;
  if (core.jobs->cancel(req.id()) == jobs::JobService::CancelOutcome::AlreadyFinished)
    return failure(C::FAILED_PRECONDITION, "AlreadyFinished", "job " + req.id() + " has already finished");
  to_proto(*job, out);
  return std::nullopt;
}

/// The caller's own jobs (every job for an admin, or without access).
std::optional<Failure> list_jobs(Core& core, const CallInfo& call, const pb::ListJobsRequest& req,
                                 pb::ListJobsResponse* out) {
  jobs::JobFilter filter;
  if (!call.caller_.admin()) filter.owner = call.caller_.owner();
  switch (req.state()) {
    case pb::JOB_STATE_UNSPECIFIED: break;
    case pb::JOB_STATE_QUEUED: filter.state = jobs::JobState::Queued; break;
    case pb::JOB_STATE_RUNNING: filter.state = jobs::JobState::Running; break;
    case pb::JOB_STATE_COMPLETED: filter.state = jobs::JobState::Completed; break;
    case pb::JOB_STATE_FAILED: filter.state = jobs::JobState::Failed; break;
    case pb::JOB_STATE_CANCELLED: filter.state = jobs::JobState::Cancelled; break;
    default: return failure(C::INVALID_ARGUMENT, "BadRequest", "unknown job state " + std::to_string(req.state()));
  }
  filter.endpoint = req.endpoint();
  const std::uint32_t size = req.page_size() == 0 ? kDefaultPage : std::min(req.page_size(), kMaxPage);
  if (!req.page_token().empty()) {
    // The token is the creation time (steady clock ticks) of the previous page's last job.
    const auto& t = req.page_token();
    if (t.size() > 20 || t.find_first_not_of("0123456789") != std::string::npos)
      return failure(C::INVALID_ARGUMENT, "BadRequest", "page_token is not one this gateway gave out");
    filter.before = jobs::Clock::time_point(jobs::Clock::duration(std::stoll(t)));
  }
  filter.limit = size + 1;  // one more tells whether there is a next page
  auto found = core.jobs->list(filter);
  for (std::size_t i = 0; i < found.size() && i < size; ++i) to_proto(*found[i], out->add_jobs());
  if (found.size() > size)
    out->set_next_page_token(std::to_string(found[size - 1]->created.time_since_epoch().count()));
  return std::nullopt;
}

/// Admins (and everyone without access) get every detail; other callers each server's name and
/// state only (no addresses, sessions, labels, errors or daemons).
std::optional<Failure> list_servers(Core& core, const CallInfo& call, const pb::ListServersRequest&,
                                    pb::ListServersResponse* out) {
  const bool details = call.caller_.admin();
  for (const auto& s : core.cluster->describe()) {
    auto* server = out->add_servers();
    if (details) {
      to_proto(s, server);
      continue;
    }
    server->set_name(s.value("name", ""));
    server->set_state(s.value("state", ""));
  }
  return std::nullopt;
}

class Service final : public pb::Gateway::CallbackService {
 public:
  explicit Service(std::shared_ptr<Core> core) : core_(std::move(core)) {
    // A request that does not parse is answered INVALID_ARGUMENT naming why (checked_handler.hpp).
    // Converse reads its messages in the stream: a bad one fails that read (converse.cpp).
    unary("ListEndpoints", &Service::ListEndpoints);
    unary("Call", &Service::Call);
    streaming("CallStream", &Service::CallStream);
    unary("SubmitJob", &Service::SubmitJob);
    unary("GetJob", &Service::GetJob);
    unary("WaitJob", &Service::WaitJob);
    streaming("WatchJob", &Service::WatchJob);
    unary("CancelJob", &Service::CancelJob);
    unary("ListJobs", &Service::ListJobs);
    unary("ListServers", &Service::ListServers);
    unary("GetModels", &Service::GetModels);
    unary("ListDaemons", &Service::ListDaemons);
    unary("LaunchDaemon", &Service::LaunchDaemon);
  }

  grpc::ServerUnaryReactor* ListEndpoints(grpc::CallbackServerContext* ctx, const pb::ListEndpointsRequest* req,
                                          pb::ListEndpointsResponse* resp) override {
    return sync(core_, ctx, "ListEndpoints", req, resp, &list_endpoints);
  }
  grpc::ServerUnaryReactor* Call(grpc::CallbackServerContext* ctx, const pb::CallRequest* req,
                                 pb::CallResponse* resp) override {
    return start_call(core_, ctx, req, resp);
  }
  grpc::ServerWriteReactor<pb::JobEvent>* CallStream(grpc::CallbackServerContext* ctx, const pb::CallRequest* req) override {
    return start_call_stream(core_, ctx, req);
  }
  grpc::ServerUnaryReactor* SubmitJob(grpc::CallbackServerContext* ctx, const pb::CallRequest* req,
                                      pb::SubmitJobResponse* resp) override {
    return start_submit(core_, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* ctx, const pb::GetJobRequest* req, pb::Job* resp) override {
    return sync(core_, ctx, "GetJob", req, resp, &get_job);
  }
  grpc::ServerUnaryReactor* WaitJob(grpc::CallbackServerContext* ctx, const pb::WaitJobRequest* req, pb::Job* resp) override {
    return start_wait(core_, ctx, req, resp);
  }
  grpc::ServerWriteReactor<pb::JobEvent>* WatchJob(grpc::CallbackServerContext* ctx, const pb::WatchJobRequest* req) override {
    return start_watch(core_, ctx, req);
  }
  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* ctx, const pb::CancelJobRequest* req,
                                      pb::Job* resp) override {
    return sync(core_, ctx, "CancelJob", req, resp, &cancel_job);
  }
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* ctx, const pb::ListJobsRequest* req,
                                     pb::ListJobsResponse* resp) override {
    return sync(core_, ctx, "ListJobs", req, resp, &list_jobs);
  }
  grpc::ServerUnaryReactor* ListServers(grpc::CallbackServerContext* ctx, const pb::ListServersRequest* req,
                                        pb::ListServersResponse* resp) override {
    return sync(core_, ctx, "ListServers", req, resp, &list_servers);
  }
  grpc::ServerUnaryReactor* GetModels(grpc::CallbackServerContext* ctx, const pb::GetModelsRequest* req,
                                      pb::GetModelsResponse* resp) override {
    return start_get_models(core_, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* ListDaemons(grpc::CallbackServerContext* ctx, const pb::ListDaemonsRequest* req,
                                        pb::ListDaemonsResponse* resp) override {
    return start_list_daemons(core_, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* LaunchDaemon(grpc::CallbackServerContext* ctx, const pb::LaunchDaemonRequest* req,
                                         pb::Daemon* resp) override {
    return start_launch_daemon(core_, ctx, req, resp);
  }
  grpc::ServerBidiReactor<pb::ConverseRequest, pb::ConverseResponse>* Converse(grpc::CallbackServerContext* ctx) override {
    return start_converse(core_, ctx);
  }

 private:
  static int method_index(const char* name) {
    const auto* svc = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
        std::string(pb::Gateway::service_full_name()));
    const auto* m = svc ? svc->FindMethodByName(name) : nullptr;
    if (!m) throw std::logic_error(std::string("pie.gateway.v1.Gateway has no method ") + name);
    return m->index();
  }
  template <class Req, class Resp>
  void unary(const char* name,
             grpc::ServerUnaryReactor* (Service::*method)(grpc::CallbackServerContext*, const Req*, Resp*)) {
    using H = CheckedHandler<Req, Resp, false>;
    MarkMethodCallback(method_index(name), new H(new typename H::Inner(
                                               [this, method](grpc::CallbackServerContext* ctx, const Req* req,
                                                              Resp* resp) { return (this->*method)(ctx, req, resp); })));
  }
  template <class Req, class Resp>
  void streaming(const char* name,
                 grpc::ServerWriteReactor<Resp>* (Service::*method)(grpc::CallbackServerContext*, const Req*)) {
    using H = CheckedHandler<Req, Resp, true>;
    MarkMethodCallback(method_index(name),
                       new H(new typename H::Inner([this, method](grpc::CallbackServerContext* ctx, const Req* req) {
                         return (this->*method)(ctx, req);
                       })));
  }

  std::shared_ptr<Core> core_;
};

std::string grpc_address(const config::ListenAddress& a) {
  bool v6 = a.host.find(':') != std::string::npos;
  return (v6 ? "[" + a.host + "]" : a.host) + ":" + std::to_string(a.port);
}

}  // namespace

struct GrpcServer::Impl {
  std::shared_ptr<Core> core = std::make_shared<Core>();
  std::unique_ptr<Service> service;
  std::unique_ptr<RotatingTls> tls;  // before `server`: gRPC asks it for certificates until the server is gone
  std::unique_ptr<grpc::Server> server;
  boost::asio::steady_timer health_timer;
  std::vector<std::string> groups;
  std::map<std::string, bool> health;  // last status set, by service name

  explicit Impl(boost::asio::any_io_executor io) : health_timer(io) {}

  void set_health(const std::string& name, bool serving) {
    auto it = health.find(name);
    if (it != health.end() && it->second == serving) return;
    health[name] = serving;
    server->GetHealthCheckService()->SetServingStatus(name, serving);
  }

  /// "" and the Gateway service: at least one Pie session is open; "group/<name>": a server of
  /// that group can take launches.
  void refresh_health() {
    if (!server || core->stopping.load()) return;
    bool ready = core->cluster->ready();
    set_health("", ready);
    set_health(pb::Gateway::service_full_name(), ready);
    for (const auto& g : groups) set_health("group/" + g, !core->cluster->healthy_servers(g).empty());
    health_timer.expires_after(kHealthPeriod);
    health_timer.async_wait([this](boost::system::error_code ec) {
      if (!ec) refresh_health();
    });
  }
};

GrpcServer::GrpcServer(boost::asio::any_io_executor io, jobs::JobService& jobs, std::shared_ptr<cluster::Cluster> cluster,
                       std::shared_ptr<const endpoints::Registry> registry, obs::Metrics* metrics)
    : impl_(std::make_unique<Impl>(io)) {
  auto& c = *impl_->core;
  c.io = std::move(io);
  c.jobs = &jobs;
  c.cluster = std::move(cluster);
  c.registry = std::move(registry);
  c.metrics = metrics;
}

GrpcServer::~GrpcServer() { stop(); }

Result<std::uint16_t> GrpcServer::start(const config::ListenAddress& addr, const config::GrpcLimits& limits,
                                        std::shared_ptr<const tls::Material> tls) {
  auto& d = *impl_;
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  d.service = std::make_unique<Service>(d.core);
  grpc::ServerBuilder builder;
  int port = 0;
  const std::string where = grpc_address(addr);
  if (tls) d.tls = std::make_unique<RotatingTls>(std::move(tls));
  builder.AddListeningPort(where, d.tls ? d.tls->credentials() : grpc::InsecureServerCredentials(), &port);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);  // a port in use is an error, not shared
  builder.SetMaxReceiveMessageSize(static_cast<int>(limits.max_recv_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(limits.max_send_bytes));
  builder.RegisterService(d.service.get());
  d.server = builder.BuildAndStart();
  if (!d.server || port == 0) {
    d.server.reset();
    return make_error("cannot listen for gRPC on " + where + " (address in use or not local?)");
  }
  d.refresh_health();
  return static_cast<std::uint16_t>(port);
}

void GrpcServer::set_conversations(conversations::ConversationService* c) { impl_->core->conversations = c; }

void GrpcServer::set_access(std::shared_ptr<access::Access> a) { impl_->core->access = std::move(a); }

void GrpcServer::set_model_status(std::shared_ptr<cluster::ModelStatus> m) { impl_->core->models = std::move(m); }

void GrpcServer::set_registry(std::shared_ptr<const endpoints::Registry> registry) {
  impl_->core->registry = std::move(registry);
}

void GrpcServer::set_groups(std::vector<std::string> groups) {
  auto& d = *impl_;
  for (const auto& old : d.groups)
    if (std::find(groups.begin(), groups.end(), old) == groups.end() && d.server) {
      d.server->GetHealthCheckService()->SetServingStatus("group/" + old, false);
      d.health.erase("group/" + old);
    }
  d.groups = std::move(groups);
}

Result<bool> GrpcServer::set_tls(std::shared_ptr<const tls::Material> tls) {
  if (!impl_->tls || !tls) return make_error("tls: cannot be turned on or off while running: restart the service");
  return impl_->tls->replace(std::move(tls));
}

void GrpcServer::shutdown() {
  auto& d = *impl_;
  if (!d.server) return;
  d.core->refusing = true;
  d.health_timer.cancel();
  d.server->GetHealthCheckService()->Shutdown();  // NOT_SERVING everywhere, from now on
}

std::size_t GrpcServer::busy() const {
  std::lock_guard lock(impl_->core->live_mu);
  std::size_t n = 0;
  for (const auto& [key, weak] : impl_->core->live)
    if (auto call = weak.lock(); call && call->drains()) ++n;
  return n;
}

void GrpcServer::stop() {
  auto& d = *impl_;
  if (!d.server) return;
  d.core->stopping = true;
  d.health_timer.cancel();
  std::vector<std::shared_ptr<Abortable>> open;
  {
    std::lock_guard lock(d.core->live_mu);
    for (auto& [key, weak] : d.core->live)
      if (auto call = weak.lock()) open.push_back(std::move(call));
  }
  for (auto& call : open) call->abort_now("the gateway is shutting down");
  open.clear();
  // Every call of ours is finished (or finishes on a gRPC thread after its write in flight), so
  // this returns without the io thread; gRPC cancels its own (health watches, reflection).
  d.server->Shutdown(std::chrono::system_clock::now());
  d.server.reset();
  d.service.reset();
}

}  // namespace pg::grpc_api
