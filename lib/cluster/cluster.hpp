// The Pie cluster as the job layer sees it: launch an inferlet somewhere, terminate it.
// Jobs and endpoint tests can run against a fake; the daemon uses make_pie_cluster().
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json_fwd.hpp>

#include "config/model.hpp"
#include "pie/session.hpp"

namespace pg::obs {
class Metrics;
}

namespace pg::cluster {

/// Where an accepted launch runs.
struct Placement {
  std::string server;
  std::string instance_id;
};

struct LaunchFailure {
  enum class Kind {
    Unavailable,  // no server reachable, or the connection was lost before Pie accepted it
    Rejected,     // Pie answered the launch with an error (unknown inferlet, refused, ...)
    Timeout,      // Pie did not answer the launch in time
    QueueFull,    // every eligible server is at max_instances and the wait queue is full (503 + Retry-After)
    TooLarge,     // the launch message is over the server's max_message_bytes: nothing was sent (413)
  };
  Kind kind = Kind::Unavailable;
  std::string message;
};

using LaunchOutcome = std::variant<Placement, LaunchFailure>;
using LaunchDone = std::function<void(LaunchOutcome)>;

/// Where and how a launch may be placed.
struct LaunchOptions {
  std::string group;   // server group the endpoint targets; "" = every server
  std::string server;  // non-empty: only this server (fan-out pins one run per server)
  /// How long the launch may wait for a free server (queue) before failing Unavailable;
  /// time_point::max() = no deadline of its own.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  /// May be launched again elsewhere if its server is lost after Pie accepted it (re-attaching
  /// is tried first; output of the lost run is void, see InstanceSink::on_relaunch).
  bool idempotent = false;
};

class Cluster {
 public:
  virtual ~Cluster() = default;
  virtual void start() = 0;
  virtual void stop() = 0;
  /// Launch attached; `sink` receives the instance's output once it is accepted.
  virtual void launch(pie::LaunchRequest req, LaunchOptions opts, pie::InstanceSink sink, LaunchDone done) = 0;
  /// Names of the servers of `group` ("" = all) that can take launches now (fan-out).
  virtual std::vector<std::string> healthy_servers(const std::string& group) const = 0;
  /// Best effort: ask the server that runs it to terminate an instance.
  virtual void terminate(const std::string& server, const std::string& instance_id) = 0;
  /// At least one server has an open, authenticated session.
  virtual bool ready() const = 0;
  /// State of every server, for gateway/servers and logs.
  virtual nlohmann::json describe() const = 0;
  /// Requests sent to Pie and not yet answered (shutdown waits for terminates to be answered).
  virtual std::size_t pending_requests() const = 0;
  /// Apply a new server list, groups and settings (SIGHUP): new servers connect; removed or
  /// changed ones take no new launches and are closed once their running instances have ended.
  virtual void reconfigure(config::ClusterConfig cfg) = 0;

  // ---- talking to running instances and servers (instance_io.cpp for the Pie cluster) ----
  using TextDone = std::function<void(Result<std::string>)>;
  /// Send a text message to a running instance (signal_instance), through the session it is
  /// attached to. Fails when the instance is unknown or not attached right now.
  virtual Result<bool> signal(const std::string& server, const std::string& instance_id, std::string message) {
    (void)server, (void)instance_id, (void)message;
    return make_error("signal is not supported by this cluster");
  }
  /// Upload `bytes` as a blob to a running instance through the session it is attached to
  /// (Pie only accepts blobs from that session); `done` gets Pie's reply text.
  virtual void upload_blob(const std::string& server, const std::string& instance_id, std::string bytes,
                           TextDone done) {
    (void)server, (void)instance_id, (void)bytes;
    done(make_error("upload_blob is not supported by this cluster"));
  }
  /// One query answer per server ("" = every healthy server), by server name, in config order.
  using QueryAnswers = std::vector<std::pair<std::string, Result<std::string>>>;
  virtual void query(const std::string& server, std::string subject, std::string record,
                     std::function<void(QueryAnswers)> done) {
    (void)server, (void)subject, (void)record;
    done({});
  }
  /// launch_server_instance on `server`; `done` gets Pie's reply text.
  virtual void launch_server(const std::string& server, std::uint32_t port, std::string inferlet,
                             std::vector<std::string> arguments, TextDone done) {
    (void)server, (void)port, (void)inferlet, (void)arguments;
    done(make_error("launch_server is not supported by this cluster"));
  }
};

/// `metrics` (null = none) counts launches, failures, reconnects, ejections and the wait queue;
/// it must outlive the cluster.
std::shared_ptr<Cluster> make_pie_cluster(boost::asio::any_io_executor ex, config::ClusterConfig cfg,
                                          obs::Metrics* metrics = nullptr);

}  // namespace pg::cluster
