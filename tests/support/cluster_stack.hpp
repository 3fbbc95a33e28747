// N pie-sim processes + one pie-gateway over them, on loopback, for the cluster tests. Servers
// are named sim0, sim1, ...; a sim can be killed and restarted on the same port.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/http_client.hpp"
#include "support/process.hpp"

namespace pg::test {

struct ClusterOptions {
  int sims = 3;
  /// Extra pie-sim arguments for sim i (may be shorter than `sims`).
  std::vector<std::vector<std::string>> sim_args;
  /// Extra YAML lines for server i, each indented by 4 spaces, e.g. "    weight: 2\n".
  std::vector<std::string> server_yaml;
  unsigned sessions = 2;
  std::string request_timeout = "3s";  // every server's
  /// Everything after `servers:` (groups:, cluster:, endpoints:, jobs: ...).
  std::string rest_yaml;
  bool grpc = false;  // also listen.grpc on an ephemeral port (grpc_port)
};

class ClusterStack {
 public:
  explicit ClusterStack(ClusterOptions opts);
  ~ClusterStack();

  std::vector<std::unique_ptr<Process>> sims;
  std::vector<int> ports;
  std::unique_ptr<Process> gateway;
  int http_port = 0;
  int grpc_port = 0;  // with ClusterOptions::grpc
  std::string dir;

  HttpClient client() const { return HttpClient(http_port); }
  std::string gateway_log() const;
  /// GET /gateway/servers: the "result" array.
  nlohmann::json servers() const;
  /// The entry of server `name` in servers() (null if absent).
  nlohmann::json server(const std::string& name) const;
  void kill_sim(int i);                 // SIGKILL and reap
  void restart_sim(int i);              // same port, same arguments
  /// GET `target` of an async endpoint: the job's id, or "" when it was not accepted.
  static std::string submit_async(HttpClient& c, const std::string& target);
  /// The job's status from asyncProbe ("queued", "running", "completed", ...; "http N" otherwise).
  static std::string job_status(HttpClient& c, const std::string& id);
  /// Polls `pred` every 20 ms until it is true or `timeout` passes.
  static bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

 private:
  void start_sim(int i, int port);
  ClusterOptions opts_;
};

}  // namespace pg::test
