// Graceful stop (SIGTERM) and reload (SIGHUP) of the real daemon, with pie-sim behind it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <future>
#include <thread>

#include "support/pie_test_client.hpp"
#include "support/stack.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pg::test::HttpClient;
using pg::test::Stack;
using pg::test::StackOptions;
namespace v02 = pg::pie::v02;

namespace {

const char* kEndpoints =
    "  - {name: sleep, kind: get, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}], arguments: [\"--ms\", \"{ms}\"]}\n"
    "  - {name: sleep_async, kind: get, async: true, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}],"
    " arguments: [\"--ms\", \"{ms}\"]}\n";

/// Instance ids pie-sim still lists (an internal-token session sees them all).
std::vector<std::string> live_instances(int sim_port) {
  pg::test::PieTestClient pie(static_cast<std::uint16_t>(sim_port));
  std::vector<std::string> ids;
  if (!pie.request<v02::Response>(v02::InternalAuthenticate{pie.next_corr_id(), "any"})) return {"<auth failed>"};
  auto live = pie.request<v02::LiveInstances>(v02::ListInstances{pie.next_corr_id()});
  if (!live) return {"<no answer>"};
  for (const auto& i : live->instances)
    if (i.status != "Finished") ids.push_back(i.id);
  return ids;
}

bool eventually_no_instances(int sim_port) {
  for (int i = 0; i < 100; ++i) {
    if (live_instances(sim_port).empty()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

}  // namespace

TEST(Lifecycle, SigtermLetsInFlightCallsFinishThenExitsZero) {
  StackOptions o;
  o.endpoints_yaml = std::string(kEndpoints) + "shutdown: {drain_timeout: 5s}\n";
  Stack s(o);
  auto call = std::async(std::launch::async, [&] { return HttpClient(s.http_port).get("/sleep?ms=600"); });
  std::this_thread::sleep_for(150ms);  // the call is in flight
  s.gateway->signal(SIGTERM);
  auto r = call.get();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["result"], "slept 600 ms");
  EXPECT_EQ(s.gateway->wait(10s), 0);
}

TEST(Lifecycle, CallsLeftAfterTheDrainTimeGet503AndTheirInstancesEnd) {
  StackOptions o;
  o.endpoints_yaml = std::string(kEndpoints) + "shutdown: {drain_timeout: 200ms}\n";
  Stack s(o);
  auto call = std::async(std::launch::async, [&] { return HttpClient(s.http_port).get("/sleep?ms=5000"); });
  std::this_thread::sleep_for(150ms);
  s.gateway->signal(SIGTERM);
  auto r = call.get();
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(json::parse(r.body)["type"], "InvalidServerState");
  EXPECT_EQ(s.gateway->wait(10s), 0);
  EXPECT_TRUE(eventually_no_instances(s.sim_port)) << "the abandoned call's instance was terminated";
}

TEST(Lifecycle, AsyncJobsAreTerminatedOrLeftDetachedAsConfigured) {
  for (std::string mode : {"terminate", "detach"}) {
    StackOptions o;
    o.endpoints_yaml = std::string(kEndpoints) + "shutdown: {drain_timeout: 1s, async_jobs: " + mode + "}\n";
    Stack s(o);
    auto c = s.client();
    ASSERT_EQ(c.get("/sleep_async?ms=20000").status, 200);
    std::this_thread::sleep_for(150ms);
    s.gateway->signal(SIGTERM);
    EXPECT_EQ(s.gateway->wait(10s), 0) << mode;
    if (mode == "terminate") {
      EXPECT_TRUE(eventually_no_instances(s.sim_port)) << mode;
    } else {
      std::this_thread::sleep_for(200ms);
      EXPECT_EQ(live_instances(s.sim_port).size(), 1u) << "the instance keeps running, detached";
    }
    EXPECT_NE(s.gateway_log().find("async_jobs: " + mode), std::string::npos) << "the choice is logged";
  }
}

TEST(Lifecycle, SighupReloadsEndpointsAndKeepsServingOnABadConfig) {
  StackOptions o;
  o.endpoints_yaml = kEndpoints;
  Stack s(o);
  auto c = s.client();
  EXPECT_EQ(c.get("/echo?text=x").status, 404);
  std::ifstream in(s.dir + "/gateway.yaml");
  std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // A long call stays in flight across the reload.
  auto call = std::async(std::launch::async, [&] { return HttpClient(s.http_port).get("/sleep?ms=700"); });
  std::this_thread::sleep_for(100ms);
  pg::test::write_file(s.dir + "/gateway.yaml",
                       yaml + "  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: [\"{text}\"]}\n");
  s.gateway->signal(SIGHUP);
  bool reloaded = false;
  for (int i = 0; i < 100 && !reloaded; ++i) {
    reloaded = c.get("/echo?text=x").status == 200;
    if (!reloaded) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(reloaded) << s.gateway_log();
  EXPECT_EQ(call.get().status, 200) << "the call in flight survived the reload";

  pg::test::write_file(s.dir + "/gateway.yaml", yaml + "  - {name: broken, kind: nope}\n");
  s.gateway->signal(SIGHUP);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(c.get("/echo?text=still").status, 200) << "the old configuration stays";
  EXPECT_NE(s.gateway_log().find("must be one of get, post, rpc, asyncrpc"), std::string::npos) << s.gateway_log();
  EXPECT_TRUE(s.gateway->running());
}

TEST(Lifecycle, ReloadMovesNewCallsToANewServerAndDrainsTheOldOne) {
  StackOptions o;
  o.endpoints_yaml = kEndpoints;
  Stack s(o);
  pg::test::Process sim2({pg::test::binary_path("pie-sim"), "--port", "0"}, s.dir + "/sim2.log");
  int port2 = sim2.wait_for_port(10s);
  ASSERT_GT(port2, 0);
  auto c = s.client();
  auto call = std::async(std::launch::async, [&] { return HttpClient(s.http_port).get("/sleep?ms=600"); });
  std::this_thread::sleep_for(150ms);
  std::ifstream in(s.dir + "/gateway.yaml");
  std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto pos = yaml.find("ws://127.0.0.1:" + std::to_string(s.sim_port));
  ASSERT_NE(pos, std::string::npos);
  yaml.replace(pos, std::string("ws://127.0.0.1:" + std::to_string(s.sim_port)).size(), "ws://127.0.0.1:" + std::to_string(port2));
  pg::test::write_file(s.dir + "/gateway.yaml", yaml);
  s.gateway->signal(SIGHUP);
  EXPECT_EQ(call.get().status, 200) << "the call on the old server finished there";
  bool moved = false;
  for (int i = 0; i < 100 && !moved; ++i) {
    auto servers = json::parse(c.get("/gateway/servers").body)["result"];
    moved = servers.size() == 1 && servers[0]["uri"] == "ws://127.0.0.1:" + std::to_string(port2) + "/" &&
            servers[0]["state"] == "healthy";
    if (!moved) std::this_thread::sleep_for(30ms);
  }
  EXPECT_TRUE(moved) << c.get("/gateway/servers").body;
  EXPECT_EQ(c.get("/sleep?ms=1").status, 200);
}
