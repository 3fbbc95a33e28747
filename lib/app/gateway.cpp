#include "app/gateway.hpp"

#include <algorithm>

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>

#include "access/access.hpp"
#include "cluster/cluster.hpp"
#include "conversations/conversations.hpp"
#include "endpoints/registry.hpp"
#include "frontdoor/tarp_http.hpp"
#include "grpc/server.hpp"
#include "http/server.hpp"
#include "jobs/job_service.hpp"
#include "obs/metrics.hpp"
#include "tls/material.hpp"

namespace pg::app {

namespace {

/// Server group names, for the gRPC health service ("group/<name>").
std::vector<std::string> group_names(const config::Config& cfg) {
  std::vector<std::string> out;
  for (const auto& g : cfg.groups) out.push_back(g.name);
  return out;
}

/// `daemons:` not in `before` (same server, port, inferlet and arguments) are launched (or wait
/// for their server's first session); the cluster launches them again after a server restart.
void launch_daemons(cluster::Cluster& cluster, const std::vector<config::DaemonSpec>& daemons,
                    const std::vector<config::DaemonSpec>& before) {
  for (const auto& d : daemons) {
    if (std::any_of(before.begin(), before.end(), [&](const config::DaemonSpec& o) {
          return o.server == d.server && o.port == d.port && o.inferlet == d.inferlet && o.arguments == d.arguments;
        }))
      continue;
    cluster.launch_server(d.server, d.port, d.inferlet, d.arguments, [d](Result<std::string> r) {
      if (!r) spdlog::warn("daemon {} on {} port {}: {}", d.inferlet, d.server, d.port, r.error());
    });
  }
}

jobs::JobServiceOptions job_options(const config::Jobs& j) {
  jobs::JobServiceOptions o;
  o.retention = j.retention;
  o.max_live_jobs = j.max_live;
  o.max_finished_jobs = j.max_finished;
  o.max_finished_sync_jobs = j.max_finished_sync;
  o.max_output_bytes = j.max_output_bytes;
  return o;
}

/// Scrape-time gauges: jobs by state, and each Pie server's sessions (from describe()).
void refresh_gauges(obs::Metrics& m, jobs::JobService* jobs, const cluster::Cluster* cluster) {
  if (jobs) {
    auto c = jobs->counts();
    m.set_jobs(c.queued, c.running, c.finished);
  }
  if (cluster) {
    std::vector<obs::Metrics::PieServerState> servers;
    for (const auto& s : cluster->describe()) {
      obs::Metrics::PieServerState st;
      st.name = s.value("name", "");
      st.sessions_open = s.value("sessions_open", std::size_t{0});
      st.instances_in_flight = s.value("instances_in_flight", std::size_t{0});
      st.up = st.sessions_open > 0;
      st.protocol = s.value("protocol", "0.2");
      servers.push_back(std::move(st));
    }
    m.set_pie_servers(servers);
  }
}

bool loopback(const std::string& host) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(host, ec);
  return host == "localhost" || (!ec && a.is_loopback());
}

/// Without access: the gateway is open; say so once when that reaches beyond this machine.
void warn_if_open(const config::Config& cfg) {
  if (cfg.access.enabled) return;
  std::vector<std::string> exposed;
  if (!loopback(cfg.http.host)) exposed.push_back("http " + cfg.http.host);
  if (cfg.grpc && !loopback(cfg.grpc->host)) exposed.push_back("grpc " + cfg.grpc->host);
  if (exposed.empty()) return;
  std::string where;
  for (const auto& e : exposed) where += (where.empty() ? "" : ", ") + e;
  spdlog::warn("no access: section: anyone who can reach {} may run inferlets, read and cancel every job "
               "(README: Securing the gateway)", where);
}

/// "client certificates: ..." for the TLS log lines.
std::string client_cert_mode(const config::Tls& t) {
  if (t.client_ca_file.empty()) return "client certificates not asked for";
  return std::string("client certificates ") + (t.require_client_cert ? "required" : "verified when sent") +
         " (CAs from " + t.client_ca_file + ")";
}

/// Why `next` cannot replace `now` on a reload ("" = it can): TLS on/off and whether client
/// certificates are asked for are fixed while running.
std::string tls_reload_error(const std::optional<config::Tls>& now, const std::optional<config::Tls>& next) {
  if (now.has_value() != next.has_value())
    return "tls: cannot be turned on or off while running: restart the service";
  if (now && (now->client_ca_file.empty() != next->client_ca_file.empty() ||
              now->require_client_cert != next->require_client_cert))
    return "tls.client_ca_file and tls.require_client_cert cannot be turned on or off while running: restart the service";
  return {};
}

}  // namespace

