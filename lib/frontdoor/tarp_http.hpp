// The TARP front door over HTTP: discovery at GET /, web-like endpoints (GET/POST /<name>),
// RPC and async RPC (POST /<name> with pickled args), job handles (asyncProbe, asyncGet),
// the gateway/ built-ins, and health probes. Every call is a job in the shared JobService.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "access/access.hpp"
#include "cluster/cluster.hpp"
#include "cluster/model_status.hpp"
#include "endpoints/registry.hpp"
#include "http/message.hpp"
#include "jobs/job_service.hpp"

namespace pg::obs {
class Metrics;
}
namespace pg::conversations {
class ConversationService;
}

namespace pg::frontdoor {

class TarpHttp : public http::Handler {
 public:
  /// `metrics` (null = none) times every request and serves GET /metrics; it must outlive this.
  TarpHttp(std::shared_ptr<const endpoints::Registry> registry, jobs::JobService& jobs,
           std::shared_ptr<cluster::Cluster> cluster, obs::Metrics* metrics = nullptr);

  /// Swap in the endpoints of a reloaded configuration (calls in flight are unaffected).
  void set_registry(std::shared_ptr<const endpoints::Registry> registry);
  /// Cross-origin policy (`cors:`), at start and on reload.
  void set_cors(config::Cors cors);

  void handle(http::Request req, http::Responder respond) override;
  /// The admin listener (listen.admin): /metrics, /healthz and /readyz only.
  void handle_admin(http::Request req, http::Responder respond);
  /// With an admin listener, /metrics is served there only (not on the public address).
  void set_metrics_on_admin_only(bool v) { metrics_elsewhere_ = v; }
  /// How long a GET gateway/models answer is reused (`models_cache:`).
  void set_models_cache(std::chrono::milliseconds ttl);
  /// The gateway/models gatherer and its cache (the gRPC door's GetModels shares it).
  std::shared_ptr<cluster::ModelStatus> model_status();
  /// The conversations of endpoints of kind session (null: such endpoints answer 503).
  void set_conversations(conversations::ConversationService* c) { conversations_ = c; }
  /// Who may call what (access/); the open caller for everyone when never set. `ex` runs the
  /// delayed answers to addresses that keep failing to authenticate.
  void set_access(std::shared_ptr<access::Access> a, boost::asio::any_io_executor ex) {
    access_ = std::move(a);
    ex_ = std::move(ex);
  }
  http::Response transport_error(int status, std::string_view type, std::string_view message) override;
  void tls_handshake_failed() override;

 private:
  using Caller = access::Caller;
  bool builtin(const std::string& path, const Caller& caller, http::Request& req, http::Responder& respond);
  /// `respond`, also recording the request in the metrics under a bounded endpoint label, writing
  /// its access log line (naming `*client` as it is when the answer goes), and returning its
  /// request id (X-Request-Id, taken or generated).
  http::Responder observed(const endpoints::Registry::Named* named, const std::string& path, const http::Request& req,
                           std::shared_ptr<const std::string> client, http::Responder respond);
  /// Who sent `req` (access/), or why it is refused.
  access::Access::Outcome identify(const http::Request& req);
  /// Answer a refusal: 401/403/429 (a 401 only after its delay).
  void deny(const access::Denial& d, http::Responder& respond);
  /// May `caller` call `ep` now (allow:, then one call of its rate)? Answers the refusal if not.
  bool admitted(const Caller& caller, const endpoints::Endpoint& ep, http::Responder& respond, bool charge = true);
  /// Whether `caller` may start a job now (max_live_jobs, fair share); answers 429 if not.
  bool may_start(const Caller& caller, http::Responder& respond);
  /// A job `caller` may see (its own; any for admin), or null: another's job is an unknown one.
  std::shared_ptr<jobs::Job> find_job(const Caller& caller, std::string_view id);
  void call_web(const endpoints::Endpoint& ep, const Caller& caller, http::Request& req, http::Responder& respond);
  void call_rpc(const endpoints::Endpoint& ep, const Caller& caller, http::Request& req, http::Responder& respond);
  void run(const endpoints::Endpoint& ep, const Caller& caller, endpoints::BoundCall bound, bool rpc,
           http::Request& req, http::Responder& respond, std::vector<jobs::JobSpec::Input> inputs = {});
  // Browser routes (browser_routes.cpp): CORS, /ui, `/` for browsers (no credential needed),
  // gateway/jobs/<id>/...
  bool browser(const std::string& path, http::Request& req, http::Responder& respond);
  void job_route(const std::string& rest, const Caller& caller, http::Request& req, http::Responder& respond);
  /// An event-stream call carrying Last-Event-ID resumes its job's stream (true: answered).
  bool resume_call(const endpoints::Endpoint& ep, const Caller& caller, http::Request& req, http::Responder& respond);
  // Job built-ins (job_routes.cpp): asyncProbe, asyncGet, gateway/jobs, gateway/cancel.
  void async_probe(const Caller& caller, http::Request& req, http::Responder& respond, bool fetch);
  void list_jobs(const Caller& caller, http::Request& req, http::Responder& respond);
  void cancel_job(const Caller& caller, http::Request& req, http::Responder& respond);
  // Engine built-ins (engine_routes.cpp): gateway/models, gateway/daemons.
  bool engine(const std::string& path, const Caller& caller, http::Request& req, http::Responder& respond);
  void models(http::Responder& respond);
  void launch_daemon(http::Request& req, http::Responder& respond);
  // Conversations (session_routes.cpp): NAME/open|send|close (JSON) and NAME_open|... (RPC).
  bool session_route(const std::string& path, const Caller& caller, http::Request& req, http::Responder& respond);
  conversations::ConversationService* conversations_ = nullptr;
  std::shared_ptr<access::Access> access_;
  std::optional<boost::asio::any_io_executor> ex_;
  std::shared_ptr<cluster::ModelStatus> models_;  // created by model_status()

  std::shared_ptr<const endpoints::Registry> registry_;
  jobs::JobService& jobs_;
  std::shared_ptr<cluster::Cluster> cluster_;
  http::Response discovery_;  // everything: what the open caller and admins see
  std::shared_ptr<const config::Cors> cors_ = std::make_shared<const config::Cors>();
  obs::Metrics* metrics_ = nullptr;
  bool metrics_elsewhere_ = false;
  bool req_is_admin_ = false;
};

/// The session endpoint (kind session) a NAME/open|send|close or NAME_open|_send|_close path
/// belongs to, or null (session_routes.cpp).
const endpoints::Registry::Named* session_endpoint(const endpoints::Registry& reg, const std::string& path);

/// The admin listener's handler: forwards to TarpHttp::handle_admin.
class AdminHttp : public http::Handler {
 public:
  explicit AdminHttp(TarpHttp& tarp) : tarp_(tarp) {}
  void handle(http::Request req, http::Responder respond) override { tarp_.handle_admin(std::move(req), std::move(respond)); }
  http::Response transport_error(int status, std::string_view type, std::string_view message) override {
    return tarp_.transport_error(status, type, message);
  }

 private:
  TarpHttp& tarp_;
};

}  // namespace pg::frontdoor
