#include "support/stack.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace pg::test {

Stack::Stack(StackOptions opts) : dir(temp_dir()) {
  using namespace std::chrono_literals;
  if (opts.start_sim) {
    std::vector<std::string> argv{binary_path("pie-sim"), "--port", "0"};
    argv.insert(argv.end(), opts.sim_args.begin(), opts.sim_args.end());
    sim = std::make_unique<Process>(argv, dir + "/pie-sim.log");
    sim_port = sim->wait_for_port(10s);
    if (!sim_port) throw std::runtime_error("pie-sim did not start (see " + dir + "/pie-sim.log)");
  }
  std::string servers = opts.servers_yaml.empty()
                            ? "servers:\n  - name: sim\n    uri: ws://127.0.0.1:" + std::to_string(sim_port) +
                                  "/\n    sessions: 2\n    request_timeout: 5s\n"
                            : opts.servers_yaml;
  for (auto at = servers.find("@PORT@"); at != std::string::npos; at = servers.find("@PORT@"))
    servers.replace(at, 6, std::to_string(sim_port));
  const std::string grpc_listen = opts.grpc ? "  grpc: 127.0.0.1:0\n" : "";
  write_file(dir + "/gateway.yaml", "listen:\n  http: 127.0.0.1:0\n" + grpc_listen + opts.listen_extra +
                                        "logging:\n  level: debug\n  format: " + opts.log_format + "\n" + servers +
                                        "endpoints:\n" + opts.endpoints_yaml);
  gateway = std::make_unique<Process>(
      std::vector<std::string>{binary_path("pie-gateway"), "--config", dir + "/gateway.yaml"}, dir + "/gateway.log");
  http_port = gateway->wait_for_port(10s, "pie-gateway listening on");
  if (!http_port) throw std::runtime_error("pie-gateway did not start: " + gateway_log());
  if (opts.listen_extra.find("admin:") != std::string::npos) {
    admin_port = gateway->wait_for_port(10s, "pie-gateway admin listening on");
    if (!admin_port) throw std::runtime_error("pie-gateway did not report its admin port: " + gateway_log());
  }
  if (opts.grpc) {  // printed after the HTTP and admin lines
    grpc_port = gateway->wait_for_port(10s, "pie-gateway grpc listening on");
    if (!grpc_port) throw std::runtime_error("pie-gateway did not report its gRPC port: " + gateway_log());
  }
  if (opts.wait_ready) {
    // Sessions connect in the background: /readyz turns 200 once one is open.
    for (int i = 0; i < 200; ++i) {
      HttpClient c(opts.ready_on_admin ? admin_port : http_port);
      c.timeout = 2s;
      if (c.get("/readyz").status == 200) return;
      std::this_thread::sleep_for(25ms);
    }
    throw std::runtime_error("pie-gateway did not connect to pie-sim: " + gateway_log());
  }
}

std::string Stack::gateway_log() const {
  std::ifstream in(dir + "/gateway.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace pg::test
