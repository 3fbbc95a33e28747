// Prometheus metrics behind a small interface that every layer may call (no prometheus-cpp
// types here). A null `Metrics*` means "no metrics": callers test the pointer and skip.
//
// Not thread-safe by design: the gateway calls it from its one io thread only. Label values
// are bounded (configured endpoint and server names, fixed sets); never ids or raw paths.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pg::obs {

class Metrics {
 public:
  /// `version` labels pie_gateway_build_info; empty = this build's version.
  explicit Metrics(std::string_view version = {});
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // --- HTTP front door -------------------------------------------------------------------
  /// One answered request. `endpoint` is a configured endpoint name or a built-in route label
  /// ("discovery", "healthz", "metrics", "gateway/jobs", ..., "unknown"); `method` is folded
  /// into GET/POST/HEAD/PUT/DELETE/OPTIONS/PATCH/other; `status` into 1xx..5xx.
  void http_request(std::string_view endpoint, std::string_view method, int status, double seconds);
  /// An HTTPS connection whose TLS handshake failed.
  void tls_handshake_failure();

  // --- gRPC front door -------------------------------------------------------------------
  /// One finished RPC: `method` is a Gateway method name ("Call", ...), `code` a gRPC status code
  /// name ("OK", "NOT_FOUND", ...): both fixed sets.
  void grpc_request(std::string_view method, std::string_view code, double seconds);

  // --- jobs ------------------------------------------------------------------------------
  void job_started(std::string_view endpoint);
  /// `state`: "completed", "failed" or "cancelled"; `seconds`: from submission to the end.
  void job_finished(std::string_view endpoint, std::string_view state, double seconds);
  void job_rejected();          // refused at the live-job cap
  // Access (access/): failed credentials by reason (missing, invalid, malformed,
  // unknown_certificate); calls per client; refusals per client by reason (rate, live_jobs,
  // fair_share, forbidden). Client names come from the clients file (bounded).
  void auth_failure(std::string_view reason);
  void client_call(std::string_view client);
  void client_refused(std::string_view client, std::string_view reason);
  void job_output_truncated();  // a job's output passed its cap (once per job)
  enum class Stream { Stdout, Stderr, Message, Blob };
  void stream_bytes(Stream stream, std::size_t bytes);  // instance output received

  // --- Pie cluster -----------------------------------------------------------------------
  enum class LaunchFailure { Unavailable, Rejected, Timeout };
  void pie_launch(std::string_view server);  // a launch sent to a server
  /// `server` is "" when no server was reachable (the launch was never sent).
  void pie_launch_failure(std::string_view server, LaunchFailure reason);
  void pie_reconnect(std::string_view server);  // a session is being re-established
  void pie_ejection(std::string_view server);   // outlier ejection
  void pie_reattach(std::string_view server);   // a detached instance attached again
  void pie_queue_depth(std::size_t waiting);    // launches waiting for a free server (gauge)
  void pie_queue_rejection();                   // a launch refused because the wait queue was full

  // --- gauges, set at scrape time by hooks -------------------------------------------------
  void set_jobs(std::size_t queued, std::size_t running, std::size_t finished_retained);
  struct PieServerState {
    std::string name;
    bool up = false;
    std::size_t sessions_open = 0;
    std::size_t instances_in_flight = 0;
    std::string protocol = "0.2";  // the pie_server_info label
  };
  /// The whole set of servers: series of servers no longer listed are removed.
  void set_pie_servers(const std::vector<PieServerState>& servers);

  /// Open conversations (endpoints of kind session) per endpoint.
  void set_conversations(const std::vector<std::pair<std::string, std::size_t>>& open_by_endpoint);

  /// Run before every exposition (e.g. to refresh gauges from the job service and cluster).
  void on_scrape(std::function<void()> hook);
  /// The Prometheus text exposition format (version 0.0.4).
  std::string expose();

  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pg::obs
