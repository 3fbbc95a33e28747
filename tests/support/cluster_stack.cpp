#include "support/cluster_stack.hpp"

#include <signal.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace pg::test {

using namespace std::chrono_literals;

ClusterStack::ClusterStack(ClusterOptions opts) : dir(temp_dir()), opts_(std::move(opts)) {
  sims.resize(static_cast<std::size_t>(opts_.sims));
  ports.resize(static_cast<std::size_t>(opts_.sims));
  for (int i = 0; i < opts_.sims; ++i) start_sim(i, 0);
  std::string yaml = std::string("listen:\n  http: 127.0.0.1:0\n") + (opts_.grpc ? "  grpc: 127.0.0.1:0\n" : "") +
                     "logging:\n  level: debug\nservers:\n";
  for (int i = 0; i < opts_.sims; ++i) {
    yaml += "  - name: sim" + std::to_string(i) + "\n    uri: ws://127.0.0.1:" + std::to_string(ports[i]) +
            "/\n    sessions: " + std::to_string(opts_.sessions) + "\n    connect_timeout: 1s\n    request_timeout: " + opts_.request_timeout + "\n";
    if (static_cast<std::size_t>(i) < opts_.server_yaml.size()) yaml += opts_.server_yaml[i];
  }
  yaml += opts_.rest_yaml;
  write_file(dir + "/gateway.yaml", yaml);
  gateway = std::make_unique<Process>(
      std::vector<std::string>{binary_path("pie-gateway"), "--config", dir + "/gateway.yaml"}, dir + "/gateway.log");
  http_port = gateway->wait_for_port(10s, "pie-gateway listening on");
  if (!http_port) throw std::runtime_error("pie-gateway did not start: " + gateway_log());
  if (opts_.grpc) {  // printed after the HTTP line
    grpc_port = gateway->wait_for_port(10s, "pie-gateway grpc listening on");
    if (!grpc_port) throw std::runtime_error("pie-gateway did not report its gRPC port: " + gateway_log());
  }
  // Every server healthy before the test begins.
  bool up = eventually(
      [&] {
        auto all = servers();
        if (!all.is_array() || all.size() != static_cast<std::size_t>(opts_.sims)) return false;
        for (const auto& s : all)
          if (s.value("state", "") != "healthy" || s.value("sessions_open", 0u) != opts_.sessions) return false;
        return true;
      },
      15s);
  if (!up) throw std::runtime_error("servers did not all become healthy: " + servers().dump() + "\n" + gateway_log());
}

ClusterStack::~ClusterStack() = default;

void ClusterStack::start_sim(int i, int port) {
  std::vector<std::string> argv{binary_path("pie-sim"), "--port", std::to_string(port)};
  if (static_cast<std::size_t>(i) < opts_.sim_args.size())
    argv.insert(argv.end(), opts_.sim_args[i].begin(), opts_.sim_args[i].end());
  auto log = dir + "/pie-sim" + std::to_string(i) + ".log";
  for (int attempt = 0; attempt < 50; ++attempt) {
    sims[i] = std::make_unique<Process>(argv, log);
    ports[i] = sims[i]->wait_for_port(10s);
    if (ports[i]) return;
    sims[i].reset();
    std::this_thread::sleep_for(100ms);  // the old port may take a moment to be free again
  }
  throw std::runtime_error("pie-sim " + std::to_string(i) + " did not start (see " + log + ")");
}

void ClusterStack::kill_sim(int i) {
  sims[i]->signal(SIGKILL);
  sims[i]->wait(5s);
  sims[i].reset();
}

void ClusterStack::restart_sim(int i) {
  const int port = ports[i];
  start_sim(i, port);
  if (ports[i] != port) throw std::runtime_error("pie-sim restarted on another port");
}

std::string ClusterStack::gateway_log() const {
  std::ifstream in(dir + "/gateway.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json ClusterStack::servers() const {
  HttpClient c(http_port);
  c.timeout = 5s;
  auto r = c.get("/gateway/servers");
  if (r.status != 200) return nlohmann::json();
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  return j.is_object() ? j["result"] : nlohmann::json();
}

nlohmann::json ClusterStack::server(const std::string& name) const {
  for (const auto& s : servers())
    if (s.value("name", "") == name) return s;
  return nlohmann::json();
}

std::string ClusterStack::submit_async(HttpClient& c, const std::string& target) {
  auto r = c.get(target);
  if (r.status != 200) return "";
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  return j.is_object() && j["result"].is_object() ? j["result"].value("ID", "") : "";
}

std::string ClusterStack::job_status(HttpClient& c, const std::string& id) {
  auto r = c.get("/asyncProbe?UUID=" + id);
  if (r.status != 200) return "http " + std::to_string(r.status);
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  return j.is_object() && j["result"].is_object() ? j["result"].value("status", "") : "unparsable answer";
}

bool ClusterStack::eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

}  // namespace pg::test
