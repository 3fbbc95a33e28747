// A running pie-sim + pie-gateway pair on ephemeral loopback ports, for integration tests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/http_client.hpp"
#include "support/process.hpp"

namespace pg::test {

struct StackOptions {
  std::vector<std::string> sim_args;  // extra pie-sim arguments
  /// Config YAML without `listen:`/`servers:`; "@SERVERS@" may be used to place them yourself.
  std::string endpoints_yaml;
  std::string servers_yaml;           // default: one server "sim" on the started pie-sim ("@PORT@": its port)
  bool start_sim = true;
  bool wait_ready = true;             // wait until a call reaches Pie (not 503)
  bool grpc = false;                  // also listen.grpc on an ephemeral port (grpc_port)
  /// Extra lines under `listen:` (e.g. "  admin: 127.0.0.1:0\n"); the ports bound are read back.
  std::string listen_extra;
  std::string log_format = "text";    // logging.format
  /// Wait for readiness on the admin listener (plain HTTP) instead of listen.http (e.g. when
  /// listen.http speaks HTTPS); needs an admin address in listen_extra.
  bool ready_on_admin = false;
};

class Stack {
 public:
  explicit Stack(StackOptions opts);
  int sim_port = 0;
  int http_port = 0;
  int grpc_port = 0;  // with StackOptions::grpc
  int admin_port = 0;  // when listen_extra has an admin address
  std::string dir;  // temp dir holding gateway.yaml and the logs
  std::unique_ptr<Process> sim;
  std::unique_ptr<Process> gateway;
  HttpClient client() const { return HttpClient(http_port); }
  std::string gateway_log() const;
};

}  // namespace pg::test