struct Gateway::Impl {
  Impl(boost::asio::io_context& io, config::Config c) : io(io), cfg(std::move(c)) {}
  boost::asio::io_context& io;
  config::Config cfg;
  obs::Metrics metrics;  // first: outlives everything that counts into it
  std::shared_ptr<access::Access> access;  // access: identities, roles, quotas (off = open)
  std::shared_ptr<cluster::Cluster> cluster;
  std::unique_ptr<jobs::JobService> jobs;
  std::unique_ptr<conversations::ConversationService> conversations;  // endpoints of kind session
  std::unique_ptr<frontdoor::TarpHttp> tarp;
  std::unique_ptr<http::Server> http;
  std::unique_ptr<frontdoor::AdminHttp> admin_handler;
  std::unique_ptr<http::Server> admin;  // listen.admin (optional)
  std::unique_ptr<grpc_api::GrpcServer> grpc;  // listen.grpc (optional); last: stopped first
};

Gateway::Gateway(boost::asio::io_context& io, config::Config cfg) : impl_(std::make_unique<Impl>(io, std::move(cfg))) {}

Gateway::~Gateway() { stop(); }

Result<std::uint16_t> Gateway::start() {
  auto& d = *impl_;
  auto registry = endpoints::Registry::build(d.cfg.endpoints, kExpansionFactor * d.cfg.limits.max_body_bytes);
  if (!registry) return make_error(registry.error());
  d.cluster = cluster::make_pie_cluster(d.io.get_executor(), d.cfg.cluster_config(), &d.metrics);
  d.jobs = std::make_unique<jobs::JobService>(d.io.get_executor(), d.cluster, job_options(d.cfg.jobs), &d.metrics);
  d.conversations = std::make_unique<conversations::ConversationService>(d.io.get_executor(), *d.jobs);
  d.metrics.on_scrape([&d] {
    refresh_gauges(d.metrics, d.jobs.get(), d.cluster.get());
    d.metrics.set_conversations(d.conversations->open_by_endpoint());
  });
  auto shared_registry = std::make_shared<const endpoints::Registry>(std::move(*registry));
  d.tarp = std::make_unique<frontdoor::TarpHttp>(shared_registry, *d.jobs, d.cluster, &d.metrics);
  d.access = std::make_shared<access::Access>(d.cfg.access, &d.metrics);
  warn_if_open(d.cfg);
  d.tarp->set_conversations(d.conversations.get());
  d.tarp->set_access(d.access, d.io.get_executor());
  d.tarp->set_cors(d.cfg.cors);
  d.http = std::make_unique<http::Server>(d.io, d.cfg.http, d.cfg.limits, *d.tarp);
  d.http->set_allowed_hosts(d.cfg.allowed_hosts);
  if (d.cfg.tls) {
    if (auto ok = d.http->set_tls(*d.cfg.tls->material); !ok) return make_error("tls: " + ok.error());
    spdlog::info("TLS on listen.http{}: certificate {}; {}", d.cfg.grpc ? " and listen.grpc" : "",
                 d.cfg.tls->material->summary, client_cert_mode(*d.cfg.tls));
  }
  auto port = d.http->start();
  if (!port) return port;
  if (d.cfg.admin) {
    d.tarp->set_metrics_on_admin_only(true);
    d.admin_handler = std::make_unique<frontdoor::AdminHttp>(*d.tarp);
    d.admin = std::make_unique<http::Server>(d.io, *d.cfg.admin, d.cfg.limits, *d.admin_handler);
    d.admin->set_allowed_hosts(d.cfg.allowed_hosts);
    auto admin_port = d.admin->start();
    if (!admin_port) return make_error("listen.admin: " + admin_port.error());
    d.cfg.admin->port = *admin_port;
  }
  if (d.cfg.grpc) {
    d.grpc = std::make_unique<grpc_api::GrpcServer>(d.io.get_executor(), *d.jobs, d.cluster, shared_registry, &d.metrics);
    d.grpc->set_groups(group_names(d.cfg));
    d.grpc->set_conversations(d.conversations.get());
    d.grpc->set_access(d.access);
    d.grpc->set_model_status(d.tarp->model_status());  // one gateway/models cache for both doors
    auto grpc_port = d.grpc->start(*d.cfg.grpc, d.cfg.grpc_limits, d.cfg.tls ? d.cfg.tls->material : nullptr);
    if (!grpc_port) return make_error("listen.grpc: " + grpc_port.error());
    d.cfg.grpc->port = *grpc_port;
  }
  d.cluster->start();
  d.tarp->set_models_cache(d.cfg.models_cache);
  launch_daemons(*d.cluster, d.cfg.daemons, {});
  return port;
}

