// The TARP front door over HTTP: discovery at GET /, web-like endpoints (GET/POST /<name>),
// RPC and async RPC (POST /<name> with pickled args), job handles (asyncProbe, asyncGet),
// the gateway/ built-ins, and health probes. Every call is a job in the shared JobService.
#pragma once

#include <memory>
#include <string>

#include "cluster/cluster.hpp"
#include "endpoints/registry.hpp"
#include "http/message.hpp"
#include "jobs/job_service.hpp"

namespace pg::obs {
class Metrics;
}

namespace pg::frontdoor {

class TarpHttp : public http::Handler {
 public:
  /// `metrics` (null = none) times every request and serves GET /metrics; it must outlive this.
  TarpHttp(std::shared_ptr<const endpoints::Registry> registry, jobs::JobService& jobs,
           std::shared_ptr<cluster::Cluster> cluster, obs::Metrics* metrics = nullptr);

  /// Swap in the endpoints of a reloaded configuration (calls in flight are unaffected).
  void set_registry(std::shared_ptr<const endpoints::Registry> registry);

  void handle(http::Request req, http::Responder respond) override;
  http::Response transport_error(int status, std::string_view type, std::string_view message) override;

 private:
  bool builtin(const std::string& path, http::Request& req, http::Responder& respond);
  /// `respond`, also recording the request in the metrics under a bounded endpoint label.
  http::Responder timed(const endpoints::Registry::Named* named, const std::string& path, const std::string& method,
                        http::Responder respond);
  void call_web(const endpoints::Endpoint& ep, http::Request& req, http::Responder& respond);
  void call_rpc(const endpoints::Endpoint& ep, http::Request& req, http::Responder& respond);
  void run(const endpoints::Endpoint& ep, std::vector<std::string> args, bool rpc, http::Responder& respond);
  void async_probe(http::Request& req, http::Responder& respond, bool fetch);
  void list_jobs(http::Request& req, http::Responder& respond);
  void cancel_job(http::Request& req, http::Responder& respond);

  std::shared_ptr<const endpoints::Registry> registry_;
  jobs::JobService& jobs_;
  std::shared_ptr<cluster::Cluster> cluster_;
  http::Response discovery_;
  obs::Metrics* metrics_ = nullptr;
};

}  // namespace pg::frontdoor
