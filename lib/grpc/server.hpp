// The gRPC front door (pie.gateway.v1.Gateway, proto/pie/gateway/v1/gateway.proto): the same
// endpoints and JobService as HTTP, on gRPC's callback API. Also the standard grpc.health.v1
// Health service (readiness) and server reflection. No gRPC types in this header.
//
// Every method except the constructor runs on the gateway's io thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "access/access.hpp"
#include "cluster/cluster.hpp"
#include "common/result.hpp"
#include "config/model.hpp"
#include "endpoints/registry.hpp"
#include "jobs/job_service.hpp"

namespace pg::obs {
class Metrics;
}
namespace pg::conversations {
class ConversationService;
}
namespace pg::cluster {
class ModelStatus;
}
namespace pg::tls {
struct Material;
}

namespace pg::grpc_api {

class GrpcServer {
 public:
  /// `metrics` may be null; it, `jobs` and the io context must outlive this object.
  GrpcServer(boost::asio::any_io_executor io, jobs::JobService& jobs, std::shared_ptr<cluster::Cluster> cluster,
             std::shared_ptr<const endpoints::Registry> registry, obs::Metrics* metrics);
  ~GrpcServer();  // stop()
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  /// Bind and start serving; returns the bound port (the address may say port 0). With `tls`,
  /// TLS only (grpc/tls.hpp); without, plaintext.
  Result<std::uint16_t> start(const config::ListenAddress& addr, const config::GrpcLimits& limits,
                              std::shared_ptr<const tls::Material> tls = nullptr);

  /// Before start(): the conversations Converse talks to (null or unset: Converse is UNAVAILABLE);
  /// it must outlive this object.
  void set_conversations(conversations::ConversationService* c);
  /// Who may call what (access/); the open caller for everyone when never set.
  void set_access(std::shared_ptr<access::Access> a);
  /// Before start(): the model_status gatherer and cache HTTP gateway/models uses, so GetModels
  /// shares it (unset: GetModels keeps its own).
  void set_model_status(std::shared_ptr<cluster::ModelStatus> m);

  /// Reload: new endpoints for new calls; server groups for the health service.
  void set_registry(std::shared_ptr<const endpoints::Registry> registry);
  void set_groups(std::vector<std::string> groups);
  /// Reload: the certificate, key and client CAs of new handshakes (TLS servers only).
  Result<bool> set_tls(std::shared_ptr<const tls::Material> tls);

  /// Start a graceful stop: new calls are refused (UNAVAILABLE) and the health service says
  /// NOT_SERVING; calls in flight go on (the gateway waits for busy() to reach 0, then stop()s).
  void shutdown();
  /// Call/CallStream calls in flight (what a graceful stop waits for).
  std::size_t busy() const;
  /// Stop now: every call still open ends UNAVAILABLE, then gRPC shuts down. Blocks only until
  /// gRPC's own threads have released the calls (nothing waits for the io thread).
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pg::grpc_api