void Gateway::stop() {
  if (!impl_) return;
  if (impl_->grpc) impl_->grpc->stop();
  if (impl_->http) impl_->http->stop();
  if (impl_->admin) impl_->admin->stop();
  if (impl_->cluster) impl_->cluster->stop();
}

namespace {

/// Calls `step` every `period` until it returns true or `deadline` passes, then `done(finished)`.
void poll_until(boost::asio::io_context& io, std::chrono::steady_clock::time_point deadline,
                std::function<bool()> step, std::function<void(bool)> done) {
  if (step()) return done(true);
  if (std::chrono::steady_clock::now() >= deadline) return done(false);
  auto t = std::make_shared<boost::asio::steady_timer>(io, std::chrono::milliseconds(20));
  t->async_wait([&io, t, deadline, step = std::move(step), done = std::move(done)](boost::system::error_code) mutable {
    poll_until(io, deadline, std::move(step), std::move(done));
  });
}

}  // namespace

void Gateway::shutdown(std::chrono::milliseconds drain_timeout, std::function<void()> done) {
  auto& d = *impl_;
  if (!d.http) return done();
  d.http->stop();  // no new connections; idle ones close, busy ones close after their answer
  if (d.grpc) d.grpc->shutdown();  // no new calls; those in flight may finish
  const auto start = std::chrono::steady_clock::now();
  spdlog::info("draining: {} HTTP requests in flight, {} jobs running (up to {} ms)", d.http->busy_connections(),
               d.jobs->live(), drain_timeout.count());
  poll_until(
      d.io, start + drain_timeout,
      [&d] { return d.http->busy_connections() == 0 && (!d.grpc || d.grpc->busy() == 0); },
      [this, &d, done = std::move(done)](bool drained) mutable {
        if (!drained) {
          // Callers still waiting get 503 (their jobs fail as Unavailable) and their instances end.
          auto n = d.jobs->abort_if([](const jobs::Job& j) { return !j.spec.async; },
                                    jobs::JobError{jobs::JobError::Kind::Unavailable, "ShuttingDown",
                                                   "the gateway is shutting down; retry on another instance"});
          spdlog::warn("drain time over: {} sync calls answered 503 and their Pie instances terminated", n);
        }
        std::size_t async_running = d.jobs->live();
        if (async_running > 0) {
          if (d.cfg.shutdown.terminate_async_jobs) {
            d.jobs->abort_if([](const jobs::Job&) { return true; },
                             jobs::JobError{jobs::JobError::Kind::Cancelled, "ShuttingDown", "the gateway shut down"});
            spdlog::info("shutdown: terminated the Pie instances of {} running async jobs (shutdown.async_jobs: terminate)",
                         async_running);
          } else {
            spdlog::info("shutdown: left the Pie instances of {} running async jobs detached (shutdown.async_jobs: detach)",
                         async_running);
          }
        }
        // Let the terminate requests be answered before the sessions close (bounded).
        poll_until(
            d.io, std::chrono::steady_clock::now() + std::chrono::seconds(1),
            [&d] { return d.cluster->pending_requests() == 0 && d.http->open_connections() == 0; },
            [this, done = std::move(done)](bool) {
              stop();
              done();
            });
      });
}

