// End to end through pie-gateway: a server reached with SSH key authentication, and a local
// inferlet (`programs:`) provisioned onto a pie-sim that starts empty, then called.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "integration/ssh_keys.hpp"
#include "support/process.hpp"
#include "support/stack.hpp"

namespace {

using namespace std::chrono_literals;
using pg::test::Process;
using pg::test::Stack;
using pg::test::StackOptions;

class GatewayPieClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = pg::test::temp_dir();
    pg::test::keygen(dir_, "gw_key", "ecdsa -b 384");
    pg::test::keygen(dir_, "other_key", "ed25519");
    pg::test::write_file(dir_ + "/users.toml", "[users.gw.keys]\nmain = \"" + pg::test::pub_line(dir_ + "/gw_key") + "\"\n");
    sim_ = std::make_unique<Process>(std::vector<std::string>{pg::test::binary_path("pie-sim"), "--port", "0", "--auth",
                                                              "keys", "--authorized-users", dir_ + "/users.toml"},
                                     dir_ + "/pie-sim.log");
    port_ = sim_->wait_for_port(10s);
    ASSERT_NE(port_, 0) << "pie-sim did not start";
  }
  void TearDown() override {
    sim_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string server_yaml(const std::string& key) const {
    return "servers:\n  - name: keyed\n    uri: ws://127.0.0.1:" + std::to_string(port_) +
           "/\n    sessions: 2\n    request_timeout: 5s\n    auth: {kind: key, username: gw, key_file: " + dir_ + "/" +
           key + "}\n";
  }

  std::string dir_;
  std::unique_ptr<Process> sim_;
  int port_ = 0;
};

TEST_F(GatewayPieClientTest, KeyAuthenticatedServerServesCallsAndGetsTheProgram) {
  // A local inferlet: pie-sim accepts any bytes and runs uploaded programs as echo.
  pg::test::write_file(dir_ + "/hello.wasm", std::string("\0asm\1\0\0\0fake inferlet", 21));
  pg::test::write_file(dir_ + "/Pie.toml", "[package]\nname = \"lab/hello\"\nversion = \"0.1.0\"\n");
  StackOptions o;
  o.start_sim = false;
  o.servers_yaml = server_yaml("gw_key") + "programs:\n  - {wasm: " + dir_ + "/hello.wasm, manifest: " + dir_ +
                   "/Pie.toml}\n";
  o.endpoints_yaml =
      "  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: [\"{text}\"]}\n"
      "  - {name: hello, kind: get, inferlet: lab/hello@0.1.0, params: [{name: who}], arguments: [\"hello\", \"{who}\"]}\n";
  Stack stack(o);  // waits for /readyz: a session authenticated with the key and provisioned

  auto echo = stack.client().get("/echo?text=signed");
  EXPECT_EQ(echo.status, 200) << echo.body;
  EXPECT_EQ(echo.body, R"({"status":"success","mimetype":"text/plain","result":"signed"})");

  auto hello = stack.client().get("/hello?who=pie");
  EXPECT_EQ(hello.status, 200) << hello.body << stack.gateway_log();
  EXPECT_EQ(hello.body, R"({"status":"success","mimetype":"text/plain","result":"hello pie"})");
  EXPECT_NE(stack.gateway_log().find("uploaded program lab/hello@0.1.0"), std::string::npos) << stack.gateway_log();
}

TEST_F(GatewayPieClientTest, RefusedKeyIsReportedAndTheServerIsNotReady) {
  StackOptions o;
  o.start_sim = false;
  o.wait_ready = false;
  o.servers_yaml = server_yaml("other_key");
  o.endpoints_yaml = "  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: [\"{text}\"]}\n";
  Stack stack(o);
  const std::string expected = "authentication failed: the server refused user 'gw' with ssh-ed25519 key " +
                               pg::test::fingerprint(dir_ + "/other_key") + ": Signature verification failed";
  std::string servers;
  for (int i = 0; i < 200 && servers.find(expected) == std::string::npos; ++i) {
    servers = stack.client().get("/gateway/servers").body;
    if (servers.find(expected) == std::string::npos) std::this_thread::sleep_for(25ms);
  }
  EXPECT_NE(servers.find(expected), std::string::npos) << servers;
  EXPECT_EQ(stack.client().get("/readyz").status, 503);
  EXPECT_EQ(stack.client().get("/echo?text=x").status, 503);
}

}  // namespace
