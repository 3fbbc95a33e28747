#include "app/gateway.hpp"

#include <spdlog/spdlog.h>

#include "cluster/cluster.hpp"
#include "endpoints/registry.hpp"
#include "frontdoor/tarp_http.hpp"
#include "http/server.hpp"
#include "jobs/job_service.hpp"

namespace pg::app {

struct Gateway::Impl {
  Impl(boost::asio::io_context& io, config::Config c) : io(io), cfg(std::move(c)) {}
  boost::asio::io_context& io;
  config::Config cfg;
  std::shared_ptr<cluster::Cluster> cluster;
  std::unique_ptr<jobs::JobService> jobs;
  std::unique_ptr<frontdoor::TarpHttp> tarp;
  std::unique_ptr<http::Server> http;
};

Gateway::Gateway(boost::asio::io_context& io, config::Config cfg) : impl_(std::make_unique<Impl>(io, std::move(cfg))) {}

Gateway::~Gateway() { stop(); }

Result<std::uint16_t> Gateway::start() {
  auto& d = *impl_;
  auto registry = endpoints::Registry::build(d.cfg.endpoints);
  if (!registry) return make_error(registry.error());
  d.cluster = cluster::make_pie_cluster(d.io.get_executor(), d.cfg.servers);
  jobs::JobServiceOptions jo;
  jo.retention = d.cfg.jobs.retention;
  jo.max_live_jobs = d.cfg.jobs.max_live;
  jo.max_finished_jobs = d.cfg.jobs.max_finished;
  jo.max_output_bytes = d.cfg.jobs.max_output_bytes;
  d.jobs = std::make_unique<jobs::JobService>(d.io.get_executor(), d.cluster, jo);
  d.tarp = std::make_unique<frontdoor::TarpHttp>(std::make_shared<endpoints::Registry>(std::move(*registry)), *d.jobs,
                                                  d.cluster);
  d.http = std::make_unique<http::Server>(d.io, d.cfg.http, d.cfg.limits, *d.tarp);
  auto port = d.http->start();
  if (!port) return port;
  d.cluster->start();
  return port;
}

void Gateway::stop() {
  if (!impl_) return;
  if (impl_->http) impl_->http->stop();
  if (impl_->cluster) impl_->cluster->stop();
}

}  // namespace pg::app