Result<bool> Gateway::reload(config::Config cfg) {
  auto& d = *impl_;
  auto same_admin = [](const std::optional<config::ListenAddress>& a, const std::optional<config::ListenAddress>& b) {
    return a.has_value() == b.has_value() && (!a || (a->host == b->host && (a->port == b->port || b->port == 0)));
  };
  if (!same_admin(d.cfg.admin, cfg.admin))
    return make_error("listen.admin cannot change while running: restart the service to move it");
  if (!same_admin(d.cfg.grpc, cfg.grpc))
    return make_error("listen.grpc cannot change while running: restart the service to move it");
  if (cfg.http.host != d.cfg.http.host || (cfg.http.port != d.cfg.http.port && cfg.http.port != 0))
    return make_error("listen.http cannot change while running (" + d.cfg.http.host + ":" +
                      std::to_string(d.cfg.http.port) + " -> " + cfg.http.host + ":" + std::to_string(cfg.http.port) +
                      "): restart the service to move it");
  if (auto why = tls_reload_error(d.cfg.tls, cfg.tls); !why.empty()) return make_error(why);
  auto registry = endpoints::Registry::build(cfg.endpoints, kExpansionFactor * cfg.limits.max_body_bytes);
  if (!registry) return make_error(registry.error());
  if (cfg.tls) {  // first: the only step here that may still fail
    if (auto ok = d.http->set_tls(*cfg.tls->material); !ok) return make_error("tls: " + ok.error());
    if (d.grpc)
      if (auto ok = d.grpc->set_tls(cfg.tls->material); !ok) return make_error("tls: " + ok.error());
    spdlog::info("TLS: new connections get certificate {}; open ones keep theirs", cfg.tls->material->summary);
  }
  auto shared_registry = std::make_shared<const endpoints::Registry>(std::move(*registry));
  d.tarp->set_registry(shared_registry);
  d.tarp->set_cors(cfg.cors);
  d.access->configure(cfg.access);  // the clients file was re-read with the config
  if (d.grpc) {
    d.grpc->set_registry(shared_registry);
    d.grpc->set_groups(group_names(cfg));
  }
  d.jobs->set_options(job_options(cfg.jobs));
  d.http->set_limits(cfg.limits);
  d.http->set_allowed_hosts(cfg.allowed_hosts);
  if (d.admin) d.admin->set_allowed_hosts(cfg.allowed_hosts);
  d.cluster->reconfigure(cfg.cluster_config());
  d.tarp->set_models_cache(cfg.models_cache);
  launch_daemons(*d.cluster, cfg.daemons, d.cfg.daemons);  // new or changed ones only
  auto old_port = d.cfg.http.port;
  auto old_admin = d.cfg.admin;
  auto old_grpc = d.cfg.grpc;
  d.cfg = std::move(cfg);
  d.cfg.http.port = old_port;
  d.cfg.admin = old_admin;
  d.cfg.grpc = old_grpc;
  spdlog::info("configuration reloaded from {}: {}", d.cfg.source, status_line());
  return true;
}

std::uint16_t Gateway::grpc_port() const { return impl_->grpc && impl_->cfg.grpc ? impl_->cfg.grpc->port : 0; }

std::uint16_t Gateway::admin_port() const { return impl_->admin && impl_->cfg.admin ? impl_->cfg.admin->port : 0; }

std::string Gateway::status_line() const {
  auto& d = *impl_;
  std::size_t healthy = 0, total = 0;
  if (d.cluster)
    for (const auto& s : d.cluster->describe()) {
      if (s.value("state", "") == "draining") continue;
      ++total;
      healthy += s.value("state", "") == "healthy" ? 1 : 0;
    }
  return std::to_string(d.cfg.endpoints.size()) + " endpoints, " + std::to_string(healthy) + "/" +
         std::to_string(total) + " Pie servers healthy, " + std::to_string(d.jobs ? d.jobs->live() : 0) + " jobs running";
}

}  // namespace pg::app
